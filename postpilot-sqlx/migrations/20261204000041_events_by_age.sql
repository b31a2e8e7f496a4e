-- The delivery log's retention: events are purged oldest first (with their deliveries, by the
-- cascade) once nothing is pending for them.
CREATE INDEX events_created_at ON events (created_at);
