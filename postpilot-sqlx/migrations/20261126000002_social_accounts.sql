-- Social accounts. A merchant connects an account once per (platform, external id); connecting it
-- again reactivates the same row, so post history and analytics survive a disconnect. OAuth
-- tokens are stored only as envelopes sealed by the domain's TokenCipher (never plaintext).
-- Only connected accounts count toward the plan limit, which the store enforces under a row lock
-- on the owner (see PgStore::connect_account).
CREATE TABLE social_accounts (
    id                  uuid        PRIMARY KEY,
    user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform            text        NOT NULL,
    account_name        text        NOT NULL,
    account_id_external text        NOT NULL,
    access_token_enc    text,
    refresh_token_enc   text,
    is_connected        boolean     NOT NULL DEFAULT true,
    needs_reconnect     boolean     NOT NULL DEFAULT false,
    connected_at        timestamptz,
    created_at          timestamptz NOT NULL,
    CONSTRAINT social_accounts_platform_check CHECK (platform IN ('instagram', 'facebook', 'tiktok')),
    CONSTRAINT social_accounts_owner_external_key UNIQUE (user_id, platform, account_id_external)
);

-- The owner's list, oldest first, and the count of connected accounts.
CREATE INDEX social_accounts_user_idx ON social_accounts (user_id, created_at, id);
