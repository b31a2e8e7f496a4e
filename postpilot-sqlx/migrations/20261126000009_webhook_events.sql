-- Webhook events already processed, per source ('stripe', 'platform'): the primary key makes
-- recording an event and detecting a replay one statement.
CREATE TABLE webhook_events (
    source      text        NOT NULL,
    event_id    text        NOT NULL,
    received_at timestamptz NOT NULL,
    CONSTRAINT webhook_events_pkey PRIMARY KEY (source, event_id)
);
