-- Products import as pending queue items (issue 16): an import says what its rows became. An
-- imported product row's reference keeps its queue item's id in `import_refs.post_id`: the
-- column keeps its name so that servers of the previous release, which write it, keep importing
-- during a rolling deploy.
ALTER TABLE imports ADD COLUMN kind text NOT NULL DEFAULT 'posts';
COMMENT ON COLUMN import_refs.post_id IS 'the post, or for a product row the queue item, the row created';
