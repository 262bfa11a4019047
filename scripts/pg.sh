#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for tests and local runs (no systemd needed).
#
#   scripts/pg.sh start           # installs PostgreSQL from Debian if missing, initdb + start; prints the URL
#   scripts/pg.sh stop
#   scripts/pg.sh start --durable # a second, durable cluster for benchmarks (see below)
#   scripts/pg.sh stop --durable
#   scripts/pg.sh restart-fast|restart-immediate [--durable]   # the fault suite's restarts
#
# PG_DIR (default /tmp/blogin-scim-pg) and PG_PORT (default 55432) choose where and which port.
#
# The test cluster runs with fsync=off and synchronous_commit=off: right for tests, wrong for
# throughput claims. `--durable` starts another cluster (PG_DIR default
# /tmp/blogin-scim-pg-durable, PG_PORT default 55433) with PostgreSQL's durable defaults —
# fsync=on, synchronous_commit=on, full_page_writes=on — so that every commit the service
# acknowledges is on disk; benchmarks run against that one.
set -euo pipefail
DURABLE=false
[ "${2:-}" = --durable ] && DURABLE=true
if $DURABLE; then
  PG_DIR=${PG_DIR:-/tmp/blogin-scim-pg-durable}
  PG_PORT=${PG_PORT:-55433}
  DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
else
  PG_DIR=${PG_DIR:-/tmp/blogin-scim-pg}
  PG_PORT=${PG_PORT:-55432}
  DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

install_pg() {
  echo "installing PostgreSQL (Debian package)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update writes temporary files to /tmp, which a fresh machine may have at 0755.
  [ "$(id -u)" = 0 ] && chmod 1777 /tmp
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >/dev/null
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  local bin
  bin=$(find_bin) || { install_pg; bin=$(find_bin) || { echo "PostgreSQL could not be installed" >&2; exit 1; }; }
  if as_pg "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    return 0
  fi
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; chmod 755 "$(dirname "$PG_DIR")" 2>/dev/null || true; fi
  if [ ! -s "$PG_DIR/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 $DURABILITY" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atc "select 1" >/dev/null
  echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

# `fast` rolls back open transactions and checkpoints; `immediate` is a crash: no checkpoint,
# WAL replay on the next start (what the fault suite uses for "PostgreSQL dies").
stop() {
  local bin
  bin=$(find_bin) || exit 0
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop fast ;;
  restart-fast) stop fast; start ;;
  restart-immediate) stop immediate; start ;;
  *) echo "usage: $0 start|stop|restart-fast|restart-immediate [--durable]" >&2; exit 2 ;;
esac
