#!/usr/bin/env bash
# The body of benches/list-cpu.sh, run inside .ci/with-postgres (DATABASE_URL set).
set -euo pipefail
posts=$1
seconds=$2
connections=$3
server=${POSTPILOT_SERVER_BIN:-./target/release/postpilot-server}
base_url=$DATABASE_URL
db="postpilot_list_cpu_$$"
psql -q -c "CREATE DATABASE $db"
export DATABASE_URL="${base_url%/*}/$db"
# shellcheck source=benches/merchant.sh
source benches/merchant.sh
server_env
port=$(free_port)
export POSTPILOT_ADDR="127.0.0.1:$port"
api="http://127.0.0.1:$port/api/v1"
$server migrate
$server serve &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "$api/health" >/dev/null && break; sleep 0.1; done
read -r token account user <<< "$(merchant one)"
PGDATABASE=$db bash benches/scale-seed.sh "$user" "$account" "$posts" >/dev/null
psql -q -v ON_ERROR_STOP=1 -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
statements=
[ "${PG_STATEMENTS:-0}" = 1 ] && statements=1
if [ -n "$statements" ]; then
  psql -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
fi

# shellcheck source=benches/cpu.sh
source benches/cpu.sh
hz=$(getconf CLK_TCK)
url="$api/posts?per_page=20"
auth="authorization: Bearer $token"
wrk -t2 -c"$connections" -d2s -H "$auth" "$url" >/dev/null
if [ -n "$statements" ]; then psql -q -d "$db" -c "SELECT pg_stat_statements_reset()" >/dev/null; fi
server0=$(process_ticks "$pid") pg0=$(pg_ticks)
out=$( { /usr/bin/time -f "wrk-cpu %U %S" wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "$auth" "$url"; } 2>&1)
server1=$(process_ticks "$pid") pg1=$(pg_ticks)
if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then echo "$out" >&2; exit 1; fi
requests=$(echo "$out" | awk '/requests in/ {print $1}')
per_request() { awk -v a="$1" -v b="$2" -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.3f", (a - b) * 1000 / hz / n}'; }
echo "GET /api/v1/posts?per_page=20, one merchant with $posts posts (+ 100 scheduled); wrk -t2 -c$connections -d${seconds}s; PostgreSQL $(psql -tA -c 'SHOW server_version' | cut -d' ' -f1), fsync on"
echo
echo "| req/s | p99 | server CPU per request | PostgreSQL CPU per request | wrk CPU per request |"
echo "|---|---|---|---|---|"
echo "| $(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}') | $(echo "$out" | awk '/^ +99%/ {print $2}') | $(per_request "$server1" "$server0") ms | $(per_request "$pg1" "$pg0") ms | $(echo "$out" | awk -v n="$requests" '/wrk-cpu/ {printf "%.3f", ($2 + $3) * 1000 / n}') ms |"
if [ -n "$statements" ]; then
  echo
  psql -d "$db" -c "SELECT calls, plans, round(mean_plan_time::numeric, 3) AS plan_ms,
      round(mean_exec_time::numeric, 3) AS exec_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS statement
    FROM pg_stat_statements ORDER BY calls DESC LIMIT 3"
fi
