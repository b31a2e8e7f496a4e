-- Webhook events are claimed before they are applied: a row whose done_at is NULL is being
-- processed by whoever holds it until lease_until; once applied, done_at is set. A concurrent
-- duplicate delivery finds the claim and is told to retry; a process that died mid-apply leaves
-- the claim to lapse, and the provider's next retry takes it over.
ALTER TABLE webhook_events
    ADD COLUMN done_at timestamptz,
    ADD COLUMN lease_until timestamptz;

-- Every event recorded before this migration was recorded after it was applied.
UPDATE webhook_events SET done_at = received_at;
