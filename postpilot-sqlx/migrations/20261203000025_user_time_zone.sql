-- The merchant's time zone (an IANA name): the dashboard's calendar shows days in it and reads
-- the times they type in it. Existing users start in UTC, as the calendar showed them before.
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
