-- Captions written by a language model, counted per user per calendar month (UTC) against the
-- plan's generations_per_month. A generation is taken before the model is called (one statement
-- that also checks the cap, so concurrent generations never count past it) and given back when
-- it stored nothing. `month` is the first instant of the month.
CREATE TABLE caption_generations (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month timestamptz NOT NULL,
    count bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (user_id, month)
);
