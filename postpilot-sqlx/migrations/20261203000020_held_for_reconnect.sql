-- A post held for its account's reconnection is marked as such (it was recognised by the end of
-- its message, which tied behaviour to wording). A constant default: no table rewrite.
ALTER TABLE posts ADD COLUMN held_for_reconnect boolean NOT NULL DEFAULT false;

-- Posts held before this migration carry the message that marked them.
UPDATE posts SET held_for_reconnect = true
WHERE status = 'scheduled'
  AND error_message LIKE '%this post goes out as soon as it is reconnected.';
