#!/usr/bin/env bash
# Runs every test of the workspace, the way CI does. Installs and starts what the tests need
# (PostgreSQL, RabbitMQ) when the tests that need them exist, and fails loudly when it cannot.
#
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "crates/scim must stay pure (no runtime, framework or storage crates)"
impure=$(cargo tree -p scim -e normal --prefix none \
  | grep -Eo '^(tokio|axum|tonic|prost|sea-orm|sqlx|lapin|hyper|reqwest|mio)[ -]v' | sort -u || true)
if [ -n "$impure" ]; then
  echo "crates/scim depends on: $impure" >&2
  exit 1
fi
echo "ok: $(cargo tree -p scim -e normal --prefix none | wc -l) crates in scim's normal dependency tree"

step "PostgreSQL (installed from Debian and started on 127.0.0.1 when missing)"
BLOGIN_SCIM_TEST_PG_URL=$(scripts/pg.sh start) || { echo "PostgreSQL could not be started: the store suite needs it" >&2; exit 1; }
export BLOGIN_SCIM_TEST_PG_URL
echo "ok: $BLOGIN_SCIM_TEST_PG_URL"

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
cargo test --workspace --all-targets
cargo test --workspace --doc
