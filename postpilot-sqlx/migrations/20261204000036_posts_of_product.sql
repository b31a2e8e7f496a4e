-- The scheduled posts of a product, found when the platform says the product changed or was
-- deleted (issue 17).
CREATE INDEX posts_scheduled_product ON posts (user_id, (product ->> 'id'))
    WHERE status = 'scheduled' AND product IS NOT NULL;
