#!/usr/bin/env bash
# The body of benches/scale.sh, run inside .ci/with-postgres (DATABASE_URL set).
set -euo pipefail
sizes=$1
seconds=$2
connections=$3
# ROUNDS: how many times each one-merchant load runs at each size, the sizes taking turns.
rounds=${ROUNDS:-3}
# LOADS: which of the one-merchant loads to run (the others' cells are left as "–").
loads=${LOADS:-list overview calendar create}
for load in $loads; do
  case $load in list | overview | calendar | create) ;; *)
    echo "scale: no load named $load (LOADS: list overview calendar create)" >&2; exit 1 ;;
  esac
done
base_url=$DATABASE_URL
# shellcheck source=benches/merchant.sh
source benches/merchant.sh
server_env
server=${POSTPILOT_SERVER_BIN:-./target/release/postpilot-server}
work=$(mktemp -d)
# Every size's server runs from its setup to the end; `use <size>` points $pid, $api, $token,
# $account, $user and $PGDATABASE at one of them.
declare -A pids apis size_tokens size_accounts size_users rests
pid=
trap 'stop_servers; rm -rf "$work"' EXIT
use() {
  pid=${pids[$1]} api=${apis[$1]} token=${size_tokens[$1]} account=${size_accounts[$1]}
  user=${size_users[$1]}
  export PGDATABASE="postpilot_scale_$1_$$"
}

figures() { # requests/s | p99 from wrk's output
  awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
       END {printf "%.0f | %s%s", rps, p99, (bad ? " (" bad " non-2xx)" : "")}'
}
wrk_run() { wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@"; }
# requests/s and p99 in ms from wrk's output; fails on any non-2xx answer or socket error.
rate() {
  local out
  out=$(cat)
  if grep -qE 'Non-2xx|Socket errors' <<< "$out"; then return 1; fi
  printf '%.0f %.2f' "$(awk '/Requests\/sec/ {print $2}' <<< "$out")" "$(wrk_p99_ms <<< "$out")"
}
pg() { # tx/s | mean latency of a pgbench script
  pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -f "$1" "$PGDATABASE" 2>/dev/null \
    | awk '/latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "%.0f | %s ms", tps, lat}'
}
rss() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status"; }

columns="id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, held_for_reconnect, on_slot, product"
week_from=$(date -u -d '+7 days' +%F)
week_to=$(date -u -d '+14 days' +%F)
single="$work/single.md" spread="$work/spread.md" baseline="$work/pgbench.md"
: > "$single"; : > "$spread"; : > "$baseline"

# --- Every size set up, its server left running. -------------------------------------------
for size in $sizes; do
  db="postpilot_scale_${size}_$$"
  psql -q -c "CREATE DATABASE $db"
  export DATABASE_URL="${base_url%/*}/$db"
  export PGDATABASE=$db
  port=$(free_port)
  export POSTPILOT_ADDR="127.0.0.1:$port"
  api="http://127.0.0.1:$port/api/v1"
  $server migrate
  # As deployed: the server sets glibc's malloc itself (GLIBC_TUNABLES, docs/OPERATIONS.md),
  # unless GLIBC_TUNABLES is set in the environment of this script.
  $server serve & pid=$!
  pids[$size]=$pid apis[$size]=$api
  for _ in $(seq 50); do curl -sf "$api/health" >/dev/null && break; sleep 0.1; done

  read -r token account user <<< "$(merchant "one-$size")"
  size_tokens[$size]=$token size_accounts[$size]=$account size_users[$size]=$user
  seeded=$(date +%s.%N)
  bash benches/scale-seed.sh "$user" "$account" "$size"
  seed_seconds=$(echo "$(date +%s.%N) - $seeded" | bc)
  tokens=() accounts=()
  for m in $(seq 32); do
    read -r t a u <<< "$(merchant "many-$size-$m")"
    bash benches/scale-seed.sh "$u" "$a" $((size / 32))
    tokens+=("$t") accounts+=("$a")
  done
  psql -q -c "VACUUM ANALYZE" -c "CHECKPOINT"
  echo "size $size: one merchant seeded by COPY in ${seed_seconds}s; $(psql -tA -c 'SELECT count(*) FROM posts') posts in all" >&2

  cat > "$work/create-$size.lua" <<LUA
wrk.method = "POST"
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"account_id":"$account","content":"Load test post","media_urls":["https://cdn.example.com/a.jpg"],"hashtags":["sale"]}'
LUA
  # Spread over the 32 merchants, each request the next merchant's.
  {
    echo "tokens = {$(printf '"%s",' "${tokens[@]}")}"
    echo "accounts = {$(printf '"%s",' "${accounts[@]}")}"
    cat <<'LUA'
-- Each wrk thread starts at its own merchant, so the threads do not walk the list in step.
threads = 0
function setup(thread) thread:set("counter", threads * 16); threads = threads + 1 end
counter = 0
path = "/"
method = "GET"
function init(args) path = args[1]; method = args[2] or "GET" end
function request()
  counter = counter + 1
  local i = counter % #tokens + 1
  local headers = {authorization = "Bearer " .. tokens[i], ["content-type"] = "application/json"}
  local body = nil
  if method == "POST" then
    body = '{"account_id":"' .. accounts[i] .. '","content":"Load test post","media_urls":["https://cdn.example.com/a.jpg"],"hashtags":["sale"]}'
  end
  return wrk.format(method, path, headers, body)
end
LUA
  } > "$work/spread-$size.lua"
