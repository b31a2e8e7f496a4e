#!/usr/bin/env bash
# A 10,000-row CSV import on PostgreSQL through the running server, beside COPY of the same rows
# into the same posts table in the same run:
#
#   bash benches/import.sh [rows=10000]
#
# Builds postpilot-server in release, starts a throwaway PostgreSQL with default durability
# (fsync on), migrates, serves on it (simulated publishers, mock billing), registers an enterprise
# merchant with one Facebook account, then
#   1. POSTs a CSV of `rows` drafts (mode all_or_nothing) and times it until its report says it
#      has ended (above 1,000 rows it runs in the background): parsing, checking every row
#      against the platform's rules, one transaction inserting the rows' references and posts;
#   2. POSTs 1,000 rows with time `next` for a second account with 21 slots a week, and times it
#      (the slot planner);
#   3. imports as many products (kind=products, each a pending queue item) and times it;
#   4. times `COPY posts (...) FROM STDIN` of the first file's captions as a second merchant's
#      drafts (psql), the floor for writing those rows;
# and prints a Markdown table for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  cargo build --release -q -p examples --bin postpilot-server
  exec env POSTPILOT_PG_DURABLE=1 bash .ci/with-postgres bash "$0" "$@"
fi
rows=${1:-10000}
server=./target/release/postpilot-server
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port/api/v1"
export POSTPILOT_ADDR="127.0.0.1:$port" POSTPILOT_PUBLISHERS=simulated POSTPILOT_BILLING=mock RUST_LOG=error
export POSTPILOT_JWT_SECRET=bench-jwt-secret-of-at-least-32-bytes-long
export POSTPILOT_TOKEN_KEY="k1:$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
"$server" migrate > /dev/null
"$server" serve &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

register() {
  curl -sf -X POST "$base/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
token=$(register import@example.com)
curl -sf -o /dev/null -X POST "$base/billing/checkout" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"plan":"enterprise"}'
curl -sf -o /dev/null -X POST "$base/accounts" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' \
  -d '{"platform":"facebook","account_name":"@shop","account_id_external":"shop-1"}'

python3 - "$rows" "$work" <<'PY'
import sys
rows, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/posts.csv", "w") as f:
    f.write("account,caption,hashtags,external_id\n")
    for i in range(rows):
        f.write(f"@shop,\"Aurora desk lamp, batch {i}: warm light for late nights\",lamp desk,sku-{i}\n")
PY

# Over 1,000 rows the import runs in the background (202): timed from the upload until its
# report, read every 20 ms, says it has ended. `timed_import FILE REPORT [QUERY]`.
timed_import() {
python3 - "$base" "$token" "$1" "$2" "${3:-}" <<'PY'
import json, sys, time, urllib.request
base, token, path, out, query = sys.argv[1:6]
auth = {"authorization": f"Bearer {token}"}
data = open(path, "rb").read()
start = time.monotonic()
request = urllib.request.Request(f"{base}/imports{query}", data=data, method="POST",
                                 headers={**auth, "content-type": "text/csv"})
with urllib.request.urlopen(request) as reply:
    report = json.load(reply)
while report["status"] == "running":
    time.sleep(0.02)
    with urllib.request.urlopen(urllib.request.Request(f"{base}/imports/{report['id']}", headers=auth)) as reply:
        report = json.load(reply)
print(time.monotonic() - start)
json.dump(report, open(out, "w"))
PY
}
import_seconds=$(timed_import "$work/posts.csv" "$work/report.json")
created=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["created"])' "$work/report.json")
[ "$created" = "$rows" ] || { echo "the import created $created of $rows rows" >&2; exit 1; }

# The same number of products, each a pending queue item.
python3 - "$rows" "$work" <<'PY'
import sys
rows, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/products.csv", "w") as f:
    f.write("title,price,currency,image_urls,features,tags,platforms,external_id\n")
    for i in range(rows):
        f.write(f"Aurora desk lamp {i},49.90,USD,https://cdn.example.com/lamp-{i}.jpg,Warm light | Dimmable,lamp desk,instagram facebook,sku-{i}\n")
