-- Access tokens carry the user's session epoch; logging out everywhere and changing a password or
-- e-mail increment it, so every access token issued before answers 401 even though it has not
-- expired. Existing users start at 0, which is what the tokens issued before this migration
-- carry (tokens without the claim read as 0).
ALTER TABLE users ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;
