//! The in-memory store: the embedded default and the reference the Postgres store is tested
//! against. One mutex over all tables makes every call atomic, so the guarded writes have exactly
//! the semantics the Postgres store gives them with transactions and row locks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::page::{Cursor, Order};
use crate::plan::MonthWindow;

mod accounts;
mod api_keys;
mod attempts;
mod endpoints;
mod events;
mod idempotency;
mod imports;
mod metrics;
mod posts;
mod queue;
mod schedules;
mod subscriptions;
mod templates;
mod tokens;
mod users;
mod webhooks;

#[derive(Debug, Default)]
struct Tables {
    users: BTreeMap<UserId, User>,
    accounts: BTreeMap<AccountId, SocialAccount>,
    posts: BTreeMap<PostId, Post>,
    queue: BTreeMap<QueueItemId, QueueItem>,
    /// Language-model generations per (owner, month start).
    generations: HashMap<(UserId, DateTime<Utc>), u64>,
    metrics: HashMap<PostId, PostMetrics>,
    subscriptions: HashMap<UserId, Subscription>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    refresh_tokens: BTreeMap<String, RefreshToken>,
    /// `(source, id)` → `Some(lease end)` while claimed, `None` once done.
    webhook_events: HashMap<(String, String), Option<DateTime<Utc>>>,
    attempts: Vec<PublicationAttempt>,
    templates: BTreeMap<TemplateId, CaptionTemplate>,
    schedules: BTreeMap<AccountId, PostingSchedule>,
    idempotency: HashMap<(UserId, IdempotencyKey), IdempotencyRecord>,
    /// Imported rows' references, per owner.
    /// Each imported row's reference, and the post or queue item it created.
    import_refs: HashMap<(UserId, String), uuid::Uuid>,
    imports: BTreeMap<ImportId, Import>,
    /// Token refresh leases: account → until when.
    refresh_leases: HashMap<AccountId, DateTime<Utc>>,
    endpoints: BTreeMap<EndpointId, WebhookEndpoint>,
    /// The outbox: events with at least one delivery, and the deliveries.
    events: BTreeMap<crate::id::EventId, crate::event::Event>,
    deliveries: BTreeMap<crate::id::DeliveryId, crate::event::Delivery>,
}

impl Tables {
    /// Writes `events` (the outbox: see [`EventStore`]), each with a delivery per endpoint of
    /// its owner (or the operator's) that receives it; an event no endpoint receives is not kept, and an event
    /// already written is not written again.
    fn record(&mut self, events: impl IntoIterator<Item = crate::event::Event>) {
        for event in events {
            let receivers: Vec<crate::event::Delivery> = self
                .endpoints
                .values()
                .filter(|e| e.receives_from(event.user_id, event.kind))
                .map(|e| {
                    let id = crate::event::Delivery::id_for(&event, e.id);
                    crate::event::Delivery::new(id, &event, e)
                })
                .collect();
            if receivers.is_empty() || self.events.contains_key(&event.id) {
                continue;
            }
            for delivery in receivers {
                self.deliveries.insert(delivery.id, delivery);
            }
            self.events.insert(event.id, event);
        }
    }

    fn posts_created(&self, owner: UserId, window: MonthWindow) -> u64 {
        self.posts
            .values()
            .filter(|p| p.user_id == owner && window.contains(p.created_at))
            .count() as u64
    }

