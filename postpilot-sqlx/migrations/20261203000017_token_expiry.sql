-- When an account's access token expires, when the platform said (Instagram's long-lived
-- tokens: 60 days). The worker refreshes tokens ahead of it; the partial index is its queue.
ALTER TABLE social_accounts ADD COLUMN token_expires_at timestamptz;

CREATE INDEX social_accounts_token_expiry_idx ON social_accounts (token_expires_at, id)
    WHERE token_expires_at IS NOT NULL AND is_connected AND NOT needs_reconnect;
