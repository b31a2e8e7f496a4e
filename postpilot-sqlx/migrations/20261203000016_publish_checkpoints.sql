-- Multi-step publications (an Instagram container, a TikTok upload) keep where they stand on the
-- platform: the publisher's checkpoint, stored under the claim's fence before the step that makes
-- the post public, and handed back to it on every later attempt so it resumes and reconciles
-- instead of publishing again. Its shape is the publisher's own.
ALTER TABLE posts ADD COLUMN publish_checkpoint jsonb;

-- A parked publication (the platform is processing a step) is kept in the ledger as 'processing'.
ALTER TABLE publication_attempts DROP CONSTRAINT publication_attempts_outcome_check;
ALTER TABLE publication_attempts ADD CONSTRAINT publication_attempts_outcome_check CHECK (outcome IN (
    'posted', 'reconciled', 'retry', 'rate_limited', 'auth_expired', 'rejected', 'timed_out',
    'gave_up', 'lease_lost', 'processing'
));
