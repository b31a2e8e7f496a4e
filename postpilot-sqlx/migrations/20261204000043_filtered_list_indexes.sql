-- Lists that read from where their page starts whatever the filter (#18).

-- The post list filtered by status and platform at once reads this index from where its page
-- starts (#18); with only (user_id, status, …) it would filter a status's whole history for a
-- rare platform. Lists by status alone, by platform alone and unfiltered keep their indexes
-- (migration 4).
CREATE INDEX posts_user_status_platform_idx
    ON posts (user_id, status, platform, created_at DESC, id DESC);

-- An endpoint's delivery log filtered by status (`?status=dead`: its dead letters) reads from
-- where its page starts, not through every delivery of the endpoint's.
CREATE INDEX event_deliveries_log_by_status
    ON event_deliveries (endpoint_id, status, created_at DESC, id DESC);

-- The metrics list, latest published first, pages through the owner's published posts from
-- where its page starts (id breaks ties in publication time, as the cursor does).
CREATE INDEX posts_user_published_page_idx
    ON posts (user_id, posted_at DESC, id DESC) WHERE posted_at IS NOT NULL;