    /// One of the owner's accounts, to change; [`StoreError::NotFound`] unless it is theirs.
    fn owned_account(&mut self, owner: UserId, id: AccountId) -> StoreResult<&mut SocialAccount> {
        owned_mut(&mut self.accounts, owner, &id).ok_or(StoreError::NotFound)
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

    /// Refuses `posts` (written together) when two of them, or one of them and a stored post
    /// they do not replace, would hold one slot of an account (the PostgreSQL store's
    /// `posts_account_slot_key`). One pass over the stored posts, however many are written.
    fn check_slots_free<'a>(&self, posts: impl IntoIterator<Item = &'a Post>) -> StoreResult<()> {
        let mut writing = HashSet::new();
        let mut slots = HashSet::new();
        for post in posts {
            writing.insert(post.id);
            if post.holds_slot() && !slots.insert((post.account_id, post.scheduled_for)) {
                return Err(StoreError::Conflict(Conflict::SlotTaken));
            }
        }
        let taken = !slots.is_empty()
            && self.posts.values().any(|other| {
                !writing.contains(&other.id)
                    && other.holds_slot()
                    && slots.contains(&(other.account_id, other.scheduled_for))
            });
        if taken {
            return Err(StoreError::Conflict(Conflict::SlotTaken));
        }
        Ok(())
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

/// A row that belongs to one user: reads and writes by id check the owner too.
trait Owned {
    fn owner(&self) -> UserId;
}

/// A row whose guarded writes expect it in one of some statuses.
trait Stated: Owned {
    type Status: PartialEq + Copy;
    fn state(&self) -> Self::Status;
}

/// Rows owned through their `user_id`.
macro_rules! owned_by_user_id {
    ($($row:ty),*) => {$(
        impl Owned for $row {
            fn owner(&self) -> UserId {
                self.user_id
            }
        }
    )*};
}

owned_by_user_id!(
    SocialAccount,
    ApiKey,
    Post,
    QueueItem,
    CaptionTemplate,
    PostingSchedule,
    Import,
    WebhookEndpoint,
    crate::event::Delivery
);

impl Stated for Post {
    type Status = PostStatus;
    fn state(&self) -> PostStatus {
        self.status
    }
}

impl Stated for QueueItem {
    type Status = QueueStatus;
    fn state(&self) -> QueueStatus {
        self.status
    }
}

/// `owner`'s row `id` of `table`, if there is one.
fn owned<'a, K: Ord, V: Owned>(table: &'a BTreeMap<K, V>, owner: UserId, id: &K) -> Option<&'a V> {
    table.get(id).filter(|row| row.owner() == owner)
}

/// `owner`'s row `id` of `table`, to change, if there is one.
fn owned_mut<'a, K: Ord, V: Owned>(
    table: &'a mut BTreeMap<K, V>,
    owner: UserId,
    id: &K,
) -> Option<&'a mut V> {
    table.get_mut(id).filter(|row| row.owner() == owner)
}

/// `owner`'s row `id` of `table`, to change, if its status is one of `expected`:
/// [`StoreError::NotFound`] unless it is theirs, [`StoreError::Stale`] once it has moved on.
fn expecting<'a, K: Ord, V: Stated>(
    table: &'a mut BTreeMap<K, V>,
    owner: UserId,
    id: &K,
    expected: &[V::Status],
) -> StoreResult<&'a mut V> {
    let row = owned_mut(table, owner, id).ok_or(StoreError::NotFound)?;
    if expected.contains(&row.state()) {
        Ok(row)
    } else {
        Err(StoreError::Stale)
    }
}

/// [`StoreError::Conflict`] with `conflict` when `key` is taken in `table`.
fn ensure_absent<K: Ord, V>(
    table: &BTreeMap<K, V>,
    key: &K,
    conflict: Conflict,
) -> StoreResult<()> {
    if table.contains_key(key) {
        Err(StoreError::Conflict(conflict))
    } else {
        Ok(())
    }
}

/// `page` of `items` listed in `order` by `position` (each list's time, then id).
fn page_of<T>(
    page: PageRequest,
    mut items: Vec<T>,
    order: Order,
    position: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let key = |item: &T| {
        let c = position(item);
        (c.at(), c.id())
    };
    match order {
        Order::NewestFirst => items.sort_by_key(|item| std::cmp::Reverse(key(item))),
        Order::OldestFirst => items.sort_by_key(key),
    }
    page.slice(items, order, position)
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
