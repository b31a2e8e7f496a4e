//! API keys, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey, max_active: u32) -> StoreResult<()> {
        let mut t = self.tables();
        if t.api_keys.values().any(|k| k.key_hash == key.key_hash) {
            return Err(StoreError::Conflict(Conflict::ApiKeyHash));
        }
        let active = t
            .api_keys
            .values()
            .filter(|k| k.user_id == key.user_id && k.is_active)
            .count();
        if active >= max_active as usize {
            return Err(StoreError::LimitReached);
        }
        t.api_keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn list_api_keys(&self, owner: UserId, page: PageRequest) -> StoreResult<Page<ApiKey>> {
        let all: Vec<_> = self
            .tables()
            .api_keys
            .values()
            .filter(|k| k.user_id == owner)
            .cloned()
            .collect();
        Ok(page_of(page, all, Order::NewestFirst, |k| {
            Cursor::new(k.created_at, k.id.as_uuid())
        }))
    }

    async fn revoke_api_key(&self, owner: UserId, id: ApiKeyId) -> StoreResult<bool> {
        let mut t = self.tables();
        Ok(match owned_mut(&mut t.api_keys, owner, &id) {
            Some(key) => {
                key.revoke();
                true
            }
            None => false,
        })
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self
            .tables()
            .api_keys
            .values()
            .find(|k| k.is_active && k.key_hash == key_hash)
            .cloned())
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
        let mut t = self.tables();
        let key = t.api_keys.get_mut(&id).ok_or(StoreError::NotFound)?;
        key.record_use(at);
        Ok(())
    }
}
