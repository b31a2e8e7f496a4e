-- The dashboard's analytics: a merchant's posts published in a range of days (engagement over
-- time) and their posts with the most interactions (top posts), each read through an index in
-- the order it is asked for, whatever the merchant's history holds. posted_at is set exactly on
-- published posts (posts_posted_at_check).
CREATE INDEX posts_user_published_idx ON posts (user_id, posted_at) WHERE posted_at IS NOT NULL;
CREATE INDEX post_metrics_user_top_idx
    ON post_metrics (user_id, (likes + comments + shares + clicks) DESC, impressions DESC, post_id DESC);
