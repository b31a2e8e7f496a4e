//! The storage ports: one trait per aggregate and the [`Store`] supertrait over them.
//!
//! Rules decide in core; stores enforce atomically. Every write a rule guards is conditional
//! (insert-within-quota, compare-and-set on status, claim with a lease, commit fenced by the lease
//! token), and every read and write of a user's data takes the owner's id, so isolation is a
//! property of the signatures rather than of callers' care. Only the scheduler's operations
//! (`claim_due`, `commit_claim`, …) and authentication lookups (`api_key_by_hash`,
//! `rotate_refresh_token`) cross owners, by design; no user-facing service exposes them.

mod memory;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::account::{SealedTokens, SocialAccount};
use crate::analytics::{AnalyticsOverview, DayMetrics, PostMetrics};
use crate::api_key::ApiKey;
use crate::billing::Subscription;
use crate::event::{ClaimedDelivery, Delivery, DeliveryStatus, EndpointHealth, WebhookEndpoint};
use crate::id::{
    AccountId, ApiKeyId, DeliveryId, EndpointId, ImportId, PostId, QueueItemId, TemplateId,
    TokenFamilyId, UserId,
};
use crate::idempotency::{Begun, IdempotencyKey, IdempotencyRecord, StoredResponse};
use crate::import::Import;
use crate::page::{Page, PageRequest};
use crate::plan::{Limit, MonthWindow, PostQuota};
use crate::platform::Platform;
use crate::post::{Checkpoint, Post, PostStatus};
use crate::publish::PublicationAttempt;
use crate::queue::{QueueItem, QueueStatus};
use crate::schedule::PostingSchedule;
use crate::template::CaptionTemplate;
use crate::user::{Email, RefreshToken, RefreshUse, Successor, User};

pub use memory::MemoryStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row for this owner.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; says which.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A guarded insert found the quota full.
    #[error("limit reached")]
    LimitReached,
    /// A compare-and-set found the row in another state (or, for fenced commits, under another
    /// lease): nothing was written.
    #[error("stale: the row changed")]
    Stale,
    /// The backend failed (connection, timeout, …). The cause is for logs only.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The uniqueness rule a write broke. Adapters map their own constraint names to these; the
/// names never leave the adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The record's id is taken (a retried insert, or a generated id colliding).
    #[error("a record with this id already exists")]
    DuplicateId,
    /// Another user has the e-mail.
    #[error("email is already registered")]
    Email,
    /// Another user is linked to the platform user.
    #[error("the platform user is linked to another account")]
    ExternalPlatformId,
    /// Another user holds the provider's subscription.
    #[error("the subscription belongs to another user")]
    ProviderSubscription,
    /// Another key has the hash.
    #[error("the key already exists")]
    ApiKeyHash,
    /// Another refresh token has the hash.
    #[error("the token already exists")]
    RefreshTokenHash,
    /// Another post of the account holds the slot at that instant.
    #[error("another post holds that slot")]
    SlotTaken,
    /// A row of the import was imported before (by another import, meanwhile).
    #[error("a row was imported meanwhile")]
    AlreadyImported,
    /// A rule this version does not name.
    #[error("the record conflicts with a stored one")]
    Other,
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Filters of the post list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostListFilter {
    /// Only this status.
    pub status: Option<PostStatus>,
    /// Only this platform.
    pub platform: Option<Platform>,
}

/// Users.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user. [`StoreError::Conflict`]`(`[`Conflict::Email`]`)` when the e-mail is taken,
    /// `("users_external_platform_id_key")` when the platform id is.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// A user by (normalised) e-mail.
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// A user by the dropshipping platform's id.
    async fn user_by_external_id(
        &self,
        external_platform_id: uuid::Uuid,
    ) -> StoreResult<Option<User>>;
    /// Writes only the fields `change` names, and returns the user as stored afterwards — so
    /// concurrent changes of different fields (a checkout storing the customer id while the user
    /// changes their e-mail) never undo each other. Same conflicts as insert;
    /// [`StoreError::NotFound`] if absent; [`StoreError::Stale`] when `link_platform` finds the
    /// user linked to another platform id.
    async fn change_user(&self, id: UserId, change: &UserChange) -> StoreResult<User>;
}

