-- What product changes pause a merchant's scheduled posts of that product (issue 17): both (a
-- new price or page, and selling out), price, stock, or off.
ALTER TABLE users ADD COLUMN pause_on text NOT NULL DEFAULT 'both'
    CONSTRAINT users_pause_on_check CHECK (pause_on IN ('both', 'price', 'stock', 'off'));
