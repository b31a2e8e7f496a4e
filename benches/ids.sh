#!/usr/bin/env bash
# Does a random (v4) primary key make the create cost more on a merchant with a large history?
#
#   bash benches/ids.sh [posts=1000000] [rounds=3] [seconds=10]
#
# A random id puts each insert on a random leaf of the posts' primary key; once that index
# outgrows the cache, or after each checkpoint (whose first change to a page writes the whole page
# to the WAL), that could cost what a time-ordered id (UUID v7 layout: milliseconds first) does
# not. On a throwaway PostgreSQL (fsync on) with the migrations applied and one merchant with
# <posts> posts written by COPY (benches/scale-seed.sh), pgbench runs the create's INSERT (the same
# statement benches/scale-run.sh sends) with `gen_random_uuid()` ids and with time-ordered ones,
# the two taking turns and each round's first alternating, after a CHECKPOINT each: tx/s and the
# WAL written. Prints a Markdown table for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-1000000}
rounds=${2:-3}
seconds=${3:-10}
export POSTPILOT_PG_DURABLE=1
exec bash .ci/with-postgres bash -c '
set -euo pipefail
posts=$1 rounds=$2 seconds=$3
bash benches/bare-merchant.sh ids
user=00000000-0000-4000-8000-000000000001
account=00000000-0000-4000-8000-000000000002
psql -q -v ON_ERROR_STOP=1 <<SQL
-- A UUID whose first 48 bits are the milliseconds since 1970, the rest random (v7 layout).
CREATE FUNCTION time_ordered_uuid() RETURNS uuid LANGUAGE sql VOLATILE AS \$\$
  SELECT encode(overlay(uuid_send(gen_random_uuid()) PLACING
    substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
    FROM 1 FOR 6), '"'"'hex'"'"')::uuid
\$\$;
SQL
bash benches/scale-seed.sh "$user" "$account" "$posts" > /dev/null
psql -q -c "VACUUM ANALYZE"
work=$(mktemp -d)
trap "rm -rf $work" EXIT
for id in gen_random_uuid time_ordered_uuid; do
  cat > "$work/$id.sql" <<SQL
BEGIN;
INSERT INTO posts (id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, on_slot, product) VALUES ($id(), '"'"'$user'"'"', '"'"'$account'"'"', NULL, '"'"'facebook'"'"', '"'"'Load test post'"'"', '"'"'{https://cdn.example.com/a.jpg}'"'"', '"'"'{sale}'"'"', '"'"'draft'"'"', NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, now(), now(), NULL, false, NULL);
COMMIT;
SQL
done
echo "pgbench -M prepared -c32 -j2 -T$seconds, the create INSERT on one merchant with $posts posts, after a CHECKPOINT each (tx/s | WAL written):"
echo
echo "| round | random ids (v4) | | time-ordered ids (v7 layout) | |"
echo "|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  order="gen_random_uuid time_ordered_uuid"
  [ $((round % 2)) = 0 ] && order="time_ordered_uuid gen_random_uuid"
  declare -A cell
  for id in $order; do
    psql -q -c CHECKPOINT
    before=$(psql -tA -c "SELECT pg_current_wal_lsn()")
    tps=$(pgbench -n -M prepared -c 32 -j 2 -T "$seconds" -f "$work/$id.sql" 2>/dev/null | awk "/^tps/ {printf \"%.0f\", \$3}")
    wal=$(psql -tA -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '"'"'$before'"'"') / 1048576)")
    cell[$id]="$tps | $wal MiB"
  done
  echo "| $round | ${cell[gen_random_uuid]} | ${cell[time_ordered_uuid]} |"
done
' ids "$posts" "$rounds" "$seconds"
