-- Imports report their progress (issue 16): a large import runs in the background as `running`,
-- writing how many rows it has checked; `updated_at` tells a stalled one (its server stopped)
-- from a live one, and `error` says why a `failed` one stopped. Nothing of an import is created
-- before its end, so a stalled one left nothing behind.
ALTER TABLE imports
    ADD COLUMN processed  integer NOT NULL DEFAULT 0,
    ADD COLUMN error      text,
    ADD COLUMN updated_at timestamptz;
UPDATE imports SET processed = rows, updated_at = created_at;
ALTER TABLE imports ALTER COLUMN updated_at SET NOT NULL;
