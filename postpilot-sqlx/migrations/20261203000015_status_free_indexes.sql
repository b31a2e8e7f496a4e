-- Queries bind statuses as parameters and never write one as a literal, so the two partial
-- indexes whose predicates named statuses are replaced by ones a parameterised query can use
-- (a generic plan cannot match `status = $1` against `WHERE status IN (...)`):
--
-- * the claim queue is the rows whose due_at is set. due_at is NULL exactly when a post is
--   neither scheduled nor publishing (its CASE has no other branch, and posts_scheduled_check
--   and posts_lease_check make it non-NULL in those two), so the new index holds the same rows;
-- * published posts are the rows whose posted_at is set, which the new check makes an invariant
--   (core sets posted_at only when a post becomes posted, and a posted post never changes).
ALTER TABLE posts ADD CONSTRAINT posts_posted_at_check CHECK ((status = 'posted') = (posted_at IS NOT NULL));

CREATE INDEX posts_due_at_idx ON posts (due_at, id) WHERE due_at IS NOT NULL;
DROP INDEX posts_due_idx;

CREATE INDEX posts_published_idx ON posts (posted_at, id) WHERE posted_at IS NOT NULL;
DROP INDEX posts_posted_idx;