/// A change to some fields of a user; `None` leaves a field as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new e-mail address.
    pub email: Option<Email>,
    /// A new password hash.
    pub password_hash: Option<String>,
    /// The billing provider's customer id.
    pub stripe_customer_id: Option<String>,
    /// Links the user to the dropshipping platform — only if the user is not linked yet or
    /// already linked to the same platform id.
    pub link_platform: Option<PlatformLink>,
    /// A new time zone.
    pub time_zone: Option<chrono_tz::Tz>,
    /// A new choice of what product changes pause.
    pub pause_on: Option<crate::post::PauseOn>,
    /// Moves the session epoch on by one: every access token issued before stops working.
    pub end_sessions: bool,
    /// The change's time.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for UserChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserChange")
            .field("email", &self.email)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("stripe_customer_id", &self.stripe_customer_id)
            .field("link_platform", &self.link_platform)
            .field("time_zone", &self.time_zone)
            .field("end_sessions", &self.end_sessions)
            .finish_non_exhaustive()
    }
}

/// A user's link to the dropshipping platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformLink {
    /// The platform's user id.
    pub external_platform_id: uuid::Uuid,
    /// The platform's store id (kept as stored when `None`).
    pub external_store_id: Option<uuid::Uuid>,
}

/// A post's place in its account's publishing cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostSlot {
    /// The post.
    pub post: PostId,
    /// When it was published, or is due.
    pub at: DateTime<Utc>,
    /// Whether its publication has begun on the platform: it is posted, or a step of it is
    /// done (a checkpoint is kept: an Instagram container, a TikTok upload).
    pub started: bool,
}

