#!/usr/bin/env bash
# The body of benches/seed-compare.sh, run inside .ci/with-postgres (DATABASE_URL set).
set -euo pipefail
posts=$1
seconds=$2
connections=$3
# ROUNDS: how many times the list is measured on each stack, the stacks taking turns.
rounds=${ROUNDS:-3}
venv=${SEED_VENV:-target/seed-venv}
# POSTPILOT_SERVER_BIN: another build to measure (e.g. the one before a change), same script.
server=${POSTPILOT_SERVER_BIN:-./target/release/postpilot-server}
base_url=$DATABASE_URL
jwt_secret="bench-secret-bench-secret-bench-secret" # the seed's; server_env gives postpilot the same
work=$(mktemp -d)
# Both stacks run from setup to the end; `use <stack>` points $pid, $api, $token and $account
# at one of them.
declare -A pids apis stack_tokens stack_accounts stack_bodies
pid=
# shellcheck source=benches/merchant.sh
source benches/merchant.sh
trap 'stop_servers; rm -rf "$work"' EXIT
use() {
  pid=${pids[$1]} api=${apis[$1]} token=${stack_tokens[$1]} account=${stack_accounts[$1]}
}

fail() { echo "seed-compare: $*" >&2; exit 1; }
wait_for() { # the server answering at $1 within 15 s
  for _ in $(seq 150); do curl -sf "$1" >/dev/null && return; sleep 0.1; done
  fail "no answer from $1"
}

