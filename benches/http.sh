#!/usr/bin/env bash
# The bundled server on PostgreSQL under load, beside pgbench running the same SQL in the same
# run:
#
#   bash benches/http.sh [seconds=10] [connections=8]
#
# Builds postpilot-server in release, starts a throwaway PostgreSQL (fsync on), migrates, starts
# the server, creates an enterprise merchant with one account, then runs wrk against
# POST /api/v1/posts and GET /api/v1/posts?per_page=20, and pgbench with the statements those
# requests send. Prints a Markdown table for docs/BENCHMARKS.md. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-8}
command -v wrk >/dev/null || { echo "benches/http.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p examples --bin postpilot-server
export POSTPILOT_PG_DURABLE=1
exec bash .ci/with-postgres bash benches/http-run.sh "$seconds" "$connections"
