-- The content queue: product data waiting to become posts. product_data is the validated JSON
-- the platform sent; ai_generated_content the caption (generated or written); generation counts
-- regenerations (the caption generator's variant).
CREATE TABLE content_queue (
    id                   uuid        PRIMARY KEY,
    user_id              uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_data         jsonb       NOT NULL,
    ai_generated_content text,
    hashtags             text[]      NOT NULL DEFAULT '{}',
    platforms            text[]      NOT NULL,
    tone                 text,
    generation           integer     NOT NULL DEFAULT 0,
    status               text        NOT NULL,
    rejection_reason     text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT content_queue_status_check CHECK (status IN ('pending', 'approved', 'rejected', 'posted')),
    CONSTRAINT content_queue_tone_check CHECK (tone IN ('professional', 'casual', 'playful', 'luxury', 'urgent')),
    CONSTRAINT content_queue_platforms_check CHECK (
        cardinality(platforms) > 0 AND platforms <@ ARRAY['instagram', 'facebook', 'tiktok']
    )
);

-- The owner's queue, newest first, all or by status.
CREATE INDEX content_queue_user_idx ON content_queue (user_id, created_at DESC, id DESC);
CREATE INDEX content_queue_user_status_idx ON content_queue (user_id, status, created_at DESC, id DESC);
