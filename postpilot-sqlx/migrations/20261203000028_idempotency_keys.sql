-- Idempotent requests (issue 16): a client's Idempotency-Key, per user, with the request it
-- named (a SHA-256 fingerprint) and, once finished, the response replayed to a retry for 24
-- hours. `attempt` fences the run holding the key; `held_until` lets a run whose process died
-- lose it. Gone with the user; expired rows are purged by the worker through the expiry index.
CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key              text NOT NULL,
    fingerprint      bytea NOT NULL,
    attempt          uuid NOT NULL,
    held_until       timestamptz NOT NULL,
    response_status  smallint,
    response_headers jsonb,
    response_body    bytea,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
