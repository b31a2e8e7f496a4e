-- Deleting a user cascades to their events: found through this index, not a scan of every
-- merchant's events.
CREATE INDEX events_user_id ON events (user_id);
