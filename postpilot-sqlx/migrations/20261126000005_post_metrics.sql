-- The latest metrics of each published post (one row per post, replaced on every refresh).
-- user_id is denormalised so every read is scoped by owner without a join.
CREATE TABLE post_metrics (
    post_id         uuid             PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    user_id         uuid             NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    impressions     bigint           NOT NULL DEFAULT 0,
    reach           bigint           NOT NULL DEFAULT 0,
    likes           bigint           NOT NULL DEFAULT 0,
    comments        bigint           NOT NULL DEFAULT 0,
    shares          bigint           NOT NULL DEFAULT 0,
    clicks          bigint           NOT NULL DEFAULT 0,
    engagement_rate double precision NOT NULL DEFAULT 0,
    fetched_at      timestamptz      NOT NULL,
    CONSTRAINT post_metrics_counts_check CHECK (
        impressions >= 0 AND reach >= 0 AND likes >= 0 AND comments >= 0 AND shares >= 0 AND clicks >= 0
    )
);

CREATE INDEX post_metrics_user_idx ON post_metrics (user_id);
-- The metrics job: oldest refresh first.
CREATE INDEX post_metrics_fetched_idx ON post_metrics (fetched_at);
