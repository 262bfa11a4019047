#!/usr/bin/env bash
# Supply chain: `cargo deny check` (advisories, bans, licences, sources; policy in deny.toml)
# offline, against the RustSec advisory database snapshot kept in supply-chain/ — CI machines
# reach the package registries but not GitHub.
#
# Usage: scripts/deny.sh            install cargo-deny (pinned) when missing, then check
#        scripts/deny.sh --update   refresh the snapshot from GitHub (needs the internet), then check
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
SNAPSHOT=supply-chain/rustsec-advisory-db.tar.gz
# Where cargo-deny $DENY_VERSION looks for the database of deny.toml's `db-urls` under its
# `db-path` (a directory named after a hash of the URL).
DB_DIR=target/advisory-dbs/advisory-db-3157b0e258782691

if [ "${1:-}" = --update ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git clone -q --depth 1 https://github.com/RustSec/advisory-db "$tmp/repo"
  commit=$(git -C "$tmp/repo" rev-parse HEAD)
  date=$(git -C "$tmp/repo" log -1 --format=%cI)
  mkdir "$tmp/tree"
  git -C "$tmp/repo" archive HEAD crates rust LICENSE.txt | tar -x -C "$tmp/tree"
  printf 'commit %s\ndate %s\nsource https://github.com/RustSec/advisory-db\n' "$commit" "$date" >"$tmp/tree/SNAPSHOT"
  tar --sort=name --owner=0 --group=0 --mtime="$date" -czf "$SNAPSHOT" -C "$tmp/tree" .
  echo "snapshot updated to $commit ($date)"
fi

installed=$(cargo deny --version 2>/dev/null || true)
if [ "$installed" != "cargo-deny $DENY_VERSION" ]; then
  echo "installing cargo-deny $DENY_VERSION (crates.io; ~3 min)"
  cargo install --quiet --locked cargo-deny --version "$DENY_VERSION"
fi

# cargo-deny reads the database as a git checkout (it asks git for the commit's date), so the
# snapshot is unpacked into a one-commit repository dated like the upstream commit.
rm -rf "$DB_DIR"
mkdir -p "$DB_DIR"
tar -xzf "$SNAPSHOT" -C "$DB_DIR"
snapshot_date=$(sed -n 's/^date //p' "$DB_DIR/SNAPSHOT")
(
  cd "$DB_DIR"
  git init -q
  git add -A
  GIT_AUTHOR_DATE="$snapshot_date" GIT_COMMITTER_DATE="$snapshot_date" \
    git -c user.name=snapshot -c user.email=snapshot@localhost commit -qm "RustSec advisory-db snapshot"
)
age_days=$(( ($(date +%s) - $(date -d "$snapshot_date" +%s)) / 86400 ))
echo "advisory database: $(sed -n 's/^commit //p' "$DB_DIR/SNAPSHOT") of $snapshot_date ($age_days days old, $(find "$DB_DIR/crates" -name 'RUSTSEC-*.md' | wc -l) advisories)"
if [ "$age_days" -gt 90 ]; then
  echo "warning: the advisory snapshot is over 90 days old; run scripts/deny.sh --update where GitHub is reachable" >&2
fi

cargo deny --offline --locked check
