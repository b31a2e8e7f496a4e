#!/usr/bin/env bash
# The body of benches/http.sh, run inside .ci/with-postgres (DATABASE_URL set).
set -euo pipefail
seconds=$1
connections=$2
db="postpilot_http_bench_$$"
psql -q -c "CREATE DATABASE $db"
export DATABASE_URL="${DATABASE_URL%/*}/$db"
export POSTPILOT_JWT_SECRET="bench-secret-bench-secret-bench-secret"
export POSTPILOT_TOKEN_KEY="k1:$(head -c 32 /dev/zero | base64)"
export POSTPILOT_PUBLISHERS=simulated POSTPILOT_BILLING=mock
export POSTPILOT_RATE_LIMIT_PER_MIN=100000000
export RUST_LOG=error
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export POSTPILOT_ADDR="127.0.0.1:$port"
# POSTPILOT_SERVER_BIN: another build to measure (e.g. the one before a change), same script.
server=${POSTPILOT_SERVER_BIN:-./target/release/postpilot-server}
$server migrate
$server serve & pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
api="http://127.0.0.1:$port/api/v1"
for _ in $(seq 50); do curl -sf "$api/health" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}' | json '["access_token"]')
curl -sf -X POST "$api/billing/checkout" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"plan":"enterprise"}' >/dev/null
account=$(curl -sf -X POST "$api/accounts" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"platform":"facebook","account_name":"@bench","account_id_external":"bench"}' | json '["id"]')
user=$(curl -sf "$api/auth/me" -H "authorization: Bearer $token" | json '["id"]')
# pgbench's own merchant, so its quota count starts from zero as the server's did.
token2=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"bench2@example.com","password":"correct horse battery"}' | json '["access_token"]')
curl -sf -X POST "$api/billing/checkout" -H "authorization: Bearer $token2" -H 'content-type: application/json' \
  -d '{"plan":"enterprise"}' >/dev/null
account2=$(curl -sf -X POST "$api/accounts" -H "authorization: Bearer $token2" -H 'content-type: application/json' \
  -d '{"platform":"facebook","account_name":"@bench2","account_id_external":"bench2"}' | json '["id"]')
user2=$(curl -sf "$api/auth/me" -H "authorization: Bearer $token2" | json '["id"]')

lua=$(mktemp --suffix .lua)
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"account_id":"$account","content":"Load test post","media_urls":["https://cdn.example.com/a.jpg"],"hashtags":["sale"]}'
LUA
rss() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
wrk_run() { wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@"; }
figures() { # requests/s | p50 | p99 from wrk's output
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%.0f | %s | %s", rps, p50, p99}'
}

post_out=$(wrk_run -s "$lua" "$api/posts")
post_rss=$(rss)
psql -q -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
list_out=$(wrk_run -H "authorization: Bearer $token" "$api/posts?per_page=20")
list_rss=$(rss)
posts=$(psql -tA -d "$db" -c "SELECT count(*) FROM posts")

# The statements one POST /posts sends: the plan (subscription), the account, then the insert
# (an enterprise merchant has no monthly cap to lock; the triggers count the post).
create_sql=$(mktemp --suffix .sql)
cat > "$create_sql" <<SQL
SELECT id, user_id, stripe_subscription_id, status, plan, current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at FROM subscriptions WHERE user_id = '$user2';
SELECT id, user_id, platform, account_name, account_id_external, access_token_enc, refresh_token_enc, token_expires_at, is_connected, needs_reconnect, publishing_cap, publishing_cap_read_at, connected_at, created_at FROM social_accounts WHERE id = '$account2' AND user_id = '$user2';
BEGIN;
INSERT INTO posts (id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at) VALUES (gen_random_uuid(), '$user2', '$account2', NULL, 'facebook', 'Load test post', '{https://cdn.example.com/a.jpg}', '{sale}', 'draft', NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, now(), now());
COMMIT;
SQL
list_sql=$(mktemp --suffix .sql)
cat > "$list_sql" <<SQL
SELECT id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, held_for_reconnect, on_slot, product, (SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = '$user' AND (NULL::text IS NULL OR status = NULL) AND (NULL::text IS NULL OR platform = NULL)) AS total, created_at AS page_at, id AS page_id FROM posts WHERE user_id = '$user' AND NULL::text IS NULL AND NULL::text IS NULL AND (created_at, id) < ('9999-12-31T23:59:59Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0;
SQL
pg() { pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -f "$1" "$db" 2>/dev/null \
  | awk '/latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "%.0f | %s ms", tps, lat}'; }
pg_create=$(pg "$create_sql")
pg_list=$(pg "$list_sql")

echo "postpilot-server (release) on PostgreSQL $(psql -tA -c 'SHOW server_version' | cut -d' ' -f1), wrk -t2 -c$connections -d${seconds}s; pgbench -c$connections -j2 -T$seconds, same SQL"
echo
echo "| endpoint | server req/s | p50 | p99 | server peak RSS | pgbench tx/s (same SQL) | pgbench mean latency |"
echo "|---|---|---|---|---|---|---|"
echo "| POST /api/v1/posts | $(echo "$post_out" | figures) | $((post_rss / 1024)) MiB | $pg_create |"
echo "| GET /api/v1/posts?per_page=20 (of $posts) | $(echo "$list_out" | figures) | $((list_rss / 1024)) MiB | $pg_list |"
errors=$(echo "$post_out$list_out" | grep -E "Non-2xx|Socket errors" || true)
[ -z "$errors" ] || echo "wrk reported: $errors"
