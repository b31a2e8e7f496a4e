#!/usr/bin/env bash
# Does a request cost the same for a merchant with 1,000 posts as with 1,000,000? (issue 18)
#
#   bash benches/scale.sh [sizes="1000 100000 1000000"] [seconds=10] [connections=32]
#
# For each size, on a throwaway PostgreSQL (fsync on) and a fresh database: migrates, starts the
# release server, creates one enterprise merchant with that many posts and 32 more merchants
# sharing that many between them, the posts written by COPY (benches/scale-seed.sh: 80 %
# published with metrics, 15 % drafts, 5 % failed, spread over the past year, and the same 100
# scheduled posts next week at every size). Every size's server stays up. Then wrk runs
# GET /posts?per_page=20, GET /analytics/overview, the calendar of next week and POST /posts as
# the one merchant, each load at every size in turn, ROUNDS (3) rounds (LOADS picks some of
# "list overview calendar create"), and reports each figure's median: the sizes are compared
# across the same minutes, so the host's drift over a run (up to 17 % between 10-second runs)
# falls on all of them alike. Then, one size at a time,
# the same requests spread over the 32, and pgbench runs the SQL the one merchant's requests
# send. Prints Markdown tables for docs/BENCHMARKS.md. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"1000 100000 1000000"}
seconds=${2:-10}
connections=${3:-32}
command -v wrk >/dev/null || { echo "benches/scale.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p examples --bin postpilot-server
export POSTPILOT_PG_DURABLE=1
exec bash .ci/with-postgres bash benches/scale-run.sh "$sizes" "$seconds" "$connections"
