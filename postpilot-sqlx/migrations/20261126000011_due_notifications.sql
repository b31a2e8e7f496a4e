-- Wake-up for workers: whenever a post becomes scheduled — created scheduled, (re)scheduled, or
-- set to retry after a failed attempt — notify the channel `postpilot_due`, so idle workers in
-- any process re-read the next due time instead of waiting out their poll interval. PostgreSQL
-- folds identical notifications of one transaction into one, so a bulk insert wakes workers once.
-- Notifications can be missed (a worker between two waits), which is why workers also poll.
CREATE FUNCTION posts_notify_due() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('postpilot_due', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_due_changed
    AFTER INSERT OR UPDATE OF status, scheduled_for, next_attempt_at ON posts
    FOR EACH ROW
    WHEN (NEW.status = 'scheduled')
    EXECUTE FUNCTION posts_notify_due();
