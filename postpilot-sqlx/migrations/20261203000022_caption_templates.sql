-- A merchant's caption templates: a body with placeholders the queue fills from a product, the
-- platforms it was checked against (empty: every platform) and the tone it is written in. Core
-- checks a template before it is stored; deleting the merchant deletes them.
CREATE TABLE caption_templates (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    body        text        NOT NULL,
    platforms   text[]      NOT NULL DEFAULT '{}',
    tone        text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- A merchant's list, oldest first.
CREATE INDEX caption_templates_user_idx ON caption_templates (user_id, created_at, id);