done
# The peak RSS from here: registering hashed 33 passwords per size (Argon2, 19 MiB each at
# once), which is not the load being measured.
for size in $sizes; do
  use "$size"
  echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || true
  rests[$size]=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
done

# --- As the one merchant: each load at every size in turn, $rounds rounds. ------------------
# The creates come last: each round adds its posts to the merchant's history.
declare -A rps p99
# load_args <load>: wrk's arguments for that load at the size `use` chose.
load_args() {
  case $1 in
    list) args=(-H "authorization: Bearer $token" "$api/posts?per_page=20") ;;
    overview) args=(-H "authorization: Bearer $token" "$api/analytics/overview") ;;
    calendar) args=(-H "authorization: Bearer $token" "$api/posts/calendar?start_date=$week_from&end_date=$week_to") ;;
    create) args=(-s "$work/create-$size.lua" "$api/posts") ;;
  esac
}
# In this order whatever LOADS says, so that the creates come last.
for load in list overview calendar create; do
  [[ " $loads " == *" $load "* ]] || continue
  # Two seconds at each size first (connections opened, statements prepared), not counted.
  for size in $sizes; do
    use "$size"
    load_args "$load"
    wrk -t2 -c"$connections" -d2s "${args[@]}" >/dev/null
  done
  for round in $(seq "$rounds"); do
    for size in $sizes; do
      use "$size"
      load_args "$load"
      out=$(wrk_run "${args[@]}" | rate) || { echo "scale: $load at $size: failed requests" >&2; exit 1; }
      read -r r p <<< "$out"
      rps[$load.$size]+="$r " p99[$load.$size]+="$p "
      echo "$load, $size posts, round $round: $r req/s" >&2
    done
  done
done
for size in $sizes; do
  line="| $size"
  for load in list create overview calendar; do
    if [ -z "${rps[$load.$size]:-}" ]; then line+=" | – | –"; continue; fi
    # shellcheck disable=SC2086 # the rounds' figures, one word each
    line+=" | $(printf '%.0f' "$(median ${rps[$load.$size]})") | $(printf '%.2f' "$(median ${p99[$load.$size]})") ms"
  done
  echo "$line |" >> "$single"
  line="| $size"
  for load in list create overview calendar; do line+=" | ${rps[$load.$size]:-–}"; done
  echo "$line |" >> "$work/rounds.md"
done

