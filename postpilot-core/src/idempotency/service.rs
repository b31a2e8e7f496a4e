//! Starting, finishing and letting go of idempotent requests, and forgetting old ones.

use std::sync::Arc;

use uuid::Uuid;

use crate::context::Deps;
use crate::error::Result;
use crate::id::UserId;
use crate::idempotency::{
    Begun, Hold, IDEMPOTENCY_TTL, IN_FLIGHT_LEASE, IdempotencyKey, IdempotencyRecord,
    RequestFingerprint, StoredResponse,
};

/// Idempotent requests.
#[derive(Clone, Debug)]
pub struct IdempotencyService {
    deps: Arc<Deps>,
}

impl IdempotencyService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Starts `user`'s request `fingerprint` under `key`.
    ///
    /// # Errors
    /// [`crate::Error::Validation`] for a malformed key; [`crate::Error::Unavailable`] when the
    /// store failed.
    pub async fn begin(
        &self,
        user: UserId,
        key: &str,
        fingerprint: RequestFingerprint,
    ) -> Result<(IdempotencyKey, Begun)> {
        let key = IdempotencyKey::parse(key)?;
        let now = self.deps.now();
        let record = IdempotencyRecord {
            owner: user,
            key: key.clone(),
            fingerprint,
            attempt: Uuid::new_v4(),
            held_until: now + IN_FLIGHT_LEASE,
            response: None,
            expires_at: now + IDEMPOTENCY_TTL,
        };
        let begun = self.deps.store.begin_request(&record, now).await?;
        Ok((key, begun))
    }

    /// Keeps `response` as the answer to the request holding `key` with `hold`. A hold that
    /// lapsed meanwhile keeps nothing (another run has the key).
    ///
    /// # Errors
    /// The store failed.
    pub async fn finish(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        hold: Hold,
        response: &StoredResponse,
    ) -> Result<()> {
        let finished = self
            .deps
            .store
            .finish_request(user, key, hold.attempt, response)
            .await;
        crate::store::StoreError::unless_overtaken(finished)
    }

    /// Frees `key` after a request that should be retried as new (a server-side failure).
    ///
    /// # Errors
    /// The store failed.
    pub async fn release(&self, user: UserId, key: &IdempotencyKey, hold: Hold) -> Result<()> {
        let released = self
            .deps
            .store
            .release_request(user, key, hold.attempt)
            .await;
        crate::store::StoreError::unless_overtaken(released)
    }

    /// Forgets the records past their 24 hours; how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_expired(&self) -> Result<u64> {
        Ok(self.deps.store.purge_requests(self.deps.now()).await?)
    }
}
