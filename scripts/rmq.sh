#!/usr/bin/env bash
# A throwaway RabbitMQ node on 127.0.0.1 for tests and local runs (no systemd needed).
#
#   scripts/rmq.sh start   # installs RabbitMQ from Debian if missing, starts a node; prints the AMQP URL
#   scripts/rmq.sh stop    # stops the node and its epmd
#   scripts/rmq.sh alarm on|off   # raises / clears a memory alarm (the fault suite)
#
# RMQ_DIR (default /tmp/blogin-scim-rmq), AMQP_PORT (default 55672) and RMQ_PROM_PORT
# (default 55692, the Prometheus metrics endpoint at /metrics) choose where and which ports. The node name,
# epmd's port (AMQP_PORT-1000), the Erlang distribution port (AMQP_PORT+1) and the CLI tools'
# distribution ports (AMQP_PORT+8..+17) are derived from AMQP_PORT, so this node can run next to
# a default one (5672/25672/4369/35672+) without clashing.
set -euo pipefail
RMQ_DIR=${RMQ_DIR:-/tmp/blogin-scim-rmq}
AMQP_PORT=${AMQP_PORT:-55672}
RMQ_PROM_PORT=${RMQ_PROM_PORT:-55692}
# Enabled plugins, as the body of an Erlang list. RMQ_PLUGINS= (empty) enables none; that
# saves only ~1.5 s of a ~11 s warm start here, so the metrics endpoint stays on by default.
RMQ_PLUGINS=${RMQ_PLUGINS-rabbitmq_prometheus}
RMQBIN=/usr/lib/rabbitmq/bin
URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"

# Everything the server and the CLI read comes from here, so that both talk about the same
# node. The Debian wrapper /usr/sbin/rabbitmq-server would su to `rabbitmq` and write to
# /var/log; the scripts under $RMQBIN take every path from the environment instead.
export HOME=$RMQ_DIR # the Erlang cookie lives in $HOME; server and CLI must share it
export RABBITMQ_NODENAME=blogin-scim-$AMQP_PORT@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$AMQP_PORT
# RabbitMQ's defaults (AMQP+20000, CLI at dist+10000) would overflow 65535 for a high AMQP port.
export RABBITMQ_DIST_PORT=$((AMQP_PORT + 1))
export RABBITMQ_CTL_DIST_PORT_MIN=$((AMQP_PORT + 8))
export RABBITMQ_CTL_DIST_PORT_MAX=$((AMQP_PORT + 17))
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$((AMQP_PORT - 1000))
export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia
export RABBITMQ_LOG_BASE=$RMQ_DIR/log
export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
export RABBITMQ_PID_FILE=$RMQ_DIR/rabbit.pid
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
# Erlang writes crash dumps to the working directory by default.
export ERL_CRASH_DUMP=$RMQ_DIR/erl_crash.dump

fail() {
  echo "rmq.sh: $*" >&2
  exit 1
}

install_rmq() {
  echo "installing RabbitMQ (Debian package)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update writes temporary files to /tmp, which a fresh machine may have at 0755.
  [ "$(id -u)" = 0 ] && chmod 1777 /tmp
  apt-get update -qq >&2 || fail "apt-get update failed"
  apt-get install -y -qq rabbitmq-server >/dev/null || fail "apt-get install rabbitmq-server failed"
}

ctl() { "$RMQBIN/rabbitmqctl" "$@"; }

running() { ctl -q status >/dev/null 2>&1; }

start() {
  [ -x "$RMQBIN/rabbitmq-server" ] || install_rmq
  [ -x "$RMQBIN/rabbitmq-server" ] || fail "RabbitMQ could not be installed"
  # Even the CLI needs $HOME to exist (it creates the cookie there).
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  if running; then
    echo "$URL"
    return 0
  fi
  cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $RMQ_PROM_PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
CONF
  echo '[].' >"$RMQ_DIR/advanced.config"
  echo "[$RMQ_PLUGINS]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  rm -f "$RABBITMQ_PID_FILE"
  nohup "$RMQBIN/rabbitmq-server" >"$RMQ_DIR/log/stdout.log" 2>&1 </dev/null &
  local server=$!
  echo "$server" >"$RMQ_DIR/server.pid"
  # `wait` polls the pid file and then the node until the rabbit app (and its listeners) is up;
  # `await_startup` would fail at once if the node has not registered with epmd yet. It would
  # also sit out its whole timeout if the server died early, hence the watch on the server.
  ctl -q wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null 2>&1 &
  local waiter=$!
  while kill -0 "$waiter" 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null; then
      kill "$waiter" 2>/dev/null || true
      tail -n 30 "$RMQ_DIR/log/stdout.log" >&2 || true
      fail "RabbitMQ exited during startup (logs in $RMQ_DIR/log)"
    fi
    sleep 0.2
  done
  if ! wait "$waiter"; then
    tail -n 30 "$RMQ_DIR/log/stdout.log" >&2 || true
    stop
    fail "RabbitMQ did not start (logs in $RMQ_DIR/log)"
  fi
  # The listener is what clients need; check it rather than trusting the node's own report.
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$AMQP_PORT") 2>/dev/null; then
      echo "$URL"
      return 0
    fi
    sleep 0.1
  done
  fail "RabbitMQ started but 127.0.0.1:$AMQP_PORT does not accept connections"
}

stop() {
  [ -x "$RMQBIN/rabbitmqctl" ] && [ -d "$RMQ_DIR" ] || return 0
  if ! ctl -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1; then
    if [ -s "$RMQ_DIR/server.pid" ]; then
      kill "$(cat "$RMQ_DIR/server.pid")" 2>/dev/null || true
    fi
  fi
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
}

# A memory alarm, as when the broker runs out of memory: RabbitMQ blocks every connection
# that publishes until it clears. `on` sets the watermark below what the node uses.
alarm() {
  case "$1" in
    on) ctl -q set_vm_memory_high_watermark 0.000001 >/dev/null ;;
    off) ctl -q set_vm_memory_high_watermark 0.4 >/dev/null ;;
    *) fail "alarm on|off" ;;
  esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  alarm) alarm "${2:-}" ;;
  *)
    echo "usage: $0 start|stop|alarm on|off" >&2
    exit 2
    ;;
esac
