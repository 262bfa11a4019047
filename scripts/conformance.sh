#!/usr/bin/env bash
# SCIM conformance run: scim2-tester (PyPI) against a real `blogin-scim serve` on a fresh tenant.
#
# 1. creates/reuses a venv and installs the pinned scim2-tester (+ its scim2-* / httpx2 deps);
# 2. starts `blogin-scim serve --listen 127.0.0.1:0` (embedded SQLite) in a temp data dir and
#    waits (bounded) for it to write DATA_DIR/serve.json {"base_url_root": "http://127.0.0.1:PORT"};
# 3. `blogin-scim tenant create conformance --json` gives the tenant's base_url and bearer token;
# 4. waits for GET <root>/readyz = 200, then runs scripts/conformance.py (every scim2-tester check:
#    discovery, Users, Groups, PATCH per advertised attribute, ...);
# 5. stops the server (SIGTERM, then SIGKILL after 10 s), prints its log if anything failed,
#    removes the temp dir and exits with the checker's status (0 pass, 1 errors, 2 setup problem).
#
# Usage: scripts/conformance.sh        (build first: cargo build -p blogin-scim)
# Env:   BLOGIN_SCIM_BIN   binary to test      (default: ${CARGO_TARGET_DIR:-target}/debug/blogin-scim)
#        CONFORMANCE_VENV  venv for the tester (default: /tmp/blogin-scim-venv)
#        PYTHON            python >= 3.11 used to create the venv (default: python3)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BLOGIN_SCIM_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/blogin-scim}
venv=${CONFORMANCE_VENV:-/tmp/blogin-scim-venv}
# Exact pins: scim2-tester's verdicts change between releases, so a run must be reproducible.
pins=(
  "scim2-tester[httpx2]==0.5.2"
  "scim2-client[httpx2]==0.13.2"
  "scim2-models==0.12.3"
  "httpx2==2.16.2"
  "pydantic==2.14.4"
)
wait_secs=30

die() { echo "conformance: $*" >&2; exit 2; }

[ -x "$bin" ] || die "no executable at $bin (build it, or set BLOGIN_SCIM_BIN)"

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "scim2-tester needs python >= 3.11 (set PYTHON)"
  "${PYTHON:-python3}" -m venv "$venv" || die "cannot create venv $venv (apt-get install python3-venv?)"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" \
  || die "pip install ${pins[*]} failed"
py="$venv/bin/python"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blogin-conformance.XXXXXX")
log="$tmp/serve.log"
server_pid=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "conformance: server ignored SIGTERM for 10 s, killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
show_log() { echo "---- server log (last 200 lines) ----" >&2; tail -n 200 "$log" >&2 || true; echo "----" >&2; }
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp" >"$log" 2>&1 &
server_pid=$!

# The port is chosen by the OS: read it from serve.json (tolerating a half-written file).
root=""
deadline=$((SECONDS + wait_secs))
while [ -z "$root" ]; do
  kill -0 "$server_pid" 2>/dev/null || { show_log; die "server exited before writing serve.json"; }
  [ "$SECONDS" -lt "$deadline" ] || { show_log; die "no $tmp/serve.json after ${wait_secs}s"; }
  root=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url_root"].rstrip("/"))' \
    "$tmp/serve.json" 2>/dev/null) || { root=""; sleep 0.1; }
done

tenant_json=$("$bin" tenant create conformance --json --data-dir "$tmp") \
  || { show_log; die "tenant create failed"; }
read -r base_url token < <("$py" -c '
import json, sys
doc = json.loads([l for l in sys.stdin.read().splitlines() if l.strip()][-1])
print(doc["base_url"], doc["token"])' <<<"$tenant_json") \
  || die "cannot parse tenant create output: $tenant_json"

"$py" - "$root/readyz" "$wait_secs" <<'EOF' || { show_log; die "$root/readyz never answered 200"; }
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
EOF

echo "conformance: scim2-tester against $base_url" >&2
status=0
"$py" "$repo/scripts/conformance.py" "$base_url" "$token" || status=$?

stop_server
[ "$status" -eq 0 ] || show_log
exit "$status"
