#!/usr/bin/env bash
# Runs every test of the workspace, the way CI does. Installs and starts what the tests need
# (PostgreSQL, RabbitMQ, Prometheus, cargo-deny, scim2-tester from PyPI) and fails loudly when
# it cannot.
#
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# apt-get (PostgreSQL, RabbitMQ, Prometheus, linters) writes temporary files to /tmp, which a
# fresh machine may have at mode 0755.
if [ "$(id -u)" = 0 ] && [ "$(stat -c %a /tmp)" != 1777 ]; then chmod 1777 /tmp; fi

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "Prometheus (Debian; promtool checks the deploy files, the end-to-end suite scrapes the roles)"
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || { echo "prometheus could not be installed from Debian: the dashboard check needs it" >&2; exit 1; }
fi
echo "ok: $(prometheus --version 2>&1 | head -n1)"

step "deploy files"
scripts/validate-deploy.sh

step "crates/scim must stay pure (no runtime, framework or storage crates)"
impure=$(cargo tree -p scim -e normal --prefix none \
  | grep -Eo '^(tokio|axum|tonic|prost|sea-orm|sqlx|lapin|hyper|reqwest|mio)[ -]v' | sort -u || true)
if [ -n "$impure" ]; then
  echo "crates/scim depends on: $impure" >&2
  exit 1
fi
echo "ok: $(cargo tree -p scim -e normal --prefix none | wc -l) crates in scim's normal dependency tree"

step "supply chain: cargo deny (advisories, bans, licences, sources; offline snapshot in supply-chain/)"
scripts/deny.sh

step "PostgreSQL (installed from Debian and started on 127.0.0.1 when missing)"
BLOGIN_SCIM_TEST_PG_URL=$(scripts/pg.sh start) || { echo "PostgreSQL could not be started: the store suite needs it" >&2; exit 1; }
export BLOGIN_SCIM_TEST_PG_URL
echo "ok: $BLOGIN_SCIM_TEST_PG_URL"

step "RabbitMQ (installed from Debian and started on 127.0.0.1 when missing)"
BLOGIN_SCIM_TEST_AMQP_URL=$(scripts/rmq.sh start) || { echo "RabbitMQ could not be started: the bus and end-to-end suites need it" >&2; exit 1; }
export BLOGIN_SCIM_TEST_AMQP_URL
echo "ok: ${BLOGIN_SCIM_TEST_AMQP_URL/guest:guest@/}"

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
cargo test --workspace --all-targets
cargo test --workspace --doc

step "differential fuzzing: 100,000 generated requests, serve on SQLite vs the roles on PostgreSQL"
# Seed printed in the report; a finding reproduces with scripts/fuzz.sh REQUESTS SEED.
scripts/fuzz.sh "${BLOGIN_SCIM_FUZZ_REQUESTS:-100000}"

step "benchmark smoke: scripts/bench.sh against serve and the roles (debug build; the numbers mean nothing here)"
# Keeps the README's benchmark commands working: a short Entra cycle, verified, 0 errors.
BENCH_PROFILE=debug BENCH_DEADLINE=120 scripts/bench.sh serve entra --users 200 --groups 4
BENCH_PROFILE=debug BENCH_DEADLINE=120 scripts/bench.sh roles 1 entra --users 200 --groups 4

step "conformance: scim2-tester (PyPI) against a running serve"
# `cargo test --workspace` built the binary for the end-to-end suite (same features, no rebuild).
BLOGIN_SCIM_BIN="${CARGO_TARGET_DIR:-target}/debug/blogin-scim" scripts/conformance.sh
