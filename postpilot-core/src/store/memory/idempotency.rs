//! Idempotent requests' keys, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn begin_request(
        &self,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Begun> {
        let mut t = self.tables();
        let slot = (record.owner, record.key.clone());
        if let Some(met) = t
            .idempotency
            .get(&slot)
            .and_then(|held| held.meets(&record.fingerprint, now))
        {
            return Ok(met);
        }
        t.idempotency.insert(slot, record.clone());
        Ok(Begun::Run(crate::idempotency::Hold {
            attempt: record.attempt,
        }))
    }

    async fn finish_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        match t.idempotency.get_mut(&(owner, key.clone())) {
            Some(held) if held.attempt == attempt && held.response.is_none() => {
                held.response = Some(response.clone());
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn release_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let slot = (owner, key.clone());
        match t.idempotency.get(&slot) {
            Some(held) if held.attempt == attempt && held.response.is_none() => {
                t.idempotency.remove(&slot);
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn purge_requests(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut t = self.tables();
        let before = t.idempotency.len();
        t.idempotency.retain(|_, record| record.expires_at > now);
        Ok((before - t.idempotency.len()) as u64)
    }
}
