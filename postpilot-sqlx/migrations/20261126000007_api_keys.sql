-- API keys: only the SHA-256 of the key (hex) and its visible prefix are stored; the key itself
-- is shown once. Authentication looks the hash up through its unique index.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL,
    scopes       text[]      NOT NULL,
    is_active    boolean     NOT NULL DEFAULT true,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_key_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC, id DESC);
