#!/usr/bin/env bash
# End-to-end throughput, measured by `blogin-scim-bench` (crates/bench) against one deployment
# at a time, all on this machine, everything on loopback:
#
#   scripts/bench.sh serve  [BENCH ARGS…]   # `blogin-scim serve` (embedded SQLite)
#   scripts/bench.sh roles N [BENCH ARGS…]  # store + N workers + gateway on a *durable*
#                                           # PostgreSQL (scripts/pg.sh start --durable) and
#                                           # RabbitMQ quorum queues (scripts/rmq.sh)
#   scripts/bench.sh peer   [BENCH ARGS…]   # scim2-server (PyPI, in memory), the same tool
#
# BENCH ARGS default to the Entra initial cycle: `entra --users 2000` (16 in flight, --verify).
# Env: TENANTS (default 1; each tenant gets BENCH ARGS — e.g. TENANTS=8 … entra --users 500),
#      BENCH_DEADLINE (seconds, default 300), BLOGIN_SCIM_BENCH_DIR (scratch, default a temp dir),
#      BENCH_PROFILE (release, the default, for numbers; debug for the test command's smoke run).
# Builds the binaries first. Prints the bench's table and its JSON line; exits with the
# bench's status. Every process it starts is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:?usage: scripts/bench.sh serve|roles N|peer [BENCH ARGS…]}
shift
workers=1
if [ "$mode" = roles ]; then
  workers=${1:?usage: scripts/bench.sh roles N [BENCH ARGS…]}
  shift
fi
[ $# -gt 0 ] || set -- entra --users 2000
tenants=${TENANTS:-1}
target=${CARGO_TARGET_DIR:-$repo/target}
profile=${BENCH_PROFILE:-release}
bin=$target/$profile/blogin-scim
bench=$target/$profile/blogin-scim-bench
scratch=${BLOGIN_SCIM_BENCH_DIR:-$(mktemp -d /tmp/blogin-scim-bench.XXXXXX)}
pids=()
db=

die() { echo "bench: $*" >&2; exit 2; }
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # The roles' database goes with the run (the durable cluster is reused).
  if [ -n "$db" ]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# A port below the kernel's ephemeral range that nothing listens on.
free_port() {
  python3 -c 'import random,socket
while True:
    p=random.randrange(20000,32000); s=socket.socket()
    try: s.bind(("127.0.0.1",p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

wait_ready() { # URL
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$1 never became ready (logs in $scratch)"
}

case "$profile" in
  release) (cd "$repo" && cargo build --release -q -p blogin-scim -p blogin-scim-bench) ;;
  debug) (cd "$repo" && cargo build -q -p blogin-scim -p blogin-scim-bench) ;;
  *) die "BENCH_PROFILE is release or debug" ;;
esac
: > "$scratch/targets"

case "$mode" in
  serve)
    port=$(free_port)
    (cd "$scratch" && exec "$bin" serve --listen "127.0.0.1:$port") > "$scratch/serve.log" 2>&1 &
    pids+=($!)
    wait_ready "http://127.0.0.1:$port/readyz"
    for i in $(seq "$tenants"); do
      (cd "$scratch" && "$bin" tenant create "bench$i-$RANDOM" --json \
          --public-url "http://127.0.0.1:$port") \
        | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["base_url"], t["token"])' \
        >> "$scratch/targets"
    done
    ;;
  roles)
    pg_admin=$("$repo/scripts/pg.sh" start --durable | tail -1)
    amqp=$("$repo/scripts/rmq.sh" start | tail -1)
    db="bench_$(date +%s)_$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    export BLOGIN_SCIM_DATABASE_URL="${pg_admin%/*}/$db"
    export BLOGIN_SCIM_AMQP_URL=$amqp
    # One fixed prefix: every run reuses the same (drained) queues instead of leaving its own
    # quorum queues behind on the shared broker.
    export BLOGIN_SCIM_QUEUE_PREFIX=blogin-bench
    export BLOGIN_SCIM_ROLE_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    store=127.0.0.1:$(free_port)
    gw_port=$(free_port)
    "$bin" migrate > "$scratch/migrate.log" 2>&1
    "$bin" store --listen "$store" --health-listen "127.0.0.1:$(free_port)" > "$scratch/store.log" 2>&1 &
    pids+=($!)
    for w in $(seq "$workers"); do
      "$bin" worker --store-url "http://$store" --health-listen "127.0.0.1:$(free_port)" \
        > "$scratch/worker$w.log" 2>&1 &
      pids+=($!)
    done
    "$bin" gateway --listen "127.0.0.1:$gw_port" --store-url "http://$store" > "$scratch/gateway.log" 2>&1 &
    pids+=($!)
    wait_ready "http://127.0.0.1:$gw_port/readyz"
    for i in $(seq "$tenants"); do
      "$bin" tenant create "bench$i" --json --store-url "http://$store" \
          --public-url "http://127.0.0.1:$gw_port" \
        | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["base_url"], t["token"])' \
        >> "$scratch/targets"
    done
    ;;
  peer)
    venv=${PEER_VENV:-/tmp/blogin-scim-peer-venv}
    if [ ! -x "$venv/bin/scim2-server" ]; then
      python3 -m venv "$venv" || die "cannot create $venv (apt-get install python3-venv?)"
      "$venv/bin/pip" install -q "scim2-server==0.8.3" || die "pip install scim2-server failed"
    fi
    port=$(free_port)
    token=peer-$RANDOM$RANDOM
    "$venv/bin/scim2-server" --port "$port" --bearer-token "$token" > "$scratch/peer.log" 2>&1 &
    pids+=($!)
    wait_ready "http://127.0.0.1:$port/ServiceProviderConfig"
    for _ in $(seq "$tenants"); do echo "http://127.0.0.1:$port $token" >> "$scratch/targets"; done
    ;;
  *) die "unknown mode $mode (serve, roles N, peer)" ;;
esac

# CPU seconds of a process (user + system), from /proc.
cpu_of() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo "?"; }
# Busy CPU seconds of the whole machine so far.
machine_busy() { awk '/^cpu /{printf "%.2f", ($2 + $3 + $4 + $7 + $8) / 100}' /proc/stat; }

echo "bench: $mode, $workers worker(s) (roles only), $tenants tenant(s): $*" >&2
declare -A before
for p in "${pids[@]}"; do before[$p]=$(cpu_of "$p"); done
busy0=$(machine_busy)
t0=$(date +%s.%N)
status=0
"$bench" --targets-file "$scratch/targets" --deadline "${BENCH_DEADLINE:-300}" --verify "$@" || status=$?
t1=$(date +%s.%N)
busy1=$(machine_busy)
{
  echo "cpu during the run (incl. --verify), seconds:"
  for p in "${pids[@]}"; do
    name=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | awk '{print $2}')
    echo "  $name (pid $p): $(awk -v a="${before[$p]}" -v b="$(cpu_of "$p")" 'BEGIN{printf "%.2f", b - a}')"
  done
  awk -v a="$busy0" -v b="$busy1" -v t0="$t0" -v t1="$t1" \
    'BEGIN{printf "  whole machine: %.2f over %.2f s wall (%.2f cores busy of %d)\n", b - a, t1 - t0, (b - a) / (t1 - t0), '"$(nproc)"'}'
} >&2
exit "$status"
