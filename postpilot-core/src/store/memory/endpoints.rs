//! Webhook endpoints, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
impl EndpointStore for MemoryStore {
    async fn insert_endpoint(&self, endpoint: &WebhookEndpoint, max: u32) -> StoreResult<()> {
        let mut t = self.tables();
        if t.endpoints.contains_key(&endpoint.id) {
            return Err(StoreError::Conflict(Conflict::DuplicateId));
        }
        let held = t
            .endpoints
            .values()
            .filter(|e| e.user_id == endpoint.user_id)
            .count();
        if held >= max as usize {
            return Err(StoreError::LimitReached);
        }
        t.endpoints.insert(endpoint.id, endpoint.clone());
        Ok(())
    }

    async fn endpoint(
        &self,
        owner: UserId,
        id: EndpointId,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        Ok(owned(&self.tables().endpoints, owner, &id).cloned())
    }

    async fn list_endpoints(&self, owner: UserId) -> StoreResult<Vec<WebhookEndpoint>> {
        let mut all: Vec<_> = self
            .tables()
            .endpoints
            .values()
            .filter(|e| e.user_id == owner)
            .cloned()
            .collect();
        all.sort_by_key(|e| (e.created_at, e.id));
        Ok(all)
    }

    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = owned_mut(&mut t.endpoints, endpoint.user_id, &endpoint.id)
            .ok_or(StoreError::NotFound)?;
        if stored.updated_at != read_at {
            return Err(StoreError::Stale);
        }
        *stored = endpoint.clone();
        Ok(())
    }

    async fn delete_endpoint(&self, owner: UserId, id: EndpointId) -> StoreResult<bool> {
        let mut t = self.tables();
        if owned(&t.endpoints, owner, &id).is_none() {
            return Ok(false);
        }
        t.deliveries.retain(|_, d| d.endpoint_id != id);
        Ok(t.endpoints.remove(&id).is_some())
    }
}
