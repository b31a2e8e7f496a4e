#!/usr/bin/env bash
# The plans of the statements a merchant's requests and the dispatcher's claim send, on a
# merchant with a large history (issue 18):
#
#   bash benches/explain.sh [posts=1000000]
#
# Seeds one merchant by COPY (benches/scale-seed.sh) on a throwaway PostgreSQL, adds 1,000 posts
# due now for the claim, then prints EXPLAIN (ANALYZE, BUFFERS) of: a page of the post list, the
# page after a cursor deep in the list, the list filtered by status, the calendar of next week,
# the analytics overview, the monthly quota's row, and both claims. Every plan should read a
# page's worth of rows whatever [posts] is.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-1000000}
exec bash .ci/with-postgres bash -c '
set -euo pipefail
posts=$1
bash benches/bare-merchant.sh explain
user=00000000-0000-4000-8000-000000000001
account=00000000-0000-4000-8000-000000000002
bash benches/scale-seed.sh "$user" "$account" "$posts"
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO posts (id, user_id, account_id, platform, content, status, scheduled_for, created_at, updated_at)
  SELECT gen_random_uuid(), '"'"'$user'"'"', '"'"'$account'"'"', '"'"'facebook'"'"', '"'"'due '"'"' || n, '"'"'scheduled'"'"',
         now() - make_interval(secs => n), now(), now()
  FROM generate_series(1, 1000) n;
VACUUM ANALYZE;
SQL
deep=$(psql -tA -c "SELECT created_at || '"'"'|'"'"' || id FROM posts WHERE user_id = '"'"'$user'"'"' ORDER BY created_at DESC, id DESC OFFSET ($posts / 2) LIMIT 1")
deep_at=${deep%|*} deep_id=${deep#*|}
columns="id, user_id, account_id, queue_item_id, platform, content, media_urls, hashtags, status, scheduled_for, next_attempt_at, attempts, lease_owner, lease_expires_at, lease_token, posted_at, external_id, external_url, error_message, created_at, updated_at, publish_checkpoint, held_for_reconnect, on_slot, product"
total="(SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = \$1 AND (\$2::text IS NULL OR status = \$2) AND (\$3::text IS NULL OR platform = \$3))"
page() { echo "SELECT $columns, $total AS total, created_at AS page_at, id AS page_id FROM posts WHERE user_id = \$1 AND $1 AND (created_at, id) < (\$4, \$5) ORDER BY $2 created_at DESC, id DESC LIMIT \$6 OFFSET \$7"; }
list=$(page "\$2::text IS NULL AND \$3::text IS NULL" "")
by_status=$(page "status = \$2 AND \$3::text IS NULL" "status,")
by_both=$(page "status = \$2 AND platform = \$3" "status, platform,")
claim_tail="UPDATE posts AS p SET status = '"'"'publishing'"'"', lease_owner = '"'"'w'"'"', lease_expires_at = now() + interval '"'"'1 minute'"'"', lease_token = p.lease_token + 1, updated_at = now() FROM due WHERE p.id = due.id RETURNING p.id"
explain() {
  echo
  echo "### $1"
  echo
  echo "\`\`\`"
  psql -q -v ON_ERROR_STOP=1 <<SQL | sed "/^$/d"
SET plan_cache_mode = force_generic_plan;
SET max_parallel_workers_per_gather = 0;
PREPARE q AS $2;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) EXECUTE q$3;
ROLLBACK;
SQL
  echo "\`\`\`"
}
u="'"'"'$user'"'"'"
echo "## Plans at $posts posts of one merchant (generic plans and no parallel workers, as every store session runs them)"
explain "GET /posts: page 1 of 20, with the total" "$list" "($u, NULL, NULL, '"'"'9999-12-31T23:59:59Z'"'"', '"'"'ffffffff-ffff-ffff-ffff-ffffffffffff'"'"', 21, 0)"
explain "GET /posts?after=: the page after a cursor halfway down the list" "$list" "($u, NULL, NULL, '"'"'$deep_at'"'"', '"'"'$deep_id'"'"', 21, 0)"
explain "GET /posts?page=5000: the same depth by number (OFFSET), for comparison" "$list" "($u, NULL, NULL, '"'"'9999-12-31T23:59:59Z'"'"', '"'"'ffffffff-ffff-ffff-ffff-ffffffffffff'"'"', 21, $((posts / 2)))"
explain "GET /posts?status=failed: page 1, filtered (5 % of the posts)" "$by_status" "($u, '"'"'failed'"'"', NULL, '"'"'9999-12-31T23:59:59Z'"'"', '"'"'ffffffff-ffff-ffff-ffff-ffffffffffff'"'"', 21, 0)"
explain "GET /posts?status=posted&platform=instagram: page 1 (10 % of the posts)" "$by_both" "($u, '"'"'posted'"'"', '"'"'instagram'"'"', '"'"'9999-12-31T23:59:59Z'"'"', '"'"'ffffffff-ffff-ffff-ffff-ffffffffffff'"'"', 21, 0)"
explain "GET /posts/calendar: next week (100 posts)" "SELECT $columns FROM posts WHERE user_id = \$1 AND scheduled_for >= \$2 AND scheduled_for < \$3 ORDER BY scheduled_for, id" "($u, now() + interval '"'"'7 days'"'"', now() + interval '"'"'14 days'"'"')"
explain "GET /analytics/posts: page 1 of the metrics, latest published first" "SELECT m.post_id, m.user_id, m.impressions, m.reach, m.likes, m.comments, m.shares, m.clicks, m.engagement_rate, m.fetched_at, p.posted_at AS page_at, p.id AS page_id FROM posts AS p JOIN post_metrics AS m ON m.post_id = p.id WHERE p.user_id = \$1 AND p.posted_at IS NOT NULL AND (p.posted_at, p.id) < (\$2, \$3) ORDER BY p.posted_at DESC, p.id DESC LIMIT \$4 OFFSET \$5" "($u, '"'"'9999-12-31T23:59:59Z'"'"', '"'"'ffffffff-ffff-ffff-ffff-ffffffffffff'"'"', 21, 0)"
explain "GET /analytics/overview" "SELECT coalesce(t.impressions, 0)::bigint AS impressions, coalesce(t.posts, 0) AS rows, coalesce(t.rate_nanos, 0)::text AS rate_nanos, (SELECT coalesce(sum(n), 0)::bigint FROM post_counts WHERE user_id = \$1 AND status = '"'"'posted'"'"') AS posts_published FROM (SELECT 1) AS one LEFT JOIN metric_totals AS t ON t.user_id = \$1" "($u)"
explain "POST /posts under a cap: the month'"'"'s quota row" "INSERT INTO monthly_posts AS m (user_id, month, n) VALUES (\$1, \$2, 0) ON CONFLICT (user_id, month) DO UPDATE SET n = m.n RETURNING n" "($u, date_trunc('"'"'month'"'"', now(), '"'"'UTC'"'"'))"
explain "The dispatcher'"'"'s claim: 100 oldest due posts" "WITH due AS (SELECT id, status AS previous, due_at FROM posts WHERE due_at <= \$1 ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED) $claim_tail" "(now())"
' _ "$posts"
