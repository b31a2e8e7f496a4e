-- Webhook endpoints (issue 17): where a user's events are delivered. The signing secrets are
-- sealed by the token cipher (bound to the owner and the endpoint's id), never stored in the
-- clear: a deliverer must sign with them, so they cannot be hashed like API keys.
CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    user_id                     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                         text NOT NULL,
    description                 text NOT NULL,
    event_types                 text[] NOT NULL,
    sealed_secret               text NOT NULL,
    previous_sealed_secret      text,
    previous_secret_expires_at  timestamptz,
    disabled_at                 timestamptz,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_user_id ON webhook_endpoints (user_id, created_at);
