#!/usr/bin/env bash
# The dashboard's pages under load, beside the JSON API serving the same data in the same run:
#
#   bash benches/pages.sh [seconds=5] [connections=4]
#
# Builds postpilot-server in release, serves it in memory, registers an enterprise merchant
# through the registration form (a cookie session), connects one account, generates 50 queue
# items and schedules 500 posts across next month (the calendar's budget) in Europe/Paris, then runs
# wrk against every page with the session cookie, and against GET /api/v1/queue?per_page=50 with
# a bearer token as the baseline (the same service call, JSON instead of HTML). Prints the render
# latencies and each page's bytes (HTML, CSS and JS; gzip -6 as a server would send them; fonts
# apart) as Markdown for docs/BENCHMARKS.md. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
connections=${2:-4}
command -v wrk >/dev/null || { echo "benches/pages.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p examples --bin postpilot-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
work=$(mktemp -d)
POSTPILOT_ADDR="127.0.0.1:$port" POSTPILOT_RATE_LIMIT_PER_MIN=100000000 \
  POSTPILOT_AUTH_RATE_LIMIT_PER_MIN=100000 RUST_LOG=error ./target/release/postpilot-server serve &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "$base/api/v1/health" >/dev/null && break; sleep 0.1; done

jar="$work/cookies"
csrf() { awk '$6 == "pp_csrf" {print $7}' "$jar"; }
curl -sf -c "$jar" "$base/register" > /dev/null
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$base/register" \
  --data-urlencode "email=pages@example.com" --data-urlencode "password=correct horse battery" \
  --data-urlencode "csrf=$(csrf)"
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$base/app/billing/checkout" \
  --data-urlencode "plan=enterprise" --data-urlencode "csrf=$(csrf)"
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$base/app/settings/time-zone" \
  --data-urlencode "time_zone=Europe/Paris" --data-urlencode "csrf=$(csrf)"
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$base/app/templates" \
  --data-urlencode "name=Launch" --data-urlencode "body=New: {title} for {price}" \
  --data-urlencode "csrf=$(csrf)"
curl -sf -b "$jar" -c "$jar" -o /dev/null -X POST "$base/app/accounts" \
  --data-urlencode "platform=facebook" --data-urlencode "account_name=@pages" \
  --data-urlencode "account_id_external=pages-1" --data-urlencode "csrf=$(csrf)"
for n in $(seq 50); do
  curl -sf -b "$jar" -o /dev/null -X POST "$base/app/queue/generate" \
    --data-urlencode "title=Product $n" --data-urlencode "price=19.99" --data-urlencode "currency=USD" \
    --data-urlencode "platform=facebook" --data-urlencode "csrf=$(csrf)"
done
item=$(curl -sf -b "$jar" "$base/app/queue" | grep -o '/app/queue/[0-9a-f-]\{36\}' | sed -n 1p)
token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"pages@example.com","password":"correct horse battery"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
cookie="pp_session=$(awk '$6 == "pp_session" {print $7}' "$jar")"
account=$(curl -sf -H "authorization: Bearer $token" "$base/api/v1/accounts" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
next_month=$(python3 -c 'import datetime as d; t = d.date.today().replace(day=1) + d.timedelta(days=32); print(t.strftime("%Y-%m"))')
for n in $(seq 0 499); do
  day=$(( n % 28 + 1 )); hour=$(( n % 24 )); minute=$(( n % 60 ))
  at=$(printf '%s-%02dT%02d:%02d:00Z' "$next_month" "$day" "$hour" "$minute")
  curl -sf -o /dev/null -X POST "$base/api/v1/posts" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"account_id\":\"$account\",\"content\":\"Post $n of the month\",\"scheduled_for\":\"$at\"}"
done

# Bytes a page costs: its HTML, and the stylesheet and script it links (fonts apart).
bytes() {
  local html="$work/page.html" css js
  curl -sf -H "cookie: $cookie" "$base$1" > "$html"
  css=$(grep -o '/assets/app\.[0-9a-f]*\.css' "$html" | sed -n 1p)
  js=$(grep -o '/assets/app\.[0-9a-f]*\.js' "$html" | sed -n 1p)
  curl -sf "$base$css" > "$work/app.css"
  curl -sf "$base$js" > "$work/app.js"
  local raw gz
  raw=$(cat "$html" "$work/app.css" "$work/app.js" | wc -c)
  gz=$(( $(gzip -6 -c "$html" | wc -c) + $(gzip -6 -c "$work/app.css" | wc -c) + $(gzip -6 -c "$work/app.js" | wc -c) ))
  echo "$(wc -c < "$html") | $raw | $gz"
}

run() {
  local label=$1 path=$2 header=$3 size=$4
  local out
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "$header" "$base$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print int($2)}' <<< "$out")
  p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  echo "| $label | $rps | $p50 | $p99 | $size |"
}

echo "| page | req/s | p50 | p99 | HTML bytes | HTML + CSS + JS bytes | the same, gzip -6 |"
echo "|---|---|---|---|---|---|---|"
calendar="/app/calendar?month=$next_month"
week="/app/calendar?week=$next_month-08"
post=$(curl -sf -H "authorization: Bearer $token" "$base/api/v1/posts?per_page=1" |
  python3 -c 'import json,sys; print("/app/posts/" + json.load(sys.stdin)["items"][0]["id"])')
for page in "/" "/pricing" "/login" "/app" "/app/queue" "$item" "$calendar" "$week" "/app/posts" \
  "$post" "/app/analytics" "/app/templates" "/app/accounts" "/app/billing" "/app/api-keys" \
  "/app/settings"; do
  label=$page
  [ "$page" = "$item" ] && label="/app/queue/{id}"
  [ "$page" = "$calendar" ] && label="/app/calendar (month, 500 posts)"
  [ "$page" = "$week" ] && label="/app/calendar?week= (a week of them)"
  [ "$page" = "$post" ] && label="/app/posts/{id}"
  run "$label" "$page" "cookie: $cookie" "$(bytes "$page")"
done
json_bytes=$(curl -sf -H "authorization: Bearer $token" "$base/api/v1/queue?per_page=50" | wc -c)
run "baseline: GET /api/v1/queue?per_page=50 (JSON)" "/api/v1/queue?per_page=50" \
  "authorization: Bearer $token" "$json_bytes | — | —"