# shellcheck source=benches/cpu.sh
source benches/cpu.sh
# The server's CPU so far; PostgreSQL's is pg_ticks (the other stack is idle meanwhile).
cpu_ticks() { process_ticks "$pid"; }
ticks_per_second=$(getconf CLK_TCK)
rss_mib() { awk -v key="$1:" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
# Peak RSS counts from here: what setting up the merchant allocated is not the load measured.
reset_peak() { echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || true; }

# Answers a request, failing unless its status is the one expected; the body goes to $work/body.
expect() {
  local want=$1 got
  shift
  got=$(curl -s -o "$work/body" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || fail "expected $want, got $got from curl $*: $(head -c 500 "$work/body")"
}

# measure <stack> <name> <wrk arguments...>: two seconds of warm-up (connections opened, caches
# filled), then the measured run. Fails on any non-2xx answer or socket error. Sets
# fig[<stack>.<name>.rps|p99|cpu|pgcpu]: requests/s, p99 in ms, server and PostgreSQL CPU ms per
# request.
declare -A fig
measure() {
  local stack=$1 name=$2 before after out requests
  shift 2
  wrk -t2 -c"$connections" -d2s "$@" >/dev/null
  before=$(cpu_ticks) pg_before=$(pg_ticks)
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s --latency "$@")
  after=$(cpu_ticks) pg_after=$(pg_ticks)
  if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then
    echo "$out" >&2
    fail "$stack $name: wrk saw failed requests (above)"
  fi
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  [ "${requests:-0}" -gt 0 ] || { echo "$out" >&2; fail "$stack $name: no requests completed"; }
  fig[$stack.$name.rps]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  fig[$stack.$name.p99]=$(echo "$out" | wrk_p99_ms)
  fig[$stack.$name.cpu]=$(echo "$after $before $ticks_per_second $requests" \
    | awk '{print ($1 - $2) * 1000 / $3 / $4}')
  fig[$stack.$name.pgcpu]=$(echo "$pg_after $pg_before $ticks_per_second $requests" \
    | awk '{print ($1 - $2) * 1000 / $3 / $4}')
  fig[$stack.$name.requests]=$requests
  echo "$stack $name: $requests requests, ${fig[$stack.$name.rps]} req/s" >&2
}

# Checks one page of the list: 20 posts of <posts> + 100 (the scheduled ones).
check_list() {
  local total items
  total=$(json '["total"]' < "$work/body")
  items=$(json '["items"].__len__()' < "$work/body")
  if [ "$total" != $((posts + 100)) ] || [ "$items" != 20 ]; then
    fail "$1: the list answered total $total, $items items; expected $((posts + 100)), 20"
  fi
}

# Both stacks' merchants post the same body (the seed's also names the platform, as its
# create_post takes it) as drafts.
post_lua() { # <file> <token> <body>
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["authorization"] = "Bearer $2"
wrk.headers["content-type"] = "application/json"
wrk.body = '$3'
LUA
}

# spread_lua <file> <body, ACCOUNT for the account's id>: a POST of that body by the next of the
# 32 merchants in ${tokens[@]} and ${accounts[@]} on each request.
spread_lua() {
  {
    echo "tokens = {$(printf '"%s",' "${tokens[@]}")}"
    echo "accounts = {$(printf '"%s",' "${accounts[@]}")}"
    echo "body = '$2'"
    cat <<'LUA'
-- Each wrk thread starts at its own merchant, so the threads do not walk the list in step.
threads = 0
function setup(thread) thread:set("counter", threads * 16); threads = threads + 1 end
counter = 0
function request()
  counter = counter + 1
  local i = counter % #tokens + 1
  local headers = {authorization = "Bearer " .. tokens[i], ["content-type"] = "application/json"}
  return wrk.format("POST", nil, headers, (string.gsub(body, "ACCOUNT", accounts[i])))
end
LUA
  } > "$1"
}

# ready <stack> <create body, ACCOUNT for the account's id>: the server at $api (process $pid)
# with the merchant's $token and $account, and 32 more merchants in ${tokens[@]} and
# ${accounts[@]}, set up and quiet. Checks one page, writes the stack's two create scripts, and
# keeps what `use` needs.
ready() {
  local stack=$1 template=$2
  apis[$stack]=$api stack_tokens[$stack]=$token stack_accounts[$stack]=$account
  stack_bodies[$stack]=${template//ACCOUNT/$account}
  expect 200 -H "authorization: Bearer $token" "$api/posts?per_page=20"
  check_list "$stack"
  post_lua "$work/$stack.lua" "$token" "${stack_bodies[$stack]}"
  spread_lua "$work/$stack-32.lua" "$template"
}

# creates <stack>: checks one create, then measures the create as the one merchant and the
# create spread over the 32 (drafts). After the list: the seed's list counts what they add.
creates() {
  local stack=$1
  use "$stack"
  expect 201 -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "${stack_bodies[$stack]}" "$api/posts"
  [ "$(json '["status"]' < "$work/body")" = draft ] || fail "$stack: the created post is no draft"
  measure "$stack" create -s "$work/$stack.lua" "$api/posts"
  measure "$stack" create32 -s "$work/$stack-32.lua" "$api/posts"
}

# --- The seed stack: FastAPI + SQLAlchemy 2.0 (async) + asyncpg, one uvicorn worker. ---------
db="seed_stack_$$"
psql -q -c "CREATE DATABASE $db"
port=$(free_port)
api="http://127.0.0.1:$port/api/v1"
# uvicorn without its access log (the seed's default would print a line a request; postpilot
# logs errors only here).
seed_url="postgresql+asyncpg://${base_url#*://}"
DATABASE_URL="${seed_url%/*}/$db" JWT_SECRET_KEY=$jwt_secret \
  "$venv/bin/python" -m uvicorn app:app --app-dir benches/seed-stack --host 127.0.0.1 \
  --port "$port" --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning &
pid=$! && pids[seed]=$pid
wait_for "$api/health"

token=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"one@example.com","password":"correct horse battery"}' | json '["access_token"]')
user=$(curl -sf "$api/auth/me" -H "authorization: Bearer $token" | json '["id"]')
# Enterprise as the seed's mock-mode checkout leaves it: an active subscription row, and the plan
# on the user, which is where the seed's services read it from.
psql -q -v ON_ERROR_STOP=1 -d "$db" \
  -c "UPDATE users SET plan = 'enterprise', updated_at = now() WHERE id = '$user'" \
  -c "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, status, plan,
        current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at)
      VALUES (gen_random_uuid(), '$user', NULL, 'active', 'enterprise', now(),
        now() + interval '1 month', false, now(), now())"
account=$(curl -sf -X POST "$api/accounts" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' \
  -d '{"platform":"facebook","account_name":"@one","account_id_external":"one"}' | json '["id"]')
# 32 more merchants, enterprise the same way, one account each, no history.
tokens=() accounts=()
for m in $(seq 32); do
  tokens+=("$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"many-$m@example.com\",\"password\":\"correct horse battery\"}" | json '["access_token"]')")
done
psql -q -v ON_ERROR_STOP=1 -d "$db" \
  -c "UPDATE users SET plan = 'enterprise', updated_at = now() WHERE email LIKE 'many-%'" \
  -c "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, status, plan,
        current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at)
      SELECT gen_random_uuid(), id, NULL, 'active'::subscriptionstatus, 'enterprise'::plantier, now(),
        now() + interval '1 month', false, now(), now() FROM users WHERE email LIKE 'many-%'"
