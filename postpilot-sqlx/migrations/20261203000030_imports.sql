-- Bulk imports (issue 16). `import_refs` remembers every imported row by its reference (the
-- client's external_id, or the file's hash and the row's place), so a row is created once even
-- when its post is deleted later (no foreign key to posts on purpose). `imports` keeps each
-- import's report: counts and the refused rows with their reasons.
CREATE TABLE import_refs (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reference  text NOT NULL,
    post_id    uuid NOT NULL,
    PRIMARY KEY (user_id, reference)
);

CREATE TABLE imports (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format      text NOT NULL,
    mode        text NOT NULL,
    status      text NOT NULL,
    rows        integer NOT NULL,
    created     integer NOT NULL,
    duplicates  integer NOT NULL,
    failed      integer NOT NULL,
    errors      jsonb NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX imports_user_id ON imports (user_id, created_at);
