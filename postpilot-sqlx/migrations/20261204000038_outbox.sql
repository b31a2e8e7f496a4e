-- The outbox (issue 17): each event is written in the same transaction as the change it reports,
-- with one delivery per endpoint that receives it (an event no endpoint receives is not kept).
-- Workers claim due deliveries under a lease token, as they claim posts: a claim that is never
-- settled comes due again when its lease runs out (`next_attempt_at` is set to the lease's end),
-- and a settlement is written only under the token of the claim that made it.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz;

CREATE TABLE events (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type  text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE event_deliveries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_token      bigint NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    response_status  integer,
    response         text,
    error            text,
    created_at       timestamptz NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
-- The claim: pending deliveries by due time.
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log: an endpoint's deliveries, newest first.
CREATE INDEX event_deliveries_log ON event_deliveries (endpoint_id, created_at DESC, id DESC);
