#!/usr/bin/env bash
# Writes a merchant's history by COPY, quickly, into the database psql reaches:
#
#   bash benches/scale-seed.sh <user id> <account id> <posts>
#
# The posts: 80 % published (with metrics), 15 % drafts, 5 % failed, one in ten on Instagram
# (the account's platform does not matter to the store's reads), created one every
# 31,536,000 / <posts> seconds over the past year; plus 100 posts scheduled next week, one an
# hour from seven days ahead, whatever <posts> is. The counters (post_counts, monthly_posts,
# metric_totals) are kept by the triggers as COPY writes. About 20 s per million posts here.
set -euo pipefail
user=$1 account=$2 posts=$3
step="(31536000.0 / greatest($posts, 1))"
psql -q -v ON_ERROR_STOP=1 -c "COPY (
  SELECT gen_random_uuid(), '$user', '$account',
         CASE WHEN n % 10 = 0 THEN 'instagram' ELSE 'facebook' END, 'Seeded post ' || n,
         CASE WHEN n % 20 < 16 THEN 'posted' WHEN n % 20 < 19 THEN 'draft' ELSE 'failed' END,
         CASE WHEN n % 20 < 16 THEN now() - make_interval(secs => n * $step) + interval '1 hour' END,
         CASE WHEN n % 20 < 16 THEN now() - make_interval(secs => n * $step) + interval '1 hour' END,
         CASE WHEN n % 20 = 19 THEN 'refused by the platform' END,
         now() - make_interval(secs => n * $step), now() - make_interval(secs => n * $step)
  FROM generate_series(1, $posts) n
  UNION ALL
  SELECT gen_random_uuid(), '$user', '$account', 'facebook', 'Next week ' || k, 'scheduled',
         date_trunc('hour', now()) + interval '7 days' + make_interval(hours => k), NULL, NULL,
         now(), now()
  FROM generate_series(1, 100) k
) TO STDOUT" | psql -q -v ON_ERROR_STOP=1 -c "COPY posts (id, user_id, account_id, platform,
  content, status, scheduled_for, posted_at, error_message, created_at, updated_at) FROM STDIN"
psql -q -v ON_ERROR_STOP=1 -c "COPY (
  SELECT id, user_id, 1000 + abs(hashtext(id::text)) % 9000, 800, 40 + abs(hashtext(content)) % 60,
         5, 3, 11, 0, now()
  FROM posts WHERE user_id = '$user' AND status = 'posted'
) TO STDOUT" | psql -q -v ON_ERROR_STOP=1 -c "COPY post_metrics (post_id, user_id, impressions,
  reach, likes, comments, shares, clicks, engagement_rate, fetched_at) FROM STDIN"
