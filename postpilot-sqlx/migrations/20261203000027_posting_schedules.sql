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
