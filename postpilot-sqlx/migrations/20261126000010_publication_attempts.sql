-- The publication ledger: one row per attempt at publishing a post — which worker, under which
-- lease token, when, and how it ended.
CREATE TABLE publication_attempts (
    id          uuid        PRIMARY KEY,
    post_id     uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    worker      text        NOT NULL,
    lease_token bigint      NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome     text        NOT NULL,
    remote_id   text,
    error       text,
    CONSTRAINT publication_attempts_outcome_check CHECK (outcome IN (
        'posted', 'reconciled', 'retry', 'rate_limited', 'auth_expired', 'rejected', 'timed_out',
        'gave_up', 'lease_lost'
    ))
);

CREATE INDEX publication_attempts_post_idx ON publication_attempts (post_id, started_at, attempt);
