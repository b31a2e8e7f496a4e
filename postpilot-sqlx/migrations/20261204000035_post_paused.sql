-- A paused post (issue 17): held back before its time because the product it advertises changed
-- or its merchant paused it; never claimed (due_at is NULL outside scheduled and publishing),
-- holds no slot (the slot index covers scheduled, publishing and posted only).
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_check
    CHECK (status IN ('draft', 'scheduled', 'publishing', 'posted', 'failed', 'paused'));
