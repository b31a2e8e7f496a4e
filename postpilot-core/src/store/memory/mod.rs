//! The in-memory store: the embedded default and the reference the Postgres store is tested
//! against. One mutex over all tables makes every call atomic, so the guarded writes have exactly
//! the semantics the Postgres store gives them with transactions and row locks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::plan::MonthWindow;

mod accounts;
mod api_keys;
mod attempts;
mod metrics;
mod posts;
mod queue;
mod subscriptions;
mod tokens;
mod users;
mod webhooks;

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
    /// Token refresh leases: account → until when.
    refresh_leases: HashMap<AccountId, DateTime<Utc>>,
}

impl Tables {
    fn posts_created(&self, owner: UserId, window: MonthWindow) -> u64 {
        self.posts
            .values()
            .filter(|p| p.user_id == owner && window.contains(p.created_at))
            .count() as u64
    }

    /// One of the owner's accounts, to change; [`StoreError::NotFound`] unless it is theirs.
    fn owned_account(&mut self, owner: UserId, id: AccountId) -> StoreResult<&mut SocialAccount> {
        self.accounts
            .get_mut(&id)
            .filter(|a| a.user_id == owner)
            .ok_or(StoreError::NotFound)
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
                return Err(StoreError::Conflict(Conflict::Email));
            }
            if user.external_platform_id.is_some()
                && other.external_platform_id == user.external_platform_id
            {
                return Err(StoreError::Conflict(Conflict::ExternalPlatformId));
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
impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
