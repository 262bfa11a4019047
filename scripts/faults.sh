#!/usr/bin/env bash
# The fault suite, longer than in the test command: Entra-shaped load on the distributed roles
# while each fault strikes in turn (kill -9 worker / store / gateway, RabbitMQ restart,
# PostgreSQL fast and immediate restarts, a RabbitMQ memory alarm, a cut TCP path to the
# store); prints per fault the 503 share and the recovery time, then the exactly-once checks.
# The suite starts a PostgreSQL and a RabbitMQ of its own (scripts/pg.sh, scripts/rmq.sh).
#
# Usage: scripts/faults.sh [SECONDS_OF_LOAD_AROUND_EACH_FAULT=30]
set -euo pipefail
cd "$(dirname "$0")/.."
export BLOGIN_SCIM_FAULT_SECONDS=${1:-30}
log=$(mktemp /tmp/blogin-scim-faults-XXXXXX.log)
status=0
cargo test -p blogin-scim --test e2e -- faults:: --nocapture >"$log" 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$log" \
  | grep -E '^(fault |kill|restart|RabbitMQ|cut|[0-9]+ requests|test faults|thread .* panicked)' -A0 || true
if [ "$status" != 0 ]; then
  grep -A5 'panicked' "$log" | head -n 20 >&2 || true
  echo "the fault suite failed; every role's log is in $log" >&2
else
  rm -f "$log"
fi
exit "$status"