/// Social accounts.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Connects `account` atomically within `limit` connected accounts of its owner. If the owner
    /// already has an account with the same platform and external id, that record is reactivated
    /// (new name and tokens, connected again) instead of a new one being inserted — and returned.
    /// An account already connected does not count twice. [`StoreError::LimitReached`] when the
    /// limit is full.
    async fn connect_account(
        &self,
        account: &SocialAccount,
        limit: Limit,
    ) -> StoreResult<SocialAccount>;
    /// Replaces the sealed OAuth tokens (and their expiry) of one of the owner's accounts, if it
    /// is still connected and, when `replacing` is given, its sealed access token is still that
    /// one ([`StoreError::Stale`] otherwise: a disconnect's erasure is never undone, and of two
    /// refreshes of one token only the first is kept).
    async fn set_account_tokens(
        &self,
        owner: UserId,
        id: AccountId,
        tokens: SealedTokens,
        replacing: Option<String>,
    ) -> StoreResult<()>;
    /// Token refresh: connected accounts, awaiting no reconnection, whose access token expires
    /// before `before`, soonest first, across owners.
    async fn accounts_expiring_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<SocialAccount>>;
    /// Token refresh: takes the account's refresh lease until `until` when nobody holds it at
    /// `now`, so one worker at a time asks the platform to refresh an account's tokens (a
    /// platform that rotates refresh tokens, like TikTok, spends the old one: two concurrent
    /// refreshes would leave one of them holding a dead token). Returns whether it was taken.
    async fn lease_token_refresh(
        &self,
        owner: UserId,
        id: AccountId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// One of the owner's accounts.
    async fn account(&self, owner: UserId, id: AccountId) -> StoreResult<Option<SocialAccount>>;
    /// The owner's accounts (connected and not), oldest first.
    async fn list_accounts(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<SocialAccount>>;
    /// Soft-disconnects: not connected, tokens cleared. Returns the account.
    async fn disconnect_account(
        &self,
        owner: UserId,
        id: AccountId,
    ) -> StoreResult<Option<SocialAccount>>;
    /// The owner's connected accounts.
    async fn count_connected_accounts(&self, owner: UserId) -> StoreResult<u64>;
    /// Disconnects the owner's most recently connected accounts beyond the first `keep`
    /// (a downgrade); returns the ids disconnected.
    async fn disconnect_accounts_beyond(
        &self,
        owner: UserId,
        keep: u32,
    ) -> StoreResult<Vec<AccountId>>;
    /// Records the publishing cap the platform reported for one of the owner's accounts (posts
    /// per rolling 24 hours) and when it was read. [`StoreError::NotFound`] unless it is the
    /// owner's.
    async fn set_publishing_cap(
        &self,
        owner: UserId,
        id: AccountId,
        posts: u32,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records that an account needs reconnection (the platform refused its token).
    /// [`StoreError::NotFound`] unless it is the owner's. What follows for its posts is core's
    /// decision, written through [`PostStore::update_post`].
    /// Writes `account.needs_reconnect` (at `at`) when the account did not need it yet.
    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        id: AccountId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Posts, including the scheduler's claim queue.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Inserts a post if its owner created fewer than `quota.limit` posts in `quota.window`,
    /// atomically. [`StoreError::LimitReached`] otherwise.
    async fn insert_post(&self, post: &Post, quota: PostQuota) -> StoreResult<()>;
    /// One of the owner's posts.
    async fn post(&self, owner: UserId, id: PostId) -> StoreResult<Option<Post>>;
    /// The owner's posts, newest first, filtered.
    async fn list_posts(
        &self,
        owner: UserId,
        filter: PostListFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Post>>;
    /// The owner's posts scheduled (or posted) in `[from, to)`, by time.
    async fn posts_between(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Post>>;
    /// The places the owner's posts on `account` take in its publishing cap, oldest first, at
    /// most `limit`: each posted post at its publication time, each scheduled or publishing one
    /// at its due time (its retry time, else its scheduled time; for a parked publication its
    /// next poll) — those in `(from, to]`.
    async fn account_slots(
        &self,
        owner: UserId,
        account: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PostSlot>>;
    /// The owner's posts on `account` in `status`, oldest first.
    async fn posts_of_account(
        &self,
        owner: UserId,
        account: AccountId,
        status: PostStatus,
    ) -> StoreResult<Vec<Post>>;
    /// The owner's scheduled posts advertising the shop's product `product` (their snapshot's
    /// id), oldest first.
    async fn scheduled_posts_of_product(
        &self,
        owner: UserId,
        product: &str,
    ) -> StoreResult<Vec<Post>>;
    /// The statuses of the owner's posts made from queue item `item`.
    async fn post_statuses_of_item(
        &self,
        owner: UserId,
        item: QueueItemId,
    ) -> StoreResult<Vec<PostStatus>>;
    /// Replaces the post's row if its stored status is one of `expected` and its lease token
    /// (the claim counter) is still the one in `post` — compare-and-set, so a post that a worker
    /// claimed in between (even if it is back to `scheduled` since) is never overwritten with
    /// stale scheduler fields. [`StoreError::Stale`] if not, [`StoreError::NotFound`] if absent.
    async fn update_post(&self, post: &Post, expected: &[PostStatus]) -> StoreResult<()>;
    /// Writes a pause made on `post` ([`Post::pause`]): its status, reason, product snapshot
    /// and the scheduler fields a pause clears, if the stored post is still scheduled under the same lease token
    /// ([`StoreError::Stale`] otherwise; [`StoreError::NotFound`] if absent). Every other field
    /// stays as stored, so a merchant's edit that landed since `post` was read is kept.
    async fn pause_post(&self, post: &Post) -> StoreResult<()>;
    /// Deletes the post if its status is one of `expected`.
    async fn delete_post(
        &self,
        owner: UserId,
        id: PostId,
        expected: &[PostStatus],
    ) -> StoreResult<()>;
    /// Posts the owner created in the month `window` that still exist: the monthly quota's count
    /// (a deleted post gives its place back).
    async fn count_posts_created(&self, owner: UserId, window: MonthWindow) -> StoreResult<u64>;

    /// Scheduler: claims up to `limit` posts due at `now` — scheduled ones whose time has come and
    /// publishing ones whose lease expired — oldest due first, each under a new lease for
    /// `worker` with an increased token. Cross-owner by design. Each claimed post comes back with
    /// `rescued = true` when its previous lease had lapsed.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
        worker: &str,
    ) -> StoreResult<Vec<ClaimedPost>>;
    /// Scheduler, for a worker that keeps claiming while it publishes: as
    /// [`claim_due`](Self::claim_due), but by account — the `accounts` accounts whose oldest due
    /// post is oldest, up to `per_account` due posts of each (oldest first), and none of an
    /// account in `busy` (those the worker is publishing for, or holds after a failure). So a
    /// claim spreads over as many accounts as it can, and each account's posts go to one lane
    /// that publishes them one after another. A store may choose among a bounded number of the
    /// oldest due posts (PostgreSQL: `accounts` × `per_account`), so a claim costs the same
    /// however many posts are due; the accounts beyond that window wait for the next claim.
    async fn claim_due_per_account(
        &self,
        now: DateTime<Utc>,
        accounts: u32,
        per_account: u32,
        lease_for: Duration,
        worker: &str,
        busy: &[AccountId],
    ) -> StoreResult<Vec<ClaimedPost>>;
    /// Scheduler: writes the outcomes of claims, in one transaction — each only if its post is
    /// still `publishing` under the lease token the post carries (the claim's: fencing). Returns,
    /// in order, whether each was written (`false`: the claim was lost, nothing changed). A post
    /// given more than once is written by its first occurrence only (which ends its
    /// `publishing`, so the fence refuses the others). What follows for a queue item whose posts
    /// are now all posted is core's decision, written through
    /// [`QueueStore::update_queue_item`].
    async fn commit_claims(&self, posts: &[Post]) -> StoreResult<Vec<bool>>;

    /// Scheduler: [`commit_claims`](Self::commit_claims) for one post.
    /// [`StoreError::Stale`] when the claim was lost.
    async fn commit_claim(&self, post: &Post) -> StoreResult<()> {
        match self
            .commit_claims(std::slice::from_ref(post))
            .await?
            .first()
        {
            Some(true) => Ok(()),
            _ => Err(StoreError::Stale),
        }
    }
    /// Scheduler: extends a claim still held under `lease_token`, and records `checkpoint` with
    /// it when one is given (a publication's step, stored before the publisher's next call).
    async fn extend_lease(
        &self,
        id: PostId,
        lease_token: i64,
        until: DateTime<Utc>,
        checkpoint: Option<Checkpoint>,
    ) -> StoreResult<()>;
    /// Scheduler: waits until posts may have become due sooner than last seen (a post was
    /// scheduled, rescheduled or set to retry — by any process sharing the store), or `max`
    /// passed. Returns whether it was woken by a change. Notifications can be lost (a worker
    /// that was not waiting at that moment), so callers bound `max` and look again.
    async fn wait_for_due_change(&self, max: std::time::Duration) -> bool;
    /// Scheduler: the earliest moment a post becomes claimable (due time or lease expiry).
    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Metrics job: posted posts whose metrics are missing or older than `stale_before`.
    async fn posts_needing_metrics(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Post>>;
}

/// A post claimed by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedPost {
    /// The post, now `publishing` under the new lease.
    pub post: Post,
    /// Whether an earlier claim lapsed: the post must be reconciled through `lookup` first.
    pub rescued: bool,
}

/// The content queue.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Inserts an item.
    async fn insert_queue_item(&self, item: &QueueItem) -> StoreResult<()>;
    /// One of the owner's items.
    async fn queue_item(&self, owner: UserId, id: QueueItemId) -> StoreResult<Option<QueueItem>>;
    /// The owner's items, newest first.
    async fn list_queue_items(
        &self,
        owner: UserId,
        status: Option<QueueStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<QueueItem>>;
    /// Replaces the item if its status is one of `expected`.
    async fn update_queue_item(
        &self,
        item: &QueueItem,
        expected: &[QueueStatus],
    ) -> StoreResult<()>;
    /// Deletes the item if its status is one of `expected`.
    async fn delete_queue_item(
        &self,
        owner: UserId,
        id: QueueItemId,
        expected: &[QueueStatus],
    ) -> StoreResult<()>;
    /// Approval, atomically: the item (already `approved`) replaces its pending row and every post
    /// is inserted within `quota` — all or nothing. [`StoreError::Stale`] if the item is no longer
    /// pending, [`StoreError::LimitReached`] if the posts do not all fit.
    async fn approve_queue_item(
        &self,
        item: &QueueItem,
        posts: &[Post],
        quota: PostQuota,
    ) -> StoreResult<()>;
    /// Counts one language-model generation of the owner's in the month starting `month`, if
    /// fewer than `limit` are counted there (`None`: no cap) — atomically, so concurrent
    /// generations never count past it. [`StoreError::LimitReached`] when full.
    async fn take_generation(
        &self,
        owner: UserId,
        month: DateTime<Utc>,
        limit: Option<u32>,
    ) -> StoreResult<()>;
    /// Gives back one generation counted in `month` (it stored nothing); never below zero.
    async fn return_generation(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<()>;
    /// The owner's generations counted in the month starting `month`.
    async fn count_generations(&self, owner: UserId, month: DateTime<Utc>) -> StoreResult<u64>;
}

/// Post metrics.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Inserts or replaces a published post's metrics; [`StoreError::NotFound`] for a post that
    /// is not the owner's or not published (metrics exist only for published posts, which is
    /// what lets the metrics list page through them by publication time).
    async fn upsert_metrics(&self, metrics: &PostMetrics) -> StoreResult<()>;
    /// The metrics of one of the owner's posts.
    async fn post_metrics(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Option<PostMetrics>>;
    /// The owner's post metrics, most recent post first.
    async fn list_post_metrics(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<PostMetrics>>;
    /// Totals over the owner's posts (with `posts_published` counting posted posts).
    async fn analytics_overview(&self, owner: UserId) -> StoreResult<AnalyticsOverview>;
    /// The owner's posts published in `[from, to)`, grouped by their local day in `zone`, with
    /// their metrics summed; days without a post are left out; oldest day first.
    async fn metrics_by_day(
        &self,
        owner: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: chrono_tz::Tz,
    ) -> StoreResult<Vec<DayMetrics>>;
    /// The owner's `limit` posts with the most interactions (then impressions; then the newer
    /// id), among posts with metrics.
    async fn top_post_metrics(&self, owner: UserId, limit: u32) -> StoreResult<Vec<PostMetrics>>;
}

/// Subscriptions (one per user).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Inserts or replaces the owner's subscription — unless it carries a
    /// [`last_event_rank`](Subscription::last_event_rank) lower than the stored one (a later
    /// billing event was applied meanwhile): then nothing is written and `false` returned. A
    /// write without a rank keeps the stored one.
    async fn upsert_subscription(&self, subscription: &Subscription) -> StoreResult<bool>;
    /// The owner's subscription.
    async fn subscription(&self, owner: UserId) -> StoreResult<Option<Subscription>>;
    /// A subscription by the provider's id (webhooks).
    async fn subscription_by_provider_id(
        &self,
        stripe_subscription_id: &str,
    ) -> StoreResult<Option<Subscription>>;
}

/// API keys.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key if its owner holds fewer than `max_active` active keys, atomically
    /// ([`StoreError::LimitReached`] otherwise). [`StoreError::Conflict`]`(`[`Conflict::ApiKeyHash`]`)`
    /// on a hash collision.
    async fn insert_api_key(&self, key: &ApiKey, max_active: u32) -> StoreResult<()>;
    /// The owner's keys (active and revoked), newest first.
    async fn list_api_keys(&self, owner: UserId, page: PageRequest) -> StoreResult<Page<ApiKey>>;
    /// Revokes one of the owner's keys; `false` if absent.
    async fn revoke_api_key(&self, owner: UserId, id: ApiKeyId) -> StoreResult<bool>;
    /// Authentication: an active key by its hash (cross-owner by design).
    async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>>;
    /// Records a successful use.
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Refresh tokens.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// The token with this hash, whatever its state (a browser session reads its token on each
    /// request without rotating it).
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Rotation, atomically: a fresh presented token is marked used and `successor` is stored in
    /// its family (returned as [`RefreshUse::Fresh`]); a used one revokes its whole family,
    /// successors included; unknown, expired or revoked ones are invalid. One transaction, so a
    /// replay racing a rotation cannot leave a working successor behind.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<RefreshUse>;
    /// Revokes a family (logout).
    async fn revoke_token_family(
        &self,
        family_id: TokenFamilyId,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Revokes the family of one of the owner's tokens, found by its hash (logout); `false` when
    /// the owner has no such token.
    async fn revoke_family_of(
        &self,
        owner: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Revokes every session of a user (password change).
    async fn revoke_user_refresh_tokens(
        &self,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// What claiming a webhook event found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookClaim {
    /// The caller holds the event until the lease ends: apply it, then finish (or release) it.
    Claimed,
    /// Another delivery holds a live claim on it.
    InProgress,
    /// It was applied before.
    Done,
}

/// Webhook events, claimed before they are applied (idempotency under concurrent deliveries).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookEventStore: Send + Sync {
    /// Claims `(source, event_id)` atomically until `lease_until`: a new event, or one whose
    /// earlier claim lapsed (its holder died mid-apply), is [`WebhookClaim::Claimed`]; one under
    /// a live claim is [`WebhookClaim::InProgress`]; one finished is [`WebhookClaim::Done`].
    async fn claim_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<WebhookClaim>;
    /// Marks a claimed event as applied: every later claim finds it [`WebhookClaim::Done`].
    async fn finish_webhook_event(
        &self,
        source: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Gives up a claim whose application failed, so the provider's retry can claim it at once.
    /// An event already finished is left as it is.
    async fn release_webhook_event(&self, source: &str, event_id: &str) -> StoreResult<()>;
}

/// The publication ledger.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Appends attempts (one statement).
    async fn record_attempts(&self, attempts: &[PublicationAttempt]) -> StoreResult<()>;

    /// Appends one attempt.
    async fn record_attempt(&self, attempt: &PublicationAttempt) -> StoreResult<()> {
        self.record_attempts(std::slice::from_ref(attempt)).await
    }

    /// The attempts at one of the owner's posts, in order.
    async fn attempts(
        &self,
        owner: UserId,
        post_id: PostId,
    ) -> StoreResult<Vec<PublicationAttempt>>;
}

/// Merchants' caption templates.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Inserts a template ([`StoreError::Conflict`] for a taken id).
    async fn insert_template(&self, template: &CaptionTemplate) -> StoreResult<()>;
    /// One of the owner's templates.
    async fn template(&self, owner: UserId, id: TemplateId)
    -> StoreResult<Option<CaptionTemplate>>;
    /// The owner's templates, oldest first.
    async fn list_templates(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> StoreResult<Page<CaptionTemplate>>;
    /// Writes every field of one of the owner's templates ([`StoreError::NotFound`] if absent).
    async fn update_template(&self, template: &CaptionTemplate) -> StoreResult<()>;
    /// Deletes one of the owner's templates; whether it existed.
    async fn delete_template(&self, owner: UserId, id: TemplateId) -> StoreResult<bool>;
}

/// Accounts' posting schedules.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Writes the schedule of one of its owner's accounts, replacing any
    /// ([`StoreError::NotFound`] when the account is not the owner's).
    async fn put_schedule(&self, schedule: &PostingSchedule) -> StoreResult<()>;
    /// The schedule of one of the owner's accounts, if it has one.
    async fn schedule(
        &self,
        owner: UserId,
        account: AccountId,
    ) -> StoreResult<Option<PostingSchedule>>;
}

/// Idempotent requests' keys ([`crate::idempotency`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Stores `record` — taking its key for its owner — when no record counts for that key at
    /// `now` (none, expired, or a run that lapsed unfinished: [`IdempotencyRecord::meets`] is
    /// `None`), and answers [`Begun::Run`]; else answers what the request meets there. Atomic:
    /// of concurrent requests with one key, one runs.
    async fn begin_request(
        &self,
        record: &IdempotencyRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<Begun>;
    /// Keeps the response of the run `attempt` holding the key ([`StoreError::Stale`] when it
    /// no longer holds it unfinished).
    async fn finish_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
        response: &StoredResponse,
    ) -> StoreResult<()>;
    /// Deletes the key's record while the run `attempt` holds it unfinished
    /// ([`StoreError::Stale`] otherwise).
    async fn release_request(
        &self,
        owner: UserId,
        key: &IdempotencyKey,
        attempt: Uuid,
    ) -> StoreResult<()>;
    /// Deletes the records expired at `now`; how many.
    async fn purge_requests(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// Bulk imports: the rows already imported, posts created in one write, and the reports.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Which of `references` the owner has imported before (each row's reference: its
    /// `external_id`, or its file and place in it).
    async fn imported_refs(&self, owner: UserId, references: &[String])
    -> StoreResult<Vec<String>>;
    /// Inserts the owner's imported `posts`, each under its reference, and keeps the import's
    /// report (replacing the running import of that id), in one atomic write — or nothing: when a reference was imported before
    /// ([`Conflict::AlreadyImported`]: another import took it meanwhile), when the posts do not
    /// all fit in `quota` ([`StoreError::LimitReached`]), when a post is on a slot another holds
    /// ([`Conflict::SlotTaken`]).
    async fn insert_imported_posts(
        &self,
        owner: UserId,
        posts: &[(String, Post)],
        quota: PostQuota,
        report: &Import,
    ) -> StoreResult<()>;
    /// Inserts the owner's imported queue `items` (from products), each under its reference, and
    /// keeps the import's report, in one atomic write — or nothing, when a reference was
    /// imported before ([`Conflict::AlreadyImported`]).
    async fn insert_imported_items(
        &self,
        owner: UserId,
        items: &[(String, QueueItem)],
        report: &Import,
    ) -> StoreResult<()>;
    /// Keeps an import: inserts it, or replaces the owner's running import of its id (its
    /// progress, its end); an ended import is left as it is.
    async fn put_import(&self, import: &Import) -> StoreResult<()>;
    /// One of the owner's imports.
    async fn import(&self, owner: UserId, id: ImportId) -> StoreResult<Option<Import>>;
}

/// Webhook endpoints: where a user's events are delivered.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// Inserts an endpoint if its owner holds fewer than `max` ([`StoreError::LimitReached`]
    /// otherwise), atomically.
    async fn insert_endpoint(&self, endpoint: &WebhookEndpoint, max: u32) -> StoreResult<()>;
    /// One of the owner's endpoints.
    async fn endpoint(&self, owner: UserId, id: EndpointId)
    -> StoreResult<Option<WebhookEndpoint>>;
    /// The owner's endpoints, oldest first.
    async fn list_endpoints(&self, owner: UserId) -> StoreResult<Vec<WebhookEndpoint>>;
    /// Replaces a stored endpoint of its owner if it is still as it was read — its
    /// `updated_at` is `read_at` ([`StoreError::Stale`] otherwise: another change came between;
    /// [`StoreError::NotFound`] when it is gone).
    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Deletes one of the owner's endpoints; whether it was there.
    async fn delete_endpoint(&self, owner: UserId, id: EndpointId) -> StoreResult<bool>;
}

/// The outbox's deliveries (issue 17). Events are written by the writes of what they report,
/// in the same transaction, each with one pending delivery per endpoint of its owner that
/// [receives](WebhookEndpoint::receives) it (none: the event is not kept; an event id already
/// written is not written again). A write that does not land writes no event. The writes and
/// their events, each built by core:
/// - every write of a post ([`PostStore::insert_post`], [`PostStore::update_post`],
///   [`PostStore::pause_post`], [`PostStore::commit_claims`],
///   [`QueueStore::approve_queue_item`], [`ImportStore::insert_imported_posts`]) writes the
///   event [`post_event`](crate::event::post_event) gives for its stored status before and the
///   post after; the inserts, the [`post_quota_events`](crate::event::post_quota_events) of the
///   month's count before them;
/// - a connection ([`AccountStore::connect_account`]) writes
///   [`account_connected`](crate::event::account_connected) and, when it adds to the connected
///   count, that limit's [`plan_limit_events`](crate::event::plan_limit_events);
/// - a refusal ([`AccountStore::mark_needs_reconnect`]) writes
///   [`account_needs_reconnect`](crate::event::account_needs_reconnect), once per connection;
/// - a new queue item ([`QueueStore::insert_queue_item`], [`ImportStore::insert_imported_items`])
///   writes [`queue_item_generated`](crate::event::queue_item_generated).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Worker: claims up to `limit` pending deliveries due at `now` (oldest due first) of
    /// enabled endpoints, each under a new lease token, due again at `now + lease_for` should
    /// the worker never settle it (so a lapsed claim is sent again, under the same event id).
    /// Cross-owner by design.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_for: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Worker: writes an attempt's outcome ([`Delivery::record`]) if the delivery is still
    /// under the lease token it carries ([`StoreError::Stale`] otherwise: the claim lapsed and
    /// another worker has it; [`StoreError::NotFound`] when its endpoint was deleted), and
    /// applies `health` to its endpoint as stored, in the same transaction
    /// ([`EndpointHealth::apply`]: its `updated_at` becomes `now` when it changes anything).
    /// Returns whether this disabled the endpoint. A settlement ends the claim (the stored token
    /// moves on), so one claim settles once.
    async fn settle_delivery(
        &self,
        delivery: &Delivery,
        health: EndpointHealth,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The deliveries to one of the owner's endpoints, newest first, optionally of one status
    /// (`dead`: the dead letters).
    async fn list_deliveries(
        &self,
        owner: UserId,
        endpoint: EndpointId,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>>;
    /// One of the owner's deliveries.
    async fn delivery(&self, owner: UserId, id: DeliveryId) -> StoreResult<Option<Delivery>>;
    /// Deletes up to `limit` events written before `before` that have no pending delivery, with
    /// their deliveries (the log's retention); how many events went.
    async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
    /// Writes a re-send ([`Delivery::resend`]) if the stored delivery is still settled
    /// (delivered or dead) under the same lease token ([`StoreError::Stale`] otherwise,
    /// [`StoreError::NotFound`] if absent).
    async fn resend_delivery(&self, delivery: &Delivery) -> StoreResult<()>;
}

/// Every storage port, plus a health check.
#[async_trait]
pub trait Store:
    UserStore
    + AccountStore
    + PostStore
    + QueueStore
    + MetricsStore
    + SubscriptionStore
    + ApiKeyStore
    + RefreshTokenStore
    + WebhookEventStore
    + AttemptStore
    + TemplateStore
    + ScheduleStore
    + IdempotencyStore
    + ImportStore
    + EndpointStore
    + EventStore
    + fmt::Debug
{
    /// Whether the backend answers.
    async fn ping(&self) -> StoreResult<()>;
}

impl StoreError {
    /// A compare-and-set that may lose its race: losing it (the row changed or went meanwhile)
    /// leaves the row to whoever won; any other failure is the caller's.
    pub(crate) fn unless_overtaken(written: StoreResult<()>) -> crate::Result<()> {
        match written {
            Ok(()) | Err(StoreError::Stale | StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// What this failure of a guarded write to one of the user's `what`s (a post, a queue item)
    /// tells them: it is gone, or it changed meanwhile.
    pub(crate) fn of(self, what: &'static str) -> crate::Error {
        match self {
            StoreError::NotFound => crate::Error::NotFound(what),
            StoreError::Stale => crate::Error::Conflict(
                format!("the {what} changed while it was being updated; reload it and retry")
                    .into(),
            ),
            e => e.into(),
        }
    }
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => crate::Error::NotFound("record"),
            StoreError::Conflict(rule) => crate::Error::Conflict(rule.to_string().into()),
            StoreError::LimitReached => crate::Error::Conflict("limit reached".into()),
            StoreError::Stale => crate::Error::Conflict(
                "the record was changed concurrently; reload and retry".into(),
            ),
            StoreError::Unavailable(source) => crate::Error::Unavailable {
                what: "store",
                source,
            },
        }
    }
}
