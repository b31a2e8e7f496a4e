-- Products import as pending queue items (issue 16): an import says what its rows became, and
-- an imported row's reference names the post or the queue item it created.
ALTER TABLE imports ADD COLUMN kind text NOT NULL DEFAULT 'posts';
ALTER TABLE import_refs RENAME COLUMN post_id TO created_id;
