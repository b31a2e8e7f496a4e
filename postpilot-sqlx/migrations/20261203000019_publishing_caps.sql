-- Publishing caps (DECISIONS 66): how many posts a platform publishes for one account in a
-- rolling 24 hours.
--
-- social_accounts keeps the cap the platform reported for the account (Instagram's
-- content_publishing_limit) and when it was read: nullable columns without a default, so adding
-- them rewrites nothing.
ALTER TABLE social_accounts
    ADD COLUMN publishing_cap integer CONSTRAINT social_accounts_publishing_cap_check CHECK (publishing_cap >= 0),
    ADD COLUMN publishing_cap_read_at timestamptz;

-- A post's place in its account's cap: its publication time once posted, its due time (retry
-- time, else scheduled time) while scheduled or publishing, none as a draft or failed. An
-- expression index rather than a stored column, so the posts table (the claim queue) is not
-- rewritten; postpilot-sqlx's `slot_at!` is the same expression, which the cap queries use.
CREATE INDEX posts_account_slot_idx ON posts (
    account_id,
    (CASE status
        WHEN 'posted' THEN posted_at
        WHEN 'scheduled' THEN coalesce(next_attempt_at, scheduled_for)
        WHEN 'publishing' THEN coalesce(next_attempt_at, scheduled_for)
    END),
    id
);
