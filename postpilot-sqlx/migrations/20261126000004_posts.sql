-- Posts, and the scheduler's claim queue.
--
-- status follows the domain state machine (draft, scheduled, publishing, posted, failed). A
-- worker claims a due post by moving it to publishing with a lease (owner, expiry) and an
-- incremented lease_token; its outcome is committed only under that token (fencing), so a worker
-- whose lease lapsed and was rescued by another changes nothing.
--
-- due_at is when the row next becomes claimable: its retry time or scheduled time while
-- scheduled, its lease expiry while publishing. It is computed by the database, so the claim
-- query and its index cannot disagree with the row.
CREATE TABLE posts (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id       uuid        NOT NULL REFERENCES social_accounts (id) ON DELETE CASCADE,
    queue_item_id    uuid        REFERENCES content_queue (id) ON DELETE SET NULL,
    platform         text        NOT NULL,
    content          text        NOT NULL,
    media_urls       text[]      NOT NULL DEFAULT '{}',
    hashtags         text[]      NOT NULL DEFAULT '{}',
    status           text        NOT NULL,
    scheduled_for    timestamptz,
    next_attempt_at  timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    lease_token      bigint      NOT NULL DEFAULT 0,
    posted_at        timestamptz,
    external_id      text,
    external_url     text,
    error_message    text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    due_at           timestamptz GENERATED ALWAYS AS (
        CASE status
            WHEN 'scheduled' THEN coalesce(next_attempt_at, scheduled_for)
            WHEN 'publishing' THEN lease_expires_at
        END
    ) STORED,
    CONSTRAINT posts_platform_check CHECK (platform IN ('instagram', 'facebook', 'tiktok')),
    CONSTRAINT posts_status_check CHECK (status IN ('draft', 'scheduled', 'publishing', 'posted', 'failed')),
    CONSTRAINT posts_lease_check CHECK ((status = 'publishing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT posts_scheduled_check CHECK (status <> 'scheduled' OR scheduled_for IS NOT NULL),
    CONSTRAINT posts_attempts_check CHECK (attempts >= 0)
)
-- A claim queue churns: every claim and outcome leaves a dead tuple, and dead entries at the head
-- of the due index slow every claim (ENVIRONMENT.md measured -40 % in 20 s). Vacuum this table
-- early and without throttling.
WITH (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.02,
    fillfactor = 85
);

-- The claim queue: only rows that can become claimable are indexed, so the index stays small
-- however many posts have been published.
CREATE INDEX posts_due_idx ON posts (due_at, id) WHERE status IN ('scheduled', 'publishing');
-- The owner's list (newest first), its filters, and the monthly quota count (created_at range).
CREATE INDEX posts_user_created_idx ON posts (user_id, created_at DESC, id DESC);
CREATE INDEX posts_user_status_idx ON posts (user_id, status, created_at DESC, id DESC);
CREATE INDEX posts_user_platform_idx ON posts (user_id, platform, created_at DESC, id DESC);
-- The calendar: the owner's posts by time.
CREATE INDEX posts_user_scheduled_idx ON posts (user_id, scheduled_for) WHERE scheduled_for IS NOT NULL;
-- Posts of an account (reconnect failures) and of a queue item (the item becomes posted).
CREATE INDEX posts_account_idx ON posts (account_id, status);
CREATE INDEX posts_queue_item_idx ON posts (queue_item_id) WHERE queue_item_id IS NOT NULL;
-- The metrics job walks published posts.
CREATE INDEX posts_posted_idx ON posts (posted_at, id) WHERE status = 'posted';
