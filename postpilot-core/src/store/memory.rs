//! The in-memory store: the embedded default and the reference the Postgres store is tested
//! against. One mutex over all tables makes every call atomic, so the guarded writes have exactly
//! the semantics the Postgres store gives them with transactions and row locks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::plan::MonthWindow;

#[derive(Debug, Default)]
struct Tables {
    users: BTreeMap<UserId, User>,
    accounts: BTreeMap<AccountId, SocialAccount>,
    posts: BTreeMap<PostId, Post>,
    queue: BTreeMap<QueueItemId, QueueItem>,
    metrics: HashMap<PostId, PostMetrics>,
    subscriptions: HashMap<UserId, Subscription>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    refresh_tokens: HashMap<String, RefreshToken>,
    /// `(source, id)` → `Some(lease end)` while claimed, `None` once done.
    webhook_events: HashMap<(String, String), Option<DateTime<Utc>>>,
    attempts: Vec<PublicationAttempt>,
}

impl Tables {
    fn posts_created(&self, owner: UserId, window: MonthWindow) -> u64 {
        self.posts
            .values()
            .filter(|p| p.user_id == owner && window.contains(p.created_at))
            .count() as u64
    }

    fn connected(&self, owner: UserId) -> impl Iterator<Item = &SocialAccount> {
        self.accounts
            .values()
            .filter(move |a| a.user_id == owner && a.is_connected)
    }

    fn revoke_refresh_tokens(&mut self, which: impl Fn(&RefreshToken) -> bool, now: DateTime<Utc>) {
        for token in self
            .refresh_tokens
            .values_mut()
            .filter(|t| t.revoked_at.is_none() && which(t))
        {
            token.revoked_at = Some(now);
        }
    }

    fn check_user_unique(&self, user: &User) -> StoreResult<()> {
        for other in self.users.values().filter(|u| u.id != user.id) {
            if other.email == user.email {
                return Err(StoreError::Conflict("users_email_key"));
            }
            if user.external_platform_id.is_some()
                && other.external_platform_id == user.external_platform_id
            {
                return Err(StoreError::Conflict("users_external_platform_id_key"));
            }
        }
        Ok(())
    }
}