for m in $(seq 32); do
  accounts+=("$(curl -sf -X POST "$api/accounts" -H "authorization: Bearer ${tokens[m - 1]}" \
    -H 'content-type: application/json' \
    -d "{\"platform\":\"facebook\",\"account_name\":\"@many$m\",\"account_id_external\":\"many$m\"}" | json '["id"]')")
done
# The same history as benches/scale-seed.sh writes for postpilot, in the seed's tables.
step="(31536000.0 / greatest($posts, 1))"
psql -q -v ON_ERROR_STOP=1 -d "$db" -c "INSERT INTO posts (id, user_id, account_id, content,
    media_urls, hashtags, platform, status, scheduled_for, posted_at, error_message, created_at,
    updated_at)
  SELECT gen_random_uuid(), '$user'::uuid, '$account'::uuid, 'Seeded post ' || n, '{}'::varchar[],
         '{}'::varchar[], CASE WHEN n % 10 = 0 THEN 'instagram' ELSE 'facebook' END,
         (CASE WHEN n % 20 < 16 THEN 'posted' WHEN n % 20 < 19 THEN 'draft' ELSE 'failed' END)::poststatus,
         CASE WHEN n % 20 < 16 THEN now() - make_interval(secs => n * $step) + interval '1 hour' END,
         CASE WHEN n % 20 < 16 THEN now() - make_interval(secs => n * $step) + interval '1 hour' END,
         CASE WHEN n % 20 = 19 THEN 'refused by the platform' END,
         now() - make_interval(secs => n * $step), now() - make_interval(secs => n * $step)
  FROM generate_series(1, $posts) n
  UNION ALL
  SELECT gen_random_uuid(), '$user'::uuid, '$account'::uuid, 'Next week ' || k, '{}'::varchar[],
         '{}'::varchar[], 'facebook', 'scheduled',
         date_trunc('hour', now()) + interval '7 days' + make_interval(hours => k), NULL, NULL,
         now(), now()
  FROM generate_series(1, 100) k" \
  -c "INSERT INTO post_metrics (id, post_id, impressions, reach, likes, comments, shares, clicks,
        fetched_at)
      SELECT gen_random_uuid(), id, 1000 + abs(hashtext(id::text)) % 9000, 800,
             40 + abs(hashtext(content)) % 60, 5, 3, 11, now()
      FROM posts WHERE user_id = '$user' AND status = 'posted'" \
  -c "VACUUM ANALYZE" -c "CHECKPOINT"
# The seed's create also names the platform, as its create_post takes it.
ready seed "{\"account_id\":\"ACCOUNT\",\"platform\":\"facebook\",\"content\":\"Load test post\",\"media_urls\":[\"https://cdn.example.com/a.jpg\"],\"hashtags\":[\"sale\"]}"

# --- postpilot-server (release), as benches/scale-run.sh sets it up. -------------------------
db="postpilot_seed_compare_$$"
psql -q -c "CREATE DATABASE $db"
export DATABASE_URL="${base_url%/*}/$db"
server_env
port=$(free_port)
export POSTPILOT_ADDR="127.0.0.1:$port"
api="http://127.0.0.1:$port/api/v1"
$server migrate
# As deployed: the server sets glibc's malloc itself (GLIBC_TUNABLES, docs/OPERATIONS.md),
# unless GLIBC_TUNABLES is set in the environment of this script.
$server serve &
pid=$! && pids[postpilot]=$pid
wait_for "$api/health"

read -r token account user <<< "$(merchant one)"
tokens=() accounts=()
for m in $(seq 32); do
  read -r t a _ <<< "$(merchant "many-$m")"
  tokens+=("$t") accounts+=("$a")
done
PGDATABASE=$db bash benches/scale-seed.sh "$user" "$account" "$posts"
psql -q -v ON_ERROR_STOP=1 -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
ready postpilot "{\"account_id\":\"ACCOUNT\",\"content\":\"Load test post\",\"media_urls\":[\"https://cdn.example.com/a.jpg\"],\"hashtags\":[\"sale\"]}"

