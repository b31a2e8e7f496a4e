-- Accounts' posting schedules (issue 16): weekly slots as local times ("mon 09:00") in an IANA
-- zone, one schedule per account, gone with the account. Posts keep their own times: a schedule
-- changes which instants are slots, never a post.
CREATE TABLE posting_schedules (
    account_id  uuid PRIMARY KEY REFERENCES social_accounts (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    time_zone   text NOT NULL,
    slots       text[] NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- A post the queue put on a slot ("next free slot"). Two such posts of one account never hold
-- the same instant while scheduled, publishing or posted: concurrent requests for the next free
-- slot race on this index, and the loser looks again.
ALTER TABLE posts ADD COLUMN on_slot boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX posts_account_slot_key ON posts (account_id, scheduled_for)
    WHERE on_slot AND status IN ('scheduled', 'publishing', 'posted');
