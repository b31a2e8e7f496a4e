#!/usr/bin/env bash
# The Postgres store beside raw pgbench on the same SQL, in one run:
#
#   bash benches/store.sh [--seconds 10] [--clients 2] [--claim-posts 40000]
#
# Builds the bench in release, starts a throwaway PostgreSQL with default durability settings
# (fsync on), and prints a Markdown table for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p benches --bin store-bench
POSTPILOT_PG_DURABLE=1 bash .ci/with-postgres ./target/release/store-bench "$@"