/// Every table in memory. Cheap to create; each instance is independent.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Wakes waiting workers when a post becomes (re)scheduled.
    due_changed: tokio::sync::Notify,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn scheduled(&self, status: PostStatus) {
        if status == PostStatus::Scheduled {
            self.due_changed.notify_waiters();
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied change: every method
        // validates before it mutates. So a poisoned lock is safe to keep using.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn newest_first<T>(mut items: Vec<T>, key: impl Fn(&T) -> (DateTime<Utc>, uuid::Uuid)) -> Vec<T> {
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    items
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut t = self.tables();
        if t.users.contains_key(&user.id) {
            return Err(StoreError::Conflict("users_pkey"));
        }
        t.check_user_unique(user)?;
        t.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.tables().users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        Ok(self
            .tables()
            .users
            .values()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn user_by_external_id(
        &self,
        external_platform_id: uuid::Uuid,
    ) -> StoreResult<Option<User>> {
        Ok(self
            .tables()
            .users
            .values()
            .find(|u| u.external_platform_id == Some(external_platform_id))
            .cloned())
    }

    async fn change_user(&self, id: UserId, change: &UserChange) -> StoreResult<User> {
        let mut t = self.tables();
        let mut user = t.users.get(&id).cloned().ok_or(StoreError::NotFound)?;
        if let Some(email) = &change.email {
            user.email = email.clone();
        }
        if let Some(hash) = &change.password_hash {
            user.password_hash = hash.clone();
        }
        if let Some(customer) = &change.stripe_customer_id {
            user.stripe_customer_id = Some(customer.clone());
        }
        if let Some(link) = change.link_platform {
            if user
                .external_platform_id
                .is_some_and(|linked| linked != link.external_platform_id)
            {
                return Err(StoreError::Stale);
            }
            user.external_platform_id = Some(link.external_platform_id);
            if link.external_store_id.is_some() {
                user.external_store_id = link.external_store_id;
            }
        }
        if change.end_sessions {
            user.session_epoch += 1;
        }
        user.updated_at = change.updated_at;
        t.check_user_unique(&user)?;
        t.users.insert(id, user.clone());
        Ok(user)
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn connect_account(
        &self,
        account: &SocialAccount,
        limit: Limit,
    ) -> StoreResult<SocialAccount> {
        let mut t = self.tables();
        let existing = t
            .accounts
            .values()
            .find(|a| {
                a.user_id == account.user_id
                    && a.platform == account.platform
                    && a.account_id_external == account.account_id_external
            })
            .map(|a| (a.id, a.is_connected, a.created_at));
        let connected = t.connected(account.user_id).count() as u64;
        let already_counted = existing.is_some_and(|(_, is_connected, _)| is_connected);
        if !already_counted && !limit.allows_one_more(connected) {
            return Err(StoreError::LimitReached);
        }
        let stored = match existing {
            Some((id, _, created_at)) => SocialAccount {
                id,
                created_at,
                ..account.clone()
            },
            None => account.clone(),
        };
        t.accounts.insert(stored.id, stored.clone());
        Ok(stored)
    }

    async fn set_account_tokens(
        &self,
        owner: UserId,
        id: AccountId,
        access_token_enc: Option<String>,
        refresh_token_enc: Option<String>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let account = t
            .accounts
            .get_mut(&id)
            .filter(|a| a.user_id == owner)
            .ok_or(StoreError::NotFound)?;
        if !account.is_connected {
            // Disconnected in the meantime: its tokens stay erased.
            return Err(StoreError::Stale);
        }
        account.access_token_enc = access_token_enc;
        account.refresh_token_enc = refresh_token_enc;
        Ok(())
    }

    async fn account(&self, owner: UserId, id: AccountId) -> StoreResult<Option<SocialAccount>> {
        Ok(self
            .tables()
            .accounts
            .get(&id)
            .filter(|a| a.user_id == owner)
            .cloned())
    }

    async fn list_accounts(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<SocialAccount>> {
        let mut all: Vec<_> = self
            .tables()
            .accounts
            .values()
            .filter(|a| a.user_id == owner)
            .cloned()
            .collect();
        all.sort_by_key(|a| (a.created_at, a.id));
        Ok(page.slice(all))
    }

    async fn disconnect_account(
        &self,
        owner: UserId,
        id: AccountId,
    ) -> StoreResult<Option<SocialAccount>> {
        let mut t = self.tables();
        let Some(account) = t.accounts.get_mut(&id).filter(|a| a.user_id == owner) else {
            return Ok(None);
        };
        account.is_connected = false;
        account.access_token_enc = None;
        account.refresh_token_enc = None;
        Ok(Some(account.clone()))
    }

    async fn count_connected_accounts(&self, owner: UserId) -> StoreResult<u64> {
        Ok(self.tables().connected(owner).count() as u64)
    }

    async fn disconnect_accounts_beyond(
        &self,
        owner: UserId,
        keep: u32,
    ) -> StoreResult<Vec<AccountId>> {
        let mut t = self.tables();
        let mut connected: Vec<_> = t
            .connected(owner)
            .map(|a| (a.connected_at.unwrap_or(a.created_at), a.id))
            .collect();
        connected.sort();
        let excess: Vec<AccountId> = connected
            .into_iter()
            .skip(keep as usize)
            .map(|(_, id)| id)
            .collect();
        for id in &excess {
            if let Some(a) = t.accounts.get_mut(id) {
                a.is_connected = false;
                a.access_token_enc = None;
                a.refresh_token_enc = None;
            }
        }
        Ok(excess)
    }

    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        id: AccountId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut t = self.tables();
        let Some(account) = t.accounts.get_mut(&id).filter(|a| a.user_id == owner) else {
            return Err(StoreError::NotFound);
        };
        account.needs_reconnect = true;
        let mut failed = 0;
        for post in t
            .posts
            .values_mut()
            .filter(|p| p.account_id == id && p.status == PostStatus::Scheduled)
        {
            if post.fail(reason, now).is_ok() {
                failed += 1;
            }
        }
        Ok(failed)
    }
}

#[async_trait]
impl PostStore for MemoryStore {
    async fn insert_post(&self, post: &Post, quota: PostQuota) -> StoreResult<()> {
        let mut t = self.tables();
        if t.posts.contains_key(&post.id) {
            return Err(StoreError::Conflict("posts_pkey"));
        }
        if !quota
            .limit
            .allows_one_more(t.posts_created(post.user_id, quota.window))
        {
            return Err(StoreError::LimitReached);
        }
        t.posts.insert(post.id, post.clone());
        drop(t);
        self.scheduled(post.status);
        Ok(())
    }

    async fn post(&self, owner: UserId, id: PostId) -> StoreResult<Option<Post>> {
        Ok(self
            .tables()
            .posts
            .get(&id)
            .filter(|p| p.user_id == owner)
            .cloned())
    }

    async fn list_posts(
        &self,
        owner: UserId,
        filter: PostListFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Post>> {
        let all: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| {
                p.user_id == owner
                    && filter.status.is_none_or(|s| p.status == s)
                    && filter.platform.is_none_or(|pl| p.platform == pl)
            })
            .cloned()
            .collect();
        Ok(page.slice(newest_first(all, |p| (p.created_at, p.id.as_uuid()))))
    }

    async fn posts_between(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Post>> {
        let mut posts: Vec<_> = self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner)
            .filter(|p| p.scheduled_for.is_some_and(|at| from <= at && at < to))
            .cloned()
            .collect();
        posts.sort_by_key(|p| (p.scheduled_for, p.id));
        Ok(posts)
    }

    async fn update_post(&self, post: &Post, expected: &[PostStatus]) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .posts
            .get_mut(&post.id)
            .filter(|p| p.user_id == post.user_id)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) || stored.lease_token != post.lease_token {
            return Err(StoreError::Stale);
        }
        *stored = post.clone();
        drop(t);
        self.scheduled(post.status);
        Ok(())
    }

    async fn delete_post(
        &self,
        owner: UserId,
        id: PostId,
        expected: &[PostStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .posts
            .get(&id)
            .filter(|p| p.user_id == owner)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) {
            return Err(StoreError::Stale);
        }
        t.posts.remove(&id);
        t.metrics.remove(&id);
        Ok(())
    }

    async fn count_posts_created(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(self
            .tables()
            .posts
            .values()
            .filter(|p| p.user_id == owner && from <= p.created_at && p.created_at < to)
            .count() as u64)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
    ) -> StoreResult<Vec<ClaimedPost>> {
        let mut t = self.tables();
        let mut due: Vec<(DateTime<Utc>, PostId)> = t
            .posts
            .values()
            .filter(|p| p.is_claimable(now))
            .filter_map(|p| {
                let at = match p.status {
                    PostStatus::Publishing => p.lease.as_ref().map(|l| l.expires_at),
                    _ => p.due_at(),
                }?;
                Some((at, p.id))
            })
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, id) in due.into_iter().take(limit as usize) {
            if let Some(post) = t.posts.get_mut(&id)
                && let Ok(rescued) = post.claim(worker, lease_for, now)
            {
                claimed.push(ClaimedPost {
                    post: post.clone(),
                    rescued,
                });
            }
        }
        Ok(claimed)
    }

    async fn commit_claims(&self, posts: &[Post]) -> StoreResult<Vec<bool>> {
        let mut t = self.tables();
        let mut written = Vec::with_capacity(posts.len());
        for post in posts {
            let Some(stored) = t.posts.get_mut(&post.id).filter(|s| {
                s.status == PostStatus::Publishing && s.lease_token == post.lease_token
            }) else {
                written.push(false);
                continue;
            };
            *stored = post.clone();
            written.push(true);
            if post.status == PostStatus::Posted
                && let Some(item_id) = post.queue_item_id
            {
                let all_posted = t
                    .posts
                    .values()
                    .filter(|p| p.queue_item_id == Some(item_id))
                    .all(|p| p.status == PostStatus::Posted);
                if all_posted && let Some(item) = t.queue.get_mut(&item_id) {
                    let _ = item.mark_posted(post.updated_at);
                }
            }
        }
        drop(t);
        if posts.iter().any(|p| p.status == PostStatus::Scheduled) {
            self.due_changed.notify_waiters();
        }
        Ok(written)
    }

    async fn wait_for_due_change(&self, max: std::time::Duration) -> bool {
        tokio::time::timeout(max, self.due_changed.notified())
            .await
            .is_ok()
    }

    async fn extend_lease(
        &self,
        id: PostId,
        lease_token: i64,
        until: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t.posts.get_mut(&id).ok_or(StoreError::NotFound)?;
        match stored.lease.as_mut() {
            Some(lease)
                if stored.status == PostStatus::Publishing && lease.token == lease_token =>
            {
                lease.expires_at = until;
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self
            .tables()
            .posts
            .values()
            .filter_map(|p| match p.status {
                PostStatus::Scheduled => p.due_at(),
                PostStatus::Publishing => p.lease.as_ref().map(|l| l.expires_at),
                _ => None,
            })
            .min())
    }

    async fn posts_needing_metrics(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let t = self.tables();
        let mut posts: Vec<_> = t
            .posts
            .values()
            .filter(|p| p.status == PostStatus::Posted)
            .filter(|p| {
                t.metrics
                    .get(&p.id)
                    .is_none_or(|m| m.fetched_at < stale_before)
            })
            .cloned()
            .collect();
        posts.sort_by_key(|p| {
            (
                t.metrics.get(&p.id).map(|m| m.fetched_at),
                p.posted_at,
                p.id,
            )
        });
        posts.truncate(limit as usize);
        Ok(posts)
    }
}

#[async_trait]
impl QueueStore for MemoryStore {
    async fn insert_queue_item(&self, item: &QueueItem) -> StoreResult<()> {
        let mut t = self.tables();
        if t.queue.contains_key(&item.id) {
            return Err(StoreError::Conflict("content_queue_pkey"));
        }
        t.queue.insert(item.id, item.clone());
        Ok(())
    }

    async fn queue_item(&self, owner: UserId, id: QueueItemId) -> StoreResult<Option<QueueItem>> {
        Ok(self
            .tables()
            .queue
            .get(&id)
            .filter(|i| i.user_id == owner)
            .cloned())
    }

    async fn list_queue_items(
        &self,
        owner: UserId,
        status: Option<QueueStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<QueueItem>> {
        let all: Vec<_> = self
            .tables()
            .queue
            .values()
            .filter(|i| i.user_id == owner && status.is_none_or(|s| i.status == s))
            .cloned()
            .collect();
        Ok(page.slice(newest_first(all, |i| (i.created_at, i.id.as_uuid()))))
    }

    async fn update_queue_item(
        &self,
        item: &QueueItem,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get_mut(&item.id)
            .filter(|i| i.user_id == item.user_id)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) {
            return Err(StoreError::Stale);
        }
        *stored = item.clone();
        Ok(())
    }

    async fn delete_queue_item(
        &self,
        owner: UserId,
        id: QueueItemId,
        expected: &[QueueStatus],
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get(&id)
            .filter(|i| i.user_id == owner)
            .ok_or(StoreError::NotFound)?;
        if !expected.contains(&stored.status) {
            return Err(StoreError::Stale);
        }
        t.queue.remove(&id);
        Ok(())
    }

    async fn approve_queue_item(
        &self,
        item: &QueueItem,
        posts: &[Post],
        quota: PostQuota,
    ) -> StoreResult<()> {
        let mut t = self.tables();
        let stored = t
            .queue
            .get(&item.id)
            .filter(|i| i.user_id == item.user_id)
            .ok_or(StoreError::NotFound)?;
        if stored.status != QueueStatus::Pending {
            return Err(StoreError::Stale);
        }
        let used = t.posts_created(item.user_id, quota.window);
        if let Some(max) = quota.limit.max()
            && used + posts.len() as u64 > u64::from(max)
        {
            return Err(StoreError::LimitReached);
        }
        if posts.iter().any(|p| t.posts.contains_key(&p.id)) {
            return Err(StoreError::Conflict("posts_pkey"));
        }
        t.queue.insert(item.id, item.clone());
        for post in posts {
            t.posts.insert(post.id, post.clone());
        }
        drop(t);
        if let Some(post) = posts.first() {
            self.scheduled(post.status);
        }
        Ok(())
    }
}

#[async_trait]
impl MetricsStore for MemoryStore {
    async fn upsert_metrics(&self, metrics: &PostMetrics) -> StoreResult<()> {
        let mut t = self.tables();
        if t.posts
            .get(&metrics.post_id)
            .is_none_or(|p| p.user_id != metrics.user_id)
        {
            return Err(StoreError::NotFound);
        }
        t.metrics.insert(metrics.post_id, metrics.clone());
        Ok(())
    }

    async fn post_metrics(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Option<PostMetrics>> {
        Ok(self
            .tables()
            .metrics
            .get(&post_id)
            .filter(|m| m.user_id == owner)
            .cloned())
    }

    async fn list_post_metrics(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<PostMetrics>> {
        let t = self.tables();
        let mut all: Vec<_> = t
            .metrics
            .values()
            .filter(|m| m.user_id == owner)
            .cloned()
            .collect();
        all.sort_by_key(|m| {
            std::cmp::Reverse((t.posts.get(&m.post_id).and_then(|p| p.posted_at), m.post_id))
        });
        Ok(page.slice(all))
    }

    async fn analytics_overview(&self, owner: UserId) -> StoreResult<AnalyticsOverview> {
        let t = self.tables();
        let mut overview = AnalyticsOverview {
            posts_published: t
                .posts
                .values()
                .filter(|p| p.user_id == owner && p.status == PostStatus::Posted)
                .count() as u64,
            ..AnalyticsOverview::default()
        };
        let mut rates = Vec::new();
        for m in t.metrics.values().filter(|m| m.user_id == owner) {
            let (o, c) = (&mut overview.totals, &m.counts);
            o.impressions += c.impressions;
            o.reach += c.reach;
            o.likes += c.likes;
            o.comments += c.comments;
            o.shares += c.shares;
            o.clicks += c.clicks;
            rates.push(c.engagement_rate());
        }
        if !rates.is_empty() {
            #[allow(clippy::cast_precision_loss)]
            let mean = rates.iter().sum::<f64>() / rates.len() as f64;
            overview.engagement_rate = crate::analytics::round2(mean);
        }
        Ok(overview)
    }
}

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
            return Err(StoreError::Conflict(
                "subscriptions_stripe_subscription_id_key",
            ));
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

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey, max_active: u32) -> StoreResult<()> {
        let mut t = self.tables();
        if t.api_keys.values().any(|k| k.key_hash == key.key_hash) {
            return Err(StoreError::Conflict("api_keys_key_hash_key"));
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
        Ok(page.slice(newest_first(all, |k| (k.created_at, k.id.as_uuid()))))
    }

    async fn revoke_api_key(&self, owner: UserId, id: ApiKeyId) -> StoreResult<bool> {
        let mut t = self.tables();
        Ok(
            match t.api_keys.get_mut(&id).filter(|k| k.user_id == owner) {
                Some(key) => {
                    key.is_active = false;
                    true
                }
                None => false,
            },
        )
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
        key.last_used_at = Some(at);
        Ok(())
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryStore {
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut t = self.tables();
        if t.refresh_tokens.contains_key(&token.token_hash) {
            return Err(StoreError::Conflict("refresh_tokens_token_hash_key"));
        }
        t.refresh_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
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
        if t.refresh_tokens.contains_key(&successor.token_hash) {
            return Err(StoreError::Conflict("refresh_tokens_token_hash_key"));
        }
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

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn record_attempts(&self, attempts: &[PublicationAttempt]) -> StoreResult<()> {
        self.tables().attempts.extend_from_slice(attempts);
        Ok(())
    }

    async fn attempts(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Vec<PublicationAttempt>> {
        Ok(self
            .tables()
            .attempts
            .iter()
            .filter(|a| a.user_id == owner && a.post_id == post_id)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