PY
products_seconds=$(timed_import "$work/products.csv" "$work/products.json" "?kind=products")
made=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["created"])' "$work/products.json")
[ "$made" = "$rows" ] || { echo "the products import created $made of $rows rows" >&2; exit 1; }

# 1,000 rows onto an account's next free slots, three a day: the slot planner reads the
# account's posts a week at a time, once, for the whole file.
account2=$(curl -sf -X POST "$base/accounts" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' \
  -d '{"platform":"facebook","account_name":"@slots","account_id_external":"slots-1"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
slots=$(python3 -c 'import json; print(json.dumps({"time_zone": "Europe/Berlin", "slots": [f"{d} {t}" for d in ("mon","tue","wed","thu","fri","sat","sun") for t in ("09:00","13:00","18:00")]}))')
curl -sf -o /dev/null -X PUT "$base/accounts/$account2/schedule" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d "$slots"
python3 - "$work" <<'PY'
import sys
with open(f"{sys.argv[1]}/next.csv", "w") as f:
    f.write("account,caption,time\n")
    for i in range(1000):
        f.write(f"@slots,Slot post {i},next\n")
PY
next_seconds=$(curl -sf -o "$work/next.json" -w '%{time_total}' -X POST "$base/imports" \
  -H "authorization: Bearer $token" -H 'content-type: text/csv' --data-binary "@$work/next.csv")
placed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["created"])' "$work/next.json")
[ "$placed" = 1000 ] || { echo "the next-slot import created $placed of 1000 rows" >&2; exit 1; }

# The floor: the same captions COPYed as another merchant's drafts into the same table.
register copy@example.com > /dev/null
ids=$(psql "$DATABASE_URL" -Atc "SELECT u.id || ' ' || a.id FROM users u JOIN social_accounts a ON a.user_id = u.id WHERE u.email = 'import@example.com'")
set -- $ids
user=$1 account=$2
other=$(psql "$DATABASE_URL" -Atc "SELECT id FROM users WHERE email = 'copy@example.com'")
python3 - "$rows" "$work" "$other" "$account" <<'PY'
import sys, uuid
rows, work, user, account = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(f"{work}/copy.tsv", "w") as f:
    for i in range(rows):
        f.write(f"{uuid.uuid4()}\t{user}\t{account}\tfacebook\tAurora desk lamp, batch {i}: warm light for late nights\t{{lamp,desk}}\tdraft\t2026-12-01 00:00:00+00\t2026-12-01 00:00:00+00\n")
PY
start=$(date +%s.%N)
psql "$DATABASE_URL" -q -c "\\copy posts (id, user_id, account_id, platform, content, hashtags, status, created_at, updated_at) FROM '$work/copy.tsv'"
end=$(date +%s.%N)
copy_seconds=$(python3 -c "print($end - $start)")

python3 - "$rows" "$import_seconds" "$copy_seconds" "$next_seconds" "$products_seconds" <<'PY'
import sys
rows, imp, cp, nxt, prod = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"| what | {rows} rows | rows/s |")
print("|---|---|---|")
print(f"| `POST /imports` until its report has ended (CSV, all_or_nothing, checked and created in one transaction) | {imp:.2f} s | {rows / imp:,.0f} |")
print(f"| `\\copy posts FROM` the same rows (psql, the floor) | {cp:.2f} s | {rows / cp:,.0f} |")
print(f"| import ÷ COPY | {imp / cp:.1f}× | |")
print(f"| `POST /imports?kind=products` until its report has ended (each row a pending queue item) | {prod:.2f} s | {rows / prod:,.0f} |")
print(f"| `POST /imports` of 1,000 `next` rows onto 21 slots a week (about 48 weeks of slots) | {nxt:.2f} s | {1000 / nxt:,.0f} |")
PY