# --- The loads: the list in turns, then the creates, one stack at a time. ---------------------
for stack in seed postpilot; do
  use "$stack"
  reset_peak
  fig[$stack.rest]=$(rss_mib VmRSS)
done
for round in $(seq "$rounds"); do
  for stack in seed postpilot; do
    use "$stack"
    measure "$stack" "list$round" -H "authorization: Bearer $token" "$api/posts?per_page=20"
  done
done
for stack in seed postpilot; do
  creates "$stack"
  fig[$stack.peak]=$(rss_mib VmHWM)
done
for stack in seed postpilot; do
  for metric in rps p99 cpu pgcpu; do
    values=()
    for round in $(seq "$rounds"); do values+=("${fig[$stack.list$round.$metric]}"); done
    fig[$stack.list.$metric]=$(median "${values[@]}")
  done
done

# --- The table. -------------------------------------------------------------------------------
number() { # three significant figures, no exponent
  awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x
    if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x
    else if (a >= 1) printf "%.2f", x; else printf "%.3g", x }'
}
row() { # <label> <unit> <seed figure> <postpilot figure>
  echo "| $1 | $(number "$3")$2 | $(number "$4")$2 | $(number "$(awk -v s="$3" -v p="$4" 'BEGIN {print p / s}')") |"
}
versions=$("$venv/bin/python" -c 'import sys, fastapi, sqlalchemy, asyncpg, pydantic, uvicorn
print("Python %s, FastAPI %s, SQLAlchemy %s, asyncpg %s, pydantic %s, uvicorn %s" % (
    sys.version.split()[0], fastapi.__version__, sqlalchemy.__version__, asyncpg.__version__,
    pydantic.VERSION, uvicorn.__version__))')
pg_version=$(psql -tA -c 'SHOW server_version' | cut -d' ' -f1)
echo "The seed stack (benches/seed-stack/app.py: $versions;"
echo "one uvicorn worker on uvloop + httptools) beside postpilot-server (release), each on its own"
echo "database of one PostgreSQL $pg_version (fsync on) holding one enterprise merchant with $posts"
echo "posts (+ 100 scheduled) on one account, and 32 more enterprise merchants with an account each;"
echo "$(nproc) cores. wrk -t2 -c$connections -d${seconds}s --latency after 2 s of warm-up: GET on each stack in turn,"
echo "$rounds rounds (the GET rows give the median of each figure), then POST as the one merchant,"
echo "then POST by each of the 32 in turn. Server CPU: user + system time of the"
echo "server process per request; PostgreSQL CPU: the same for all PostgreSQL processes and the"
echo "backends that ended meanwhile. RSS at rest: after the merchants were set up; peak: under the"
echo "three loads."
echo
echo "| endpoint | seed stack | postpilot | ratio (postpilot ÷ seed) |"
echo "|---|---|---|---|"
for name in list create create32; do
  case $name in
    list) endpoint="GET /api/v1/posts?per_page=20" ;;
    create) endpoint="POST /api/v1/posts" ;;
    create32) endpoint="POST /api/v1/posts over 32 merchants" ;;
  esac
  row "$endpoint: req/s" "" "${fig[seed.$name.rps]}" "${fig[postpilot.$name.rps]}"
  row "$endpoint: p99" " ms" "${fig[seed.$name.p99]}" "${fig[postpilot.$name.p99]}"
  row "$endpoint: server CPU per request" " ms" "${fig[seed.$name.cpu]}" "${fig[postpilot.$name.cpu]}"
  row "$endpoint: PostgreSQL CPU per request" " ms" "${fig[seed.$name.pgcpu]}" "${fig[postpilot.$name.pgcpu]}"
done
row "server RSS at rest (VmRSS)" " MiB" "${fig[seed.rest]}" "${fig[postpilot.rest]}"
row "server peak RSS under the three loads (VmHWM)" " MiB" "${fig[seed.peak]}" "${fig[postpilot.peak]}"
echo
echo "GET /api/v1/posts?per_page=20 by round, seed → postpilot req/s (ratio):"
for round in $(seq "$rounds"); do
  seed_rps=${fig[seed.list$round.rps]} postpilot_rps=${fig[postpilot.list$round.rps]}
  echo "- $round: $(number "$seed_rps") → $(number "$postpilot_rps") ($(number "$(awk -v s="$seed_rps" -v p="$postpilot_rps" 'BEGIN {print p / s}')")×)"
done
