//! The outbox's deliveries, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::event::{ClaimedDelivery, Delivery, DeliveryStatus, EndpointHealth};
use crate::id::DeliveryId;

#[async_trait]
impl EventStore for MemoryStore {
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut t = self.tables();
        let mut due: Vec<(DateTime<Utc>, DeliveryId)> = t
            .deliveries
            .values()
            .filter(|d| {
                d.status == DeliveryStatus::Pending
                    && d.next_attempt_at.is_some_and(|at| at <= now)
                    && t.endpoints
                        .get(&d.endpoint_id)
                        .is_some_and(|e| !e.is_disabled())
            })
            .map(|d| (d.next_attempt_at.unwrap_or(now), d.id))
            .collect();
        due.sort();
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, id) in due {
            let Some(delivery) = t.deliveries.get_mut(&id) else {
                continue;
            };
            delivery.lease_token += 1;
            delivery.next_attempt_at = Some(now + lease_for);
            let delivery = delivery.clone();
            let (Some(event), Some(endpoint)) = (
                t.events.get(&delivery.event_id),
                t.endpoints.get(&delivery.endpoint_id),
            ) else {
                continue;
            };
            claimed.push(ClaimedDelivery {
                event: event.clone(),
                endpoint: endpoint.clone(),
                delivery,
            });
        }
        Ok(claimed)
    }

    async fn settle_delivery(
        &self,
        delivery: &Delivery,
        health: EndpointHealth,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut t = self.tables();
        let stored = t
            .deliveries
            .get_mut(&delivery.id)
            .ok_or(StoreError::NotFound)?;
        if stored.lease_token != delivery.lease_token || stored.status != DeliveryStatus::Pending {
            return Err(StoreError::Stale);
        }
        *stored = delivery.clone();
        // A settlement ends the claim: the same claim cannot settle twice.
        stored.lease_token += 1;
        let endpoint = t
            .endpoints
            .get_mut(&delivery.endpoint_id)
            .ok_or(StoreError::NotFound)?;
        Ok(health.apply(endpoint, now))
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        endpoint: EndpointId,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let all: Vec<Delivery> = self
            .tables()
            .deliveries
            .values()
            .filter(|d| {
                d.user_id == owner
                    && d.endpoint_id == endpoint
                    && status.is_none_or(|s| d.status == s)
            })
            .cloned()
            .collect();
        Ok(page_of(page, all, Order::NewestFirst, |d| {
            Cursor::new(d.created_at, d.id.as_uuid())
        }))
    }

    async fn delivery(&self, owner: UserId, id: DeliveryId) -> StoreResult<Option<Delivery>> {
        Ok(owned(&self.tables().deliveries, owner, &id).cloned())
    }

    async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        let mut t = self.tables();
        let pending: std::collections::HashSet<_> = t
            .deliveries
            .values()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .map(|d| d.event_id)
            .collect();
        let mut old: Vec<_> = t
            .events
            .values()
            .filter(|e| e.created_at < before && !pending.contains(&e.id))
            .map(|e| (e.created_at, e.id))
            .collect();
        old.sort();
        old.truncate(limit as usize);
        let gone: std::collections::HashSet<_> = old.into_iter().map(|(_, id)| id).collect();
        t.events.retain(|id, _| !gone.contains(id));
        t.deliveries.retain(|_, d| !gone.contains(&d.event_id));
        Ok(gone.len() as u64)
    }

    async fn resend_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = owned_mut(&mut t.deliveries, delivery.user_id, &delivery.id)
            .ok_or(StoreError::NotFound)?;
        if stored.status == DeliveryStatus::Pending || stored.lease_token != delivery.lease_token {
            return Err(StoreError::Stale);
        }
        *stored = delivery.clone();
        Ok(())
    }
}
