#!/usr/bin/env bash
# Differential HTTP fuzzing: one seeded stream of valid-ish and hostile SCIM requests to
# `serve` on SQLite and to the distributed roles on PostgreSQL (crates/httpfuzz); prints the
# statuses both gave, throughput, and every disagreement, 5xx or final-state difference with
# the seed, lane and step that reproduce it. Needs the test services (scripts/pg.sh and
# scripts/rmq.sh start them; scripts/test.sh runs this with the defaults).
#
# Usage: scripts/fuzz.sh [REQUESTS=100000] [SEED=random]
set -euo pipefail
cd "$(dirname "$0")/.."
export BLOGIN_SCIM_FUZZ_REQUESTS=${1:-100000}
[ -n "${2:-}" ] && export BLOGIN_SCIM_FUZZ_SEED=$2
BLOGIN_SCIM_TEST_PG_URL=${BLOGIN_SCIM_TEST_PG_URL:-$(scripts/pg.sh start)}
BLOGIN_SCIM_TEST_AMQP_URL=${BLOGIN_SCIM_TEST_AMQP_URL:-$(scripts/rmq.sh start)}
export BLOGIN_SCIM_TEST_PG_URL BLOGIN_SCIM_TEST_AMQP_URL
log=$(mktemp /tmp/blogin-scim-fuzz-XXXXXX.log)
status=0
cargo test -p blogin-scim --test e2e -- --ignored fuzz:: --nocapture >"$log" 2>&1 || status=$?
# The report (the roles' own logs stay in $log when the run fails).
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/^httpfuzz seed/{p=1} p && /^test result|^thread /{exit} p' || true
if [ "$status" != 0 ]; then
  grep -m1 -A3 'panicked' "$log" >&2 || true
  echo "the differential fuzzer failed; full output in $log" >&2
else
  rm -f "$log"
fi
exit "$status"
