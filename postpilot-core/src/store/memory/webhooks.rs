//! Webhook event claims, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

#[async_trait]
impl WebhookEventStore for MemoryStore {
    async fn claim_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<WebhookClaim> {
        use std::collections::hash_map::Entry;
        let mut t = self.tables();
        Ok(
            match t
                .webhook_events
                .entry((source.to_owned(), event_id.to_owned()))
            {
                Entry::Vacant(vacant) => {
                    vacant.insert(Some(lease_until));
                    WebhookClaim::Claimed
                }
                Entry::Occupied(mut taken) => match taken.get_mut() {
                    None => WebhookClaim::Done,
                    Some(until) if *until < now => {
                        *until = lease_until;
                        WebhookClaim::Claimed
                    }
                    Some(_) => WebhookClaim::InProgress,
                },
            },
        )
    }

    async fn finish_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        _at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.tables()
            .webhook_events
            .insert((source.to_owned(), event_id.to_owned()), None);
        Ok(())
    }

    async fn release_webhook_event(&self, source: &str, event_id: &str) -> StoreResult<()> {
        let mut t = self.tables();
        let key = (source.to_owned(), event_id.to_owned());
        if t.webhook_events.get(&key).is_some_and(Option::is_some) {
            t.webhook_events.remove(&key);
        }
        Ok(())
    }
}
