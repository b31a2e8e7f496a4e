#!/usr/bin/env bash
# The publication dispatcher beside pgbench on the same claim/complete SQL, and the lateness of
# 10,000 posts due at one instant:
#
#   bash benches/dispatch.sh
#
# Builds in release and starts a throwaway PostgreSQL with default durability (fsync on).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p benches --bin dispatch-bench
POSTPILOT_PG_DURABLE=1 bash .ci/with-postgres ./target/release/dispatch-bench
