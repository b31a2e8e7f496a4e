-- A post the queue put on a slot of its account's posting schedule ("next free slot", issue 16).
-- Two such posts of one account never hold the same instant while scheduled, publishing or
-- posted: concurrent requests for the next free slot race on this index, and the loser looks
-- again. Built without CONCURRENTLY (migrations run in a transaction): on a large posts table it
-- blocks writes to posts while it builds; an operator may create both beforehand, the index
-- CONCURRENTLY, and this finds them (docs/OPERATIONS.md).
ALTER TABLE posts ADD COLUMN IF NOT EXISTS on_slot boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX IF NOT EXISTS posts_account_slot_key ON posts (account_id, scheduled_for)
    WHERE on_slot AND status IN ('scheduled', 'publishing', 'posted');
