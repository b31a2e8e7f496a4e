-- Counters the database keeps in the transaction of the change they count (#18), so a list's
-- total, the monthly post quota and the analytics overview read a handful of rows however long a
-- merchant's history is.
--
-- Triggers, not application code: every write path, a foreign-key cascade and an operator's
-- manual edit are counted alike, and a write that does not commit changes no counter. Each
-- trigger is per statement, so claiming 100 posts or importing 1,000 is one counter write per
-- (owner, status, platform) touched, not one per row. Every counter row is locked in one order
-- (by key, months before statuses) whatever the statement, so two writers counting for the same
-- merchants cannot deadlock; a statement that moves no post between counters (an edit, a lease
-- heartbeat) locks none. `postpilot_repair_counters()` (the server's `repair-counters`)
-- recomputes them all.

-- Posts by owner, status and platform: a list total is the sum of at most 18 rows.
CREATE TABLE post_counts (
    user_id  uuid   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status   text   NOT NULL,
    platform text   NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (user_id, status, platform)
);

-- Posts by owner and the UTC month they were created in: the monthly quota's count.
CREATE TABLE monthly_posts (
    user_id uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month   timestamptz NOT NULL,
    n       bigint      NOT NULL,
    PRIMARY KEY (user_id, month)
);

-- The analytics overview over an owner's metric rows: their number, the sums of their counters,
-- and the sum of their engagement rates in billionths of a percent (exact, so the mean is the
-- same as a recount's to the last digit).
CREATE TABLE metric_totals (
    user_id     uuid    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    posts       bigint  NOT NULL,
    impressions numeric NOT NULL,
    reach       numeric NOT NULL,
    likes       numeric NOT NULL,
    comments    numeric NOT NULL,
    shares      numeric NOT NULL,
    clicks      numeric NOT NULL,
    rate_nanos  numeric NOT NULL
);

-- A post's engagement rate in billionths of a percent, rounded half up: interactions per
-- impression × 100, as core's `MetricCounts::engagement_nanos` computes it.
CREATE FUNCTION engagement_nanos(impressions bigint, interactions numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN impressions = 0 THEN 0
                ELSE div(interactions * 200000000000 + impressions, 2 * impressions::numeric) END
$$;

-- What the post counters key on.
CREATE TYPE post_key AS (user_id uuid, status text, platform text, created_at timestamptz);

-- Adds the posts `added` and takes away the posts `removed`. An owner deleted in this statement
-- (its posts going with it by cascade) has no counters left to change. PL/pgSQL rather than
-- SQL, so a connection plans these statements once rather than at every call: on a connection
-- that has run it before, the trigger adds 0.6 ms to a 100-post claim of 3.2 ms.
CREATE FUNCTION shift_post_counts(added post_key[], removed post_key[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO monthly_posts AS m (user_id, month, n)
    SELECT user_id, date_trunc('month', created_at, 'UTC'), sum(n)
    FROM (SELECT user_id, created_at, 1 AS n FROM unnest(added)
          UNION ALL SELECT user_id, created_at, -1 FROM unnest(removed)) AS change
    WHERE EXISTS (SELECT 1 FROM users WHERE id = change.user_id)
    GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
    ON CONFLICT (user_id, month) DO UPDATE SET n = m.n + EXCLUDED.n;

    INSERT INTO post_counts AS c (user_id, status, platform, n)
    SELECT user_id, status, platform, sum(n)
    FROM (SELECT user_id, status, platform, 1 AS n FROM unnest(added)
          UNION ALL SELECT user_id, status, platform, -1 FROM unnest(removed)) AS change
    WHERE EXISTS (SELECT 1 FROM users WHERE id = change.user_id)
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (user_id, status, platform) DO UPDATE SET n = c.n + EXCLUDED.n;
END
$$;

CREATE FUNCTION count_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM shift_post_counts(
            ARRAY(SELECT (user_id, status, platform, created_at)::post_key FROM new_posts), '{}');
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM shift_post_counts(
            ARRAY(SELECT (user_id, status, platform, created_at)::post_key FROM new_posts),
            ARRAY(SELECT (user_id, status, platform, created_at)::post_key FROM old_posts));
    ELSE
        PERFORM shift_post_counts(
            '{}', ARRAY(SELECT (user_id, status, platform, created_at)::post_key FROM old_posts));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_counted_on_insert AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION count_posts();
CREATE TRIGGER posts_counted_on_update AFTER UPDATE ON posts
    REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts
    FOR EACH STATEMENT EXECUTE FUNCTION count_posts();
CREATE TRIGGER posts_counted_on_delete AFTER DELETE ON posts
    REFERENCING OLD TABLE AS old_posts FOR EACH STATEMENT EXECUTE FUNCTION count_posts();

-- Metric rows added (sign 1) or taken away (sign -1), summed per owner.
CREATE FUNCTION shift_metric_totals(added post_metrics[], removed post_metrics[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_totals AS t
        (user_id, posts, impressions, reach, likes, comments, shares, clicks, rate_nanos)
    SELECT user_id, sum(sign), sum(sign * impressions), sum(sign * reach), sum(sign * likes),
           sum(sign * comments), sum(sign * shares), sum(sign * clicks),
           sum(sign * engagement_nanos(impressions,
                                       likes::numeric + comments + shares + clicks))
    FROM (SELECT 1 AS sign, * FROM unnest(added)
          UNION ALL SELECT -1, * FROM unnest(removed)) AS change
    WHERE EXISTS (SELECT 1 FROM users WHERE id = change.user_id)
    GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET posts = t.posts + EXCLUDED.posts,
        impressions = t.impressions + EXCLUDED.impressions, reach = t.reach + EXCLUDED.reach,
        likes = t.likes + EXCLUDED.likes, comments = t.comments + EXCLUDED.comments,
        shares = t.shares + EXCLUDED.shares, clicks = t.clicks + EXCLUDED.clicks,
        rate_nanos = t.rate_nanos + EXCLUDED.rate_nanos;
END
$$;

CREATE FUNCTION count_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM shift_metric_totals(
            ARRAY(SELECT ROW(n.*)::post_metrics FROM new_metrics AS n), '{}');
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM shift_metric_totals(
            ARRAY(SELECT ROW(n.*)::post_metrics FROM new_metrics AS n),
            ARRAY(SELECT ROW(o.*)::post_metrics FROM old_metrics AS o));
    ELSE
        PERFORM shift_metric_totals(
            '{}', ARRAY(SELECT ROW(o.*)::post_metrics FROM old_metrics AS o));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER post_metrics_counted_on_insert AFTER INSERT ON post_metrics
    REFERENCING NEW TABLE AS new_metrics FOR EACH STATEMENT EXECUTE FUNCTION count_metrics();
CREATE TRIGGER post_metrics_counted_on_update AFTER UPDATE ON post_metrics
    REFERENCING OLD TABLE AS old_metrics NEW TABLE AS new_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION count_metrics();
CREATE TRIGGER post_metrics_counted_on_delete AFTER DELETE ON post_metrics
    REFERENCING OLD TABLE AS old_metrics FOR EACH STATEMENT EXECUTE FUNCTION count_metrics();

-- A truncated table's counters go with it.
CREATE FUNCTION forget_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'posts' THEN
        DELETE FROM post_counts;
        DELETE FROM monthly_posts;
    ELSE
        DELETE FROM metric_totals;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER posts_counted_on_truncate AFTER TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION forget_counts();
CREATE TRIGGER post_metrics_counted_on_truncate AFTER TRUNCATE ON post_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION forget_counts();

-- Recomputes every counter from the rows it counts, holding writes to those tables back while it
-- does (SHARE locks: reads go on), and returns how many counter rows were wrong — missing,
-- different, or counting what is not there: 0 when the triggers kept them exact.
CREATE FUNCTION postpilot_repair_counters(
    OUT post_counts_fixed bigint, OUT monthly_posts_fixed bigint, OUT metric_totals_fixed bigint)
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE posts, post_metrics IN SHARE MODE;

    WITH truth AS (
        SELECT user_id, status, platform, count(*) AS n FROM posts GROUP BY 1, 2, 3
    ), gone AS (
        DELETE FROM post_counts AS c WHERE c.n <> 0 AND NOT EXISTS (
            SELECT 1 FROM truth WHERE (truth.user_id, truth.status, truth.platform)
                                    = (c.user_id, c.status, c.platform))
        RETURNING 1
    ), fixed AS (
        INSERT INTO post_counts AS c (user_id, status, platform, n) SELECT * FROM truth
        ON CONFLICT (user_id, status, platform) DO UPDATE SET n = EXCLUDED.n
        WHERE c.n <> EXCLUDED.n
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM fixed) INTO post_counts_fixed;

    WITH truth AS (
        SELECT user_id, date_trunc('month', created_at, 'UTC') AS month, count(*) AS n
        FROM posts GROUP BY 1, 2
    ), gone AS (
        DELETE FROM monthly_posts AS m WHERE m.n <> 0 AND NOT EXISTS (
            SELECT 1 FROM truth WHERE (truth.user_id, truth.month) = (m.user_id, m.month))
        RETURNING 1
    ), fixed AS (
        INSERT INTO monthly_posts AS m (user_id, month, n) SELECT * FROM truth
        ON CONFLICT (user_id, month) DO UPDATE SET n = EXCLUDED.n WHERE m.n <> EXCLUDED.n
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM fixed) INTO monthly_posts_fixed;

    WITH truth AS (
        SELECT user_id, count(*) AS posts, sum(impressions) AS impressions, sum(reach) AS reach,
               sum(likes) AS likes, sum(comments) AS comments, sum(shares) AS shares,
               sum(clicks) AS clicks,
               sum(engagement_nanos(impressions, likes::numeric + comments + shares + clicks))
                   AS rate_nanos
        FROM post_metrics GROUP BY 1
    ), gone AS (
        DELETE FROM metric_totals AS t
        WHERE (t.posts, t.impressions, t.reach, t.likes, t.comments, t.shares, t.clicks,
               t.rate_nanos) <> (0, 0, 0, 0, 0, 0, 0, 0)
          AND NOT EXISTS (
            SELECT 1 FROM truth WHERE truth.user_id = t.user_id)
        RETURNING 1
    ), fixed AS (
        INSERT INTO metric_totals AS t SELECT * FROM truth
        ON CONFLICT (user_id) DO UPDATE SET posts = EXCLUDED.posts,
            impressions = EXCLUDED.impressions, reach = EXCLUDED.reach, likes = EXCLUDED.likes,
            comments = EXCLUDED.comments, shares = EXCLUDED.shares, clicks = EXCLUDED.clicks,
            rate_nanos = EXCLUDED.rate_nanos
        WHERE (t.posts, t.impressions, t.reach, t.likes, t.comments, t.shares, t.clicks,
               t.rate_nanos)
           IS DISTINCT FROM (EXCLUDED.posts, EXCLUDED.impressions, EXCLUDED.reach,
               EXCLUDED.likes, EXCLUDED.comments, EXCLUDED.shares, EXCLUDED.clicks,
               EXCLUDED.rate_nanos)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM fixed) INTO metric_totals_fixed;
END
$$;

-- The counters of what is already stored.
SELECT postpilot_repair_counters();
