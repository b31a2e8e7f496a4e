//! Refresh tokens, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
impl RefreshTokenStore for MemoryStore {
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut t = self.tables();
        ensure_absent(
            &t.refresh_tokens,
            &token.token_hash,
            Conflict::RefreshTokenHash,
        )?;
        t.refresh_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        Ok(self.tables().refresh_tokens.get(token_hash).cloned())
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<RefreshUse> {
        let mut t = self.tables();
        let Some(token) = t.refresh_tokens.get(presented_hash) else {
            return Ok(RefreshUse::Invalid);
        };
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Ok(RefreshUse::Invalid);
        }
        let (family_id, user_id, used) = (token.family_id, token.user_id, token.used_at.is_some());
        if used {
            t.revoke_refresh_tokens(|t| t.family_id == family_id, now);
            return Ok(RefreshUse::Reused { family_id });
        }
        ensure_absent(
            &t.refresh_tokens,
            &successor.token_hash,
            Conflict::RefreshTokenHash,
        )?;
        if let Some(token) = t.refresh_tokens.get_mut(presented_hash) {
            token.used_at = Some(now);
        }
        let next = RefreshToken {
            id: successor.id,
            user_id,
            family_id,
            token_hash: successor.token_hash.clone(),
            created_at: now,
            expires_at: successor.expires_at,
            used_at: None,
            revoked_at: None,
        };
        t.refresh_tokens
            .insert(next.token_hash.clone(), next.clone());
        Ok(RefreshUse::Fresh(next))
    }

    async fn revoke_user_refresh_tokens(
        &self,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.tables()
            .revoke_refresh_tokens(|t| t.user_id == owner, now);
        Ok(())
    }

    async fn revoke_family_of(
        &self,
        owner: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut t = self.tables();
        let family = t
            .refresh_tokens
            .values()
            .find(|r| r.user_id == owner && r.token_hash == token_hash)
            .map(|r| r.family_id);
        let Some(family) = family else {
            return Ok(false);
        };
        t.revoke_refresh_tokens(|r| r.family_id == family, now);
        Ok(true)
    }

    async fn revoke_token_family(
        &self,
        family_id: TokenFamilyId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.tables()
            .revoke_refresh_tokens(|t| t.family_id == family_id, now);
        Ok(())
    }
}
