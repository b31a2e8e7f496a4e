#!/usr/bin/env bash
# The two claim statements (postpilot-sqlx/src/posts.rs, `PgStore::claim`) on a throwaway
# PostgreSQL, timed by pgbench beside each other:
#
#   bash benches/claim-sql.sh [due posts, default 100000] [accounts, default 1000] [seconds, default 10]
#
# Seeds that many due posts spread over that many accounts, then runs, each for the given time on
# one client, a transaction that claims 100 posts the plain way (oldest due first) or by account
# (100 accounts, 1 or up to 10 posts of each, among the 100 × k oldest due, 50 busy accounts
# skipped: the worker's claim; with the default seeding, 100 posts a claim each) and
# rolls back, so
# every transaction sees the same table.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-100000}
accounts=${2:-1000}
seconds=${3:-10}
exec bash .ci/with-postgres bash -c '
set -euo pipefail
posts=$1 accounts=$2 seconds=$3
work=$(mktemp -d)
trap "rm -rf $work" EXIT
for f in postpilot-sqlx/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -f "$f" > /dev/null; done
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, email, password_hash, created_at, updated_at)
  SELECT md5(n::text)::uuid, n || '"'"'@example.com'"'"', '"'"'x'"'"', now(), now() FROM generate_series(1, $accounts) n;
INSERT INTO social_accounts (id, user_id, platform, account_name, account_id_external, created_at)
  SELECT md5('"'"'a'"'"' || n)::uuid, md5(n::text)::uuid, '"'"'facebook'"'"', '"'"'bench'"'"', '"'"'ext-'"'"' || n, now()
  FROM generate_series(1, $accounts) n;
INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, created_at, updated_at)
  SELECT gen_random_uuid(), md5((n % $accounts + 1)::text)::uuid, md5('"'"'a'"'"' || (n % $accounts + 1))::uuid,
         '"'"'facebook'"'"', '"'"'due '"'"' || n, '"'"'scheduled'"'"', now() - make_interval(secs => n), now(), now()
  FROM generate_series(1, $posts) n;
VACUUM ANALYZE;
SQL
claim_tail="UPDATE posts AS p SET status = '"'"'publishing'"'"', lease_owner = '"'"'bench'"'"', lease_expires_at = now() + interval '"'"'60 seconds'"'"', lease_token = p.lease_token + 1, updated_at = now() FROM due WHERE p.id = due.id RETURNING p.id, due.previous = '"'"'publishing'"'"' AS rescued, due.due_at AS was_due_at"
cat > "$work/plain.sql" <<SQL
BEGIN;
WITH due AS (SELECT id, status AS previous, due_at FROM posts WHERE due_at <= now() ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED) $claim_tail;
ROLLBACK;
SQL
for k in 1 10; do
cat > "$work/lanes_of_$k.sql" <<SQL
BEGIN;
WITH candidates AS (SELECT id, account_id, due_at, row_number() OVER (PARTITION BY account_id ORDER BY due_at, id) AS n FROM (SELECT id, account_id, due_at FROM posts WHERE due_at <= now() AND account_id <> ALL(ARRAY(SELECT md5('"'"'a'"'"' || n)::uuid FROM generate_series(1, 50) n)) ORDER BY due_at, id LIMIT $((100 * k))) AS oldest),
accounts AS (SELECT account_id FROM candidates WHERE n = 1 ORDER BY due_at, id LIMIT 100),
due AS (SELECT p.id, p.status AS previous, p.due_at FROM posts p JOIN candidates c ON c.id = p.id AND c.n <= $k JOIN accounts a ON a.account_id = c.account_id WHERE p.due_at <= now() ORDER BY p.due_at, p.id FOR UPDATE OF p SKIP LOCKED) $claim_tail;
ROLLBACK;
SQL
done
echo "$posts due posts over $accounts accounts, one client, $seconds s each:"
for kind in plain lanes_of_1 lanes_of_10; do
  tps=$(pgbench -n -c 1 -T "$seconds" -f "$work/$kind.sql" 2>/dev/null | sed -n "s/^tps = \([0-9.]*\).*/\1/p")
  printf "  %-12s %8.1f claims/s  %.2f ms per claim\n" "$kind" "$tps" "$(echo "1000 / $tps" | bc -l)"
done
' _ "$posts" "$accounts" "$seconds"
