-- A post made from a queue item keeps the product it advertises as it was then (issue 17): id,
-- title, prices, currency, stock, page. A later product.updated event is compared with it.
ALTER TABLE posts ADD COLUMN product jsonb;
