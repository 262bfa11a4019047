#!/usr/bin/env python3
"""SCIM 2.0 conformance check of a running blogin-scim tenant, with scim2-tester.

    python scripts/conformance.py BASE_URL TOKEN
    e.g. python scripts/conformance.py http://127.0.0.1:8080/scim/v2/acme s3cr3t

BASE_URL is a tenant's SCIM root (the one that has /ServiceProviderConfig,
/ResourceTypes, /Schemas, /Users, /Groups under it) and TOKEN its bearer token.
Needs scim2-tester with its httpx2 extra (scripts/conformance.sh installs the
pinned versions into a venv, starts a server on a fresh tenant and calls this).

scim2-tester (python-scim, Yaal Coop) has no command line of its own: its API
is check_server(client), which first reads the three discovery endpoints, builds
the User/Group models from what /Schemas advertises, then for every resource
type runs create, read, list, attributes/excludedAttributes, PUT, DELETE and one
PATCH add/remove/replace per attribute, deleting what it created.  We run all
of its checks (no tag filter), print one line per result and exit:

    0  no ERROR/CRITICAL result (SKIPPED = feature the server does not
       advertise, e.g. PATCH off or /.search answering 501: not a failure)
    1  at least one ERROR/CRITICAL result, or User/Group were never exercised
       (a server that hides a resource type must not pass silently)
    2  usage error, server unreachable, or token refused
"""

import argparse
import sys

try:
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server
except ImportError as exc:  # run it from scripts/conformance.sh's venv
    print(f"{exc}: pip install 'scim2-tester[httpx2]==0.5.2' (see scripts/conformance.sh)", file=sys.stderr)
    sys.exit(2)

FAILED = {Status.ERROR, Status.CRITICAL}
REQUIRED_RESOURCE_TYPES = ("User", "Group")


def one_line(text, limit=160):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="tenant SCIM root, e.g. http://127.0.0.1:PORT/scim/v2/SLUG")
    parser.add_argument("token", help="the tenant's bearer token")
    args = parser.parse_args()  # exits 2 on usage errors

    http = httpx2.Client(
        base_url=args.base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
    )

    # Tell setup problems (exit 2) from conformance failures (exit 1). /Users, not a
    # discovery endpoint: those may legitimately be served without authentication.
    try:
        probe = http.get("/Users")
    except httpx2.HTTPError as exc:
        print(f"cannot reach {args.base_url}: {exc}", file=sys.stderr)
        return 2
    if probe.status_code in (401, 403):
        print(f"token refused: GET {probe.url} -> {probe.status_code}", file=sys.stderr)
        return 2

    results = check_server(SyncSCIMClient(http))

    counts = {}
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        where = f"[{r.resource_type}] " if r.resource_type else ""
        first, _, rest = str(r.reason or "").partition("\n")
        print(f"{r.status.name:<8} {where}{r.title}: {one_line(first)}")
        if r.status in FAILED:  # the whole story: expected vs returned values, raw response
            for line in rest.splitlines():
                print(f"         {one_line(line, 600)}")
            if r.data is not None:
                print(f"         data: {one_line(repr(r.data), 600)}")

    errors = sum(r.status in FAILED for r in results)
    for name in REQUIRED_RESOURCE_TYPES:
        if not any(r.resource_type == name and r.status == Status.SUCCESS for r in results):
            print(f"ERROR    [{name}] no check succeeded: the resource type was not tested")
            errors += 1

    summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    print(f"\n{len(results)} results: {summary}")
    print("FAIL" if errors else "PASS", f"({errors} error(s))")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