# --- Spread over the 32 merchants, then pgbench, one size at a time. -------------------------
for size in $sizes; do
  use "$size"
  spread_lua="$work/spread-$size.lua"
  s_list=$(wrk_run -s "$spread_lua" "$api/posts" -- "/api/v1/posts?per_page=20" | figures)
  s_overview=$(wrk_run -s "$spread_lua" "$api/analytics/overview" -- "/api/v1/analytics/overview" | figures)
  s_calendar=$(wrk_run -s "$spread_lua" "$api/posts" -- "/api/v1/posts/calendar?start_date=$week_from&end_date=$week_to" | figures)
  s_create=$(wrk_run -s "$spread_lua" "$api/posts" -- "/api/v1/posts" POST | figures)
  echo "| $((size / 32)) each | $s_list | $s_create | $s_overview | $s_calendar | ${rests[$size]} MiB | $(rss) MiB |" >> "$spread"
  # The SQL those requests send, as the one merchant, by pgbench.
  cat > "$work/list.sql" <<SQL
SELECT $columns, (SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = '$user' AND (NULL::text IS NULL OR status = NULL) AND (NULL::text IS NULL OR platform = NULL)) AS total, created_at AS page_at, id AS page_id FROM posts WHERE user_id = '$user' AND (NULL::text IS NULL OR status = NULL) AND (NULL::text IS NULL OR platform = NULL) AND (created_at, id) < ('9999-12-31T23:59:59Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 0;
SQL
  cat > "$work/overview.sql" <<SQL
SELECT coalesce(t.impressions, 0)::bigint, coalesce(t.reach, 0)::bigint, coalesce(t.likes, 0)::bigint, coalesce(t.comments, 0)::bigint, coalesce(t.shares, 0)::bigint, coalesce(t.clicks, 0)::bigint, coalesce(t.posts, 0), coalesce(t.rate_nanos, 0)::text, (SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = '$user' AND status = 'posted') FROM (SELECT 1) AS one LEFT JOIN metric_totals AS t ON t.user_id = '$user';
SQL
  cat > "$work/calendar.sql" <<SQL
SELECT $columns FROM posts WHERE user_id = '$user' AND scheduled_for >= '$week_from' AND scheduled_for < '$week_to' ORDER BY scheduled_for, id;
SQL
  cat > "$work/create.sql" <<SQL
BEGIN;
INSERT INTO posts (id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, on_slot, product) VALUES (gen_random_uuid(), '$user', '$account', NULL, 'facebook', 'Load test post', '{https://cdn.example.com/a.jpg}', '{sale}', 'draft', NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, now(), now(), NULL, false, NULL);
COMMIT;
SQL
  echo "| $size | $(pg "$work/list.sql") | $(pg "$work/create.sql") | $(pg "$work/overview.sql") | $(pg "$work/calendar.sql") |" >> "$baseline"

done

echo "postpilot-server (release) on PostgreSQL $(psql -tA -c 'SHOW server_version' | cut -d' ' -f1), fsync on; wrk -t2 -c$connections -d${seconds}s; pgbench -M prepared -c$connections -j2 -T$seconds"
echo
echo "One merchant with <posts> posts (req/s | p99, each the median of $rounds runs, the sizes taking turns):"
echo
echo "| posts | GET /posts?per_page=20 | | POST /posts | | GET /analytics/overview | | calendar (next week, 100 posts) | |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$single"
echo
echo "The rounds' req/s, in the order they ran (the creates of each round add to the merchant's posts):"
echo
echo "| posts | GET /posts?per_page=20 | POST /posts | GET /analytics/overview | calendar |"
echo "|---|---|---|---|---|"
cat "$work/rounds.md"
echo
echo "Spread over 32 merchants, each with <posts>/32 (req/s | p99), and the server's RSS before the loads and at its peak under all eight of the size:"
echo
echo "| posts | GET /posts?per_page=20 | | POST /posts | | GET /analytics/overview | | calendar | | RSS at rest | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$spread"
echo
echo "pgbench, the same SQL as the one merchant (tx/s | mean latency):"
echo
echo "| posts | list | | create | | overview | | calendar | |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$baseline"
