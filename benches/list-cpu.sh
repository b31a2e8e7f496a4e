#!/usr/bin/env bash
# Where a listed page's CPU goes (issue 18): one merchant with <posts> posts, wrk on
# GET /api/v1/posts?per_page=20, and the CPU time per request of the server, of PostgreSQL (all
# its processes, with the backends that ended) and of wrk, beside the requests/s:
#
#   bash benches/list-cpu.sh [posts=10000] [seconds=10] [connections=32]
#
# With PG_STATEMENTS=1 it also prints pg_stat_statements for the run: calls, plans and the mean
# planning and execution time of the busiest statements (PostgreSQL loads the module for it).
# POSTPILOT_SERVER_BIN measures another build; SKIP_BUILD=1 the release binary already built.
# Needs wrk and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-10000}
seconds=${2:-10}
connections=${3:-32}
command -v wrk >/dev/null || { echo "benches/list-cpu.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "benches/list-cpu.sh needs GNU time: apt-get install -y time" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ] && [ -z "${POSTPILOT_SERVER_BIN:-}" ]; then
  cargo build --release -q -p examples --bin postpilot-server
fi
export POSTPILOT_PG_DURABLE=1
export PG_STATEMENTS=${PG_STATEMENTS:-0}
if [ "$PG_STATEMENTS" = 1 ]; then
  POSTPILOT_PG_SETTINGS="${POSTPILOT_PG_SETTINGS:-} -c shared_preload_libraries=pg_stat_statements"
  export POSTPILOT_PG_SETTINGS="$POSTPILOT_PG_SETTINGS -c pg_stat_statements.track_planning=on"
fi
exec bash .ci/with-postgres bash benches/list-cpu-run.sh "$posts" "$seconds" "$connections"
