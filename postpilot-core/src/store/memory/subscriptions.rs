//! Subscriptions, in memory.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl SubscriptionStore for MemoryStore {
    async fn upsert_subscription(&self, subscription: &Subscription) -> StoreResult<bool> {
        let mut t = self.tables();
        if !t.users.contains_key(&subscription.user_id) {
            return Err(StoreError::NotFound);
        }
        let stored_rank = t
            .subscriptions
            .get(&subscription.user_id)
            .and_then(|s| s.last_event_rank);
        if let (Some(stored), Some(new)) = (stored_rank, subscription.last_event_rank)
            && new < stored
        {
            return Ok(false);
        }
        if let Some(provider_id) = &subscription.stripe_subscription_id
            && t.subscriptions.values().any(|s| {
                s.user_id != subscription.user_id
                    && s.stripe_subscription_id.as_ref() == Some(provider_id)
            })
        {
            return Err(StoreError::Conflict(Conflict::ProviderSubscription));
        }
        let mut subscription = subscription.clone();
        subscription.last_event_rank = subscription.last_event_rank.or(stored_rank);
        t.subscriptions.insert(subscription.user_id, subscription);
        Ok(true)
    }

    async fn subscription(&self, owner: UserId) -> StoreResult<Option<Subscription>> {
        Ok(self.tables().subscriptions.get(&owner).cloned())
    }

    async fn subscription_by_provider_id(
        &self,
        stripe_subscription_id: &str,
    ) -> StoreResult<Option<Subscription>> {
        Ok(self
            .tables()
            .subscriptions
            .values()
            .find(|s| s.stripe_subscription_id.as_deref() == Some(stripe_subscription_id))
            .cloned())
    }
}
