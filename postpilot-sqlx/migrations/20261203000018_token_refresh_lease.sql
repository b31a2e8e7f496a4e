-- One worker at a time refreshes an account's tokens: platforms that rotate refresh tokens
-- (TikTok) spend the old one, so two concurrent refreshes would leave one holding a dead token.
-- A worker takes the lease (until this time) before asking the platform.
ALTER TABLE social_accounts ADD COLUMN token_refresh_lease_until timestamptz;
