//! The outbox: events written by the store in the same write as the change they report (so an
//! event is never lost and never invented), one delivery per subscribed endpoint, and what each
//! attempt does to the delivery and to its endpoint.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::account::SocialAccount;
use crate::aggregate::aggregate;
use crate::event::delivery::{DISABLE_AFTER_FAILING, DeliveryAttempt, DeliveryOutcome};
use crate::event::{EventType, WebhookEndpoint};
use crate::id::{AccountId, DeliveryId, EndpointId, EventId, PostId, QueueItemId, UserId};
use crate::names::named_enum;
use crate::platform::Platform;
use crate::post::{Post, PostStatus};
use crate::queue::QueueItem;

/// The version of every event body this build writes (the `version` field). A change that
/// removes or retypes a field makes a new version; added fields do not.
pub const EVENT_VERSION: u32 = 1;

/// How long a worker holds a claimed delivery: four times the delivery timeout. A worker that
/// dies mid-delivery loses it when this runs out, and another worker sends the same event (the
/// same `webhook-id`) again.
pub const DELIVERY_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Something that happened, as sent: its body is fixed when the change is written, so every
/// attempt (and a re-send) signs the same bytes under the same id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its id, the same on every delivery (`webhook-id`).
    pub id: EventId,
    /// Whose it is.
    pub user_id: UserId,
    /// What happened.
    pub kind: EventType,
    /// The JSON body: `{"type", "timestamp", "version", "user_id", "data"}`.
    pub body: String,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The `webhook-id` header: `evt_` and the id's 32 hex digits.
    pub fn webhook_id(&self) -> String {
        format!("evt_{}", self.id.as_uuid().simple())
    }
}

/// What a post event says (`data`), version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostEventData {
    /// The post.
    pub post_id: PostId,
    /// Its account.
    pub account_id: AccountId,
    /// Its platform.
    pub platform: Platform,
    /// Its status after the change.
    pub status: PostStatus,
    /// When it is (or was) due.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When it went out (`post.published`).
    pub posted_at: Option<DateTime<Utc>>,
    /// The platform's id of it (`post.published`).
    pub external_id: Option<String>,
    /// Its address on the platform (`post.published`).
    pub external_url: Option<String>,
    /// Why it failed or was paused (`post.failed`, `post.paused`).
    pub reason: Option<String>,
    /// The queue item it was made from.
    pub queue_item_id: Option<QueueItemId>,
    /// The shop's id of the product it advertises.
    pub product_id: Option<String>,
}

#[derive(Serialize)]
struct Body<'a, T> {
    #[serde(rename = "type")]
    kind: EventType,
    timestamp: String,
    version: u32,
    /// The merchant it is about (what the operator's endpoint, receiving every merchant's
    /// events, tells them apart by).
    user_id: UserId,
    data: &'a T,
}

/// The event a post's change reports, given its status before (`None`: a new post): entering
/// `scheduled` (from anything but `publishing`, whose return is a retry), `posted`, `failed` or
/// `paused`. Nothing for a change that leaves the status as it was.
///
/// Its id is random: the store writes it only with a write that lands, once.
pub fn post_event(was: Option<PostStatus>, post: &Post) -> Option<Event> {
    let kind = match post.status() {
        now if was == Some(now) => return None,
        PostStatus::Scheduled if was == Some(PostStatus::Publishing) => return None,
        PostStatus::Scheduled => EventType::PostScheduled,
        PostStatus::Posted => EventType::PostPublished,
        PostStatus::Failed => EventType::PostFailed,
        PostStatus::Paused => EventType::PostPaused,
        PostStatus::Draft | PostStatus::Publishing => return None,
    };
    let reason = matches!(post.status(), PostStatus::Failed | PostStatus::Paused)
        .then(|| post.error_message().map(str::to_owned))
        .flatten();
    let data = PostEventData {
        post_id: post.id(),
        account_id: post.account_id(),
        platform: post.platform(),
        status: post.status(),
        scheduled_for: post.scheduled_for(),
        posted_at: post.posted_at(),
        external_id: post.external_id().map(str::to_owned),
        external_url: post.external_url().map(str::to_owned),
        reason,
        queue_item_id: post.queue_item_id(),
        product_id: post.product().and_then(|p| p.id.clone()),
    };
    // A random id: the guarded write that carries the event lands once, so one change has one
    // event however often it is retried; two changes never share an id, even at one instant.
    let id = EventId::from_uuid(uuid::Uuid::new_v4());
    Some(event(id, post.user_id(), kind, post.updated_at(), &data))
}

/// What an account event says (`data`), version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountEventData {
    /// The account.
    pub account_id: AccountId,
    /// Its platform.
    pub platform: Platform,
    /// Its name there.
    pub account_name: String,
    /// Whether it must be reconnected before its posts can go out.
    pub needs_reconnect: bool,
}

/// `account.connected`: `account` was connected (or reconnected) at its `connected_at`. One
/// event per connection: its id is derived from the account and that moment.
pub fn account_connected(account: &SocialAccount) -> Event {
    account_event(
        EventType::AccountConnected,
        account,
        account.connected_at().unwrap_or(account.created_at()),
    )
}

/// The events of a connection that stored `account`: `account.connected` and, when it added
/// one to a connected count that was `before` under `limit`, that limit's plan events.
pub fn connection_events(
    account: &SocialAccount,
    limit: crate::plan::Limit,
    before: Option<u64>,
) -> Vec<Event> {
    let mut events = vec![account_connected(account)];
    if let Some(before) = before {
        let at = account.connected_at().unwrap_or(account.created_at());
        events.extend(plan_limit_events(
            account.user_id(),
            LimitName::Accounts,
            limit.max(),
            before,
            before + 1,
            at,
            at,
        ));
    }
    events
}

/// `account.needs_reconnect`: the platform refused `account`'s authorisation at `at`. One event
/// per connection, however many refusals follow: its id is derived from the account and the
/// moment it was connected.
pub fn account_needs_reconnect(account: &SocialAccount, at: DateTime<Utc>) -> Event {
    let mut event = account_event(EventType::AccountNeedsReconnect, account, at);
    event.id = derived_id(&[
        account.id().as_uuid().as_bytes(),
        EventType::AccountNeedsReconnect.as_str().as_bytes(),
        &nanos(account.connected_at().unwrap_or(account.created_at())),
    ]);
    event
}

fn account_event(kind: EventType, account: &SocialAccount, at: DateTime<Utc>) -> Event {
    let data = AccountEventData {
        account_id: account.id(),
        platform: account.platform(),
        account_name: account.account_name().as_ref().to_owned(),
        needs_reconnect: kind == EventType::AccountNeedsReconnect,
    };
    let id = derived_id(&[
        account.id().as_uuid().as_bytes(),
        kind.as_str().as_bytes(),
        &nanos(at),
    ]);
    event(id, account.user_id(), kind, at, &data)
}

/// What a `queue.item.generated` event says (`data`), version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueItemEventData {
    /// The item.
    pub queue_item_id: QueueItemId,
    /// The product it is about.
    pub product_title: String,
    /// The shop's id of the product.
    pub product_id: Option<String>,
    /// The platforms it is for.
    pub platforms: Vec<Platform>,
    /// What wrote its caption (a template, a language model).
    pub caption_generator: Option<String>,
}

/// `queue.item.generated`: a queue item was written with its captions, waiting for approval.
pub fn queue_item_generated(item: &QueueItem) -> Event {
    let data = QueueItemEventData {
        queue_item_id: item.id(),
        product_title: item.product_data().title().to_owned(),
        product_id: item.product_data().id().map(str::to_owned),
        platforms: item.platforms().to_vec(),
        caption_generator: item.caption_generator().map(|g| g.name.clone()),
    };
    let kind = EventType::QueueItemGenerated;
    let id = derived_id(&[item.id().as_uuid().as_bytes(), kind.as_str().as_bytes()]);
    event(id, item.user_id(), kind, item.created_at(), &data)
}

/// Which plan limit a `plan.*` event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitName {
    /// Posts created per calendar month (UTC).
    PostsPerMonth,
    /// Connected social accounts.
    Accounts,
}

impl LimitName {
    /// Its name in an event.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PostsPerMonth => "posts_per_month",
            Self::Accounts => "accounts",
        }
    }
}

/// What a `plan.limit_near` or `plan.limit_reached` event says (`data`), version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanLimitEventData {
    /// `posts_per_month` or `accounts`.
    pub limit: &'static str,
    /// How many are used now.
    pub used: u64,
    /// The plan's limit.
    pub max: u32,
}

/// The `plan.limit_near` (80 % used) and `plan.limit_reached` events a write that took the
/// owner's use of `limit` from `before` to `after` crosses, at `at`. `period` tells crossings
/// apart: a monthly limit's month start (one event of each kind per month, however the count
/// moves), or the moment itself for a limit that is not periodic.
pub fn plan_limit_events(
    owner: UserId,
    limit: LimitName,
    max: Option<u32>,
    before: u64,
    after: u64,
    period: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Vec<Event> {
    let Some(max) = max.filter(|max| *max > 0) else {
        return Vec::new();
    };
    let near = u64::from(max).saturating_mul(4).div_ceil(5);
    let mut events = Vec::new();
    for (kind, threshold) in [
        (EventType::PlanLimitNear, near),
        (EventType::PlanLimitReached, u64::from(max)),
    ] {
        if before < threshold && after >= threshold {
            let data = PlanLimitEventData {
                limit: limit.as_str(),
                used: after,
                max,
            };
            // One per limit, threshold and period: a plan changed within the month has new
            // thresholds, and crossing them is news.
            let id = derived_id(&[
                owner.as_uuid().as_bytes(),
                kind.as_str().as_bytes(),
                limit.as_str().as_bytes(),
                &u64::from(max).to_be_bytes(),
                &nanos(period),
            ]);
            events.push(event(id, owner, kind, at, &data));
        }
    }
    events
}

/// The plan events of a write that adds `added` posts to the `used` the owner had created in
/// `quota`'s month.
pub fn post_quota_events(
    owner: UserId,
    quota: &crate::plan::PostQuota,
    used: u64,
    added: u64,
    at: DateTime<Utc>,
) -> Vec<Event> {
    plan_limit_events(
        owner,
        LimitName::PostsPerMonth,
        quota.limit.max(),
        used,
        used.saturating_add(added),
        quota.window.start,
        at,
    )
}

fn nanos(at: DateTime<Utc>) -> [u8; 8] {
    at.timestamp_nanos_opt().unwrap_or_default().to_be_bytes()
}

fn event<T: Serialize>(
    id: EventId,
    user_id: UserId,
    kind: EventType,
    at: DateTime<Utc>,
    data: &T,
) -> Event {
    let body = Body {
        kind,
        timestamp: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        version: EVENT_VERSION,
        user_id,
        data,
    };
    Event {
        id,
        user_id,
        kind,
        // Serialising plain data to a string cannot fail.
        body: serde_json::to_string(&body).unwrap_or_default(),
        created_at: at,
    }
}

/// A UUID (version 8) from the SHA-256 of `parts`, each length-prefixed.
fn derived_id(parts: &[&[u8]]) -> EventId {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// A dead letter: the retry schedule ran out, or the endpoint answered 410. Re-sendable.
    Dead,
}

named_enum!(DeliveryStatus, field = "status", exact {
    Pending => "pending",
    Delivered => "delivered",
    Dead => "dead",
});

impl Serialize for DeliveryStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

aggregate! {
    /// One event's delivery to one endpoint, with its last attempt: the delivery log's line.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct Delivery / DeliveryRecord {
        /// Its id.
        id: copy DeliveryId,
        /// The event delivered.
        event_id: copy EventId,
        /// The event's type.
        event_type: copy EventType,
        /// Where it goes.
        endpoint_id: copy EndpointId,
        /// The endpoint's owner, whose log it is in (the operator's for the operator's endpoint).
        user_id: copy UserId,
        /// Where it stands.
        status: copy DeliveryStatus,
        /// Attempts finished so far (a re-send starts again from none).
        attempts: copy u32,
        /// When it is next tried (pending only; while claimed, when the claim lapses).
        next_attempt_at: copy Option<DateTime<Utc>>,
        /// The claim counter: a settlement is written only under the claim that made it.
        lease_token: copy i64 => skip,
        /// When the last attempt finished.
        last_attempt_at: copy Option<DateTime<Utc>>,
        /// The status the endpoint answered the last attempt with.
        response_status: copy Option<u16>,
        /// The start of that answer (at most 1 KB).
        response: option_string,
        /// What went wrong with the last attempt.
        error: option_string,
        /// When the event was written.
        created_at: copy DateTime<Utc>,
    }
}

impl Delivery {
    /// A new, pending delivery of `event` to `endpoint`, due at once, in its owner's log (the
    /// event's merchant, or the operator for the operator's endpoint).
    pub fn new(id: DeliveryId, event: &Event, endpoint: &WebhookEndpoint) -> Self {
        Self {
            id,
            event_id: event.id,
            event_type: event.kind,
            endpoint_id: endpoint.id(),
            user_id: endpoint.user_id(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(event.created_at),
            lease_token: 0,
            last_attempt_at: None,
            response_status: None,
            response: None,
            error: None,
            created_at: event.created_at,
        }
    }

    /// An id for the delivery of `event` to `endpoint`, derived from the pair (the memory
    /// store's; PostgreSQL draws a random one, the pair being unique either way).
    pub fn id_for(event: &Event, endpoint: EndpointId) -> DeliveryId {
        let id = derived_id(&[event.id.as_uuid().as_bytes(), endpoint.as_uuid().as_bytes()]);
        DeliveryId::from_uuid(id.as_uuid())
    }

    /// Records an attempt that finished at `now`: delivered, a dead letter (410, or the
    /// schedule spent), or pending until the schedule's next time (`jitter` 0 to 1, see
    /// [`next_attempt_at`](crate::event::delivery::next_attempt_at)).
    pub fn record(&mut self, attempt: &DeliveryAttempt, now: DateTime<Utc>, jitter: f64) {
        self.attempts = self.attempts.saturating_add(1);
        self.last_attempt_at = Some(now);
        self.response = Some(attempt.response.clone()).filter(|r| !r.is_empty());
        let (status, next, response_status, error) = match &attempt.outcome {
            DeliveryOutcome::Delivered { status } => {
                (DeliveryStatus::Delivered, None, Some(*status), None)
            }
            DeliveryOutcome::Gone => (
                DeliveryStatus::Dead,
                None,
                Some(410),
                Some("the endpoint answered 410 Gone and was disabled".to_owned()),
            ),
            DeliveryOutcome::Failed {
                status,
                error,
                retry_after,
            } => {
                let next = crate::event::delivery::next_attempt_at(
                    self.attempts,
                    now,
                    *retry_after,
                    jitter,
                );
                let status_now = if next.is_some() {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Dead
                };
                (status_now, next, *status, Some(error.clone()))
            }
        };
        self.status = status;
        self.next_attempt_at = next;
        self.response_status = response_status;
        self.error = error;
    }

    /// Whether it may be sent again by hand: delivered or dead (a pending one is on its way).
    pub const fn is_resendable(&self) -> bool {
        !matches!(self.status, DeliveryStatus::Pending)
    }

    /// Queues it again at `now`, its retry schedule starting over; the log keeps its last
    /// answer until the next attempt replaces it.
    pub fn resend(&mut self, now: DateTime<Utc>) {
        self.status = DeliveryStatus::Pending;
        self.attempts = 0;
        self.next_attempt_at = Some(now);
    }
}

/// Why a 410 disabled an endpoint.
pub const GONE_REASON: &str = "the endpoint answered 410 Gone";

/// Why five days of failures disabled an endpoint.
pub const FAILING_REASON: &str = "every delivery failed for 5 days";

/// What an attempt says about its endpoint, written with the delivery's settlement and judged
/// against the endpoint as stored then (not as the worker read it when it claimed: another
/// worker's answer may have landed since).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointHealth {
    /// Nothing: the attempt failed on PostPilot's side (a secret that does not open).
    Unknown,
    /// It answered: it is not failing.
    Answering,
    /// It failed at this moment: failing since then unless it already was, and disabled when
    /// it has been failing for [`DISABLE_AFTER_FAILING`] (five days) by then.
    Failing(DateTime<Utc>),
    /// It answered `410 Gone`: disabled.
    Gone,
}

impl EndpointHealth {
    /// What `outcome`, an attempt that ended at `now`, says.
    pub const fn of(outcome: &DeliveryOutcome, now: DateTime<Utc>) -> Self {
        match outcome {
            DeliveryOutcome::Delivered { .. } => Self::Answering,
            DeliveryOutcome::Gone => Self::Gone,
            DeliveryOutcome::Failed { .. } => Self::Failing(now),
        }
    }

    /// For a failure at `at`: an endpoint failing since this moment or before is disabled.
    pub fn disable_if_failing_since(at: DateTime<Utc>) -> DateTime<Utc> {
        at - DISABLE_AFTER_FAILING
    }

    /// Applies it to `endpoint` as stored, at `now`; whether this disabled it.
    pub fn apply(&self, endpoint: &mut WebhookEndpoint, now: DateTime<Utc>) -> bool {
        match *self {
            Self::Unknown => false,
            Self::Answering => {
                if endpoint.failing_since.take().is_some() {
                    endpoint.updated_at = now;
                }
                false
            }
            Self::Failing(at) => match endpoint.failing_since {
                None => {
                    endpoint.failing_since = Some(at);
                    endpoint.updated_at = now;
                    false
                }
                Some(since) if since <= Self::disable_if_failing_since(at) => {
                    disable(endpoint, FAILING_REASON, now)
                }
                Some(_) => false,
            },
            Self::Gone => disable(endpoint, GONE_REASON, now),
        }
    }
}

fn disable(endpoint: &mut WebhookEndpoint, reason: &str, now: DateTime<Utc>) -> bool {
    if endpoint.is_disabled() {
        return false;
    }
    endpoint.disable(reason, now);
    true
}

/// A delivery a worker claimed, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    /// The delivery, under the new claim.
    pub delivery: Delivery,
    /// The event.
    pub event: Event,
    /// Its endpoint, as stored at the claim.
    pub endpoint: WebhookEndpoint,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::event::{EndpointUrl, NewEndpoint};
    use crate::post::{Caption, Hashtags, NewPost};
    use chrono::TimeZone;

    mod fixtures {
        use super::*;

        pub(super) fn post(status: PostStatus) -> Post {
            let mut post = Post::create(
                NewPost {
                    id: PostId::from_uuid(uuid::Uuid::from_u128(1)),
                    user_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
                    account_id: AccountId::from_uuid(uuid::Uuid::from_u128(3)),
                    queue_item_id: None,
                    platform: Platform::Facebook,
                    content: Caption::parse("New in the shop").unwrap(),
                    media_urls: Vec::new(),
                    hashtags: Hashtags::parse(["sale"]).unwrap(),
                    product: None,
                },
                None,
                t0(),
            )
            .unwrap();
            post.status = status;
            post
        }

        pub(super) fn endpoint() -> WebhookEndpoint {
            WebhookEndpoint::create(
                NewEndpoint {
                    id: EndpointId::from_uuid(uuid::Uuid::from_u128(4)),
                    user_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
                    url: EndpointUrl::parse("https://hooks.example.com/in").unwrap(),
                    description: String::new(),
                    event_types: Vec::new(),
                    sealed_secret: "sealed".into(),
                },
                t0(),
            )
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    fn failed(retry_after: Option<std::time::Duration>) -> DeliveryAttempt {
        DeliveryAttempt {
            outcome: DeliveryOutcome::Failed {
                status: Some(500),
                error: "the endpoint answered 500".into(),
                retry_after,
            },
            response: "oops".into(),
        }
    }

    #[test]
    fn post_events_report_entering_a_status_and_never_a_change_that_keeps_it() {
        let mut post = fixtures::post(PostStatus::Scheduled);
        let scheduled = post_event(None, &post).unwrap();
        assert_eq!(scheduled.kind, EventType::PostScheduled);
        assert_eq!(
            post_event(Some(PostStatus::Draft), &post).unwrap().kind,
            EventType::PostScheduled
        );
        assert_eq!(
            post_event(Some(PostStatus::Scheduled), &post),
            None,
            "an edit"
        );
        assert_eq!(
            post_event(Some(PostStatus::Publishing), &post),
            None,
            "a retry"
        );
        post.status = PostStatus::Posted;
        post.external_url = Some("https://instagram.com/p/1".into());
        let published = post_event(Some(PostStatus::Publishing), &post).unwrap();
        assert_eq!(published.kind, EventType::PostPublished);
        let body: serde_json::Value = serde_json::from_str(&published.body).unwrap();
        assert_eq!(body["type"], "post.published");
        assert_eq!(body["version"], 1);
        assert_eq!(body["user_id"], post.user_id().to_string(), "whose it is");
        assert_eq!(body["data"]["post_id"], post.id().to_string());
        assert_eq!(body["data"]["external_url"], "https://instagram.com/p/1");
        assert_eq!(body["data"]["reason"], serde_json::Value::Null);
        post.status = PostStatus::Draft;
        assert_eq!(post_event(Some(PostStatus::Scheduled), &post), None);
    }

    #[test]
    fn every_post_event_has_its_own_id_and_says_why_a_post_paused() {
        let mut post = fixtures::post(PostStatus::Paused);
        post.error_message = Some("price changed".into());
        let first = post_event(Some(PostStatus::Scheduled), &post).unwrap();
        let second = post_event(Some(PostStatus::Scheduled), &post).unwrap();
        assert_ne!(
            first.id, second.id,
            "two writes at one instant are two events"
        );
        assert!(first.webhook_id().starts_with("evt_"));
        assert_eq!(first.webhook_id().len(), 36);
        let body: serde_json::Value = serde_json::from_str(&first.body).unwrap();
        assert_eq!(body["data"]["reason"], "price changed");
    }

    #[test]
    fn a_delivery_retries_on_the_schedule_then_becomes_a_dead_letter() {
        let post = fixtures::post(PostStatus::Scheduled);
        let event = post_event(None, &post).unwrap();
        let endpoint = fixtures::endpoint();
        let mut delivery =
            Delivery::new(Delivery::id_for(&event, endpoint.id()), &event, &endpoint);
        assert_eq!(delivery.next_attempt_at(), Some(event.created_at));
        delivery.record(&failed(None), t0(), 0.0);
        assert_eq!(delivery.status(), DeliveryStatus::Pending);
        assert_eq!(
            delivery.next_attempt_at(),
            Some(t0() + chrono::TimeDelta::seconds(5))
        );
        assert_eq!(
            (delivery.response_status(), delivery.response()),
            (Some(500), Some("oops"))
        );
        for _ in 1..7 {
            delivery.record(&failed(None), t0(), 0.0);
            assert_eq!(delivery.status(), DeliveryStatus::Pending);
        }
        delivery.record(&failed(None), t0(), 0.0);
        assert_eq!(
            (delivery.status(), delivery.attempts()),
            (DeliveryStatus::Dead, 8)
        );
        assert_eq!(delivery.next_attempt_at(), None);
        assert!(delivery.is_resendable());
        delivery.resend(t0());
        assert_eq!(
            (
                delivery.status(),
                delivery.attempts(),
                delivery.next_attempt_at()
            ),
            (DeliveryStatus::Pending, 0, Some(t0()))
        );
        assert!(!delivery.is_resendable());
        let gone = DeliveryAttempt {
            outcome: DeliveryOutcome::Gone,
            response: String::new(),
        };
        delivery.record(&gone, t0(), 0.0);
        assert_eq!(
            (delivery.status(), delivery.response()),
            (DeliveryStatus::Dead, None)
        );
    }

    #[test]
    fn an_endpoint_is_disabled_by_a_410_or_by_five_days_of_failures_and_healed_by_an_answer() {
        let mut endpoint = fixtures::endpoint();
        let failed = |at| EndpointHealth::of(&failed(None).outcome, at);
        assert!(!failed(t0()).apply(&mut endpoint, t0()));
        assert_eq!(
            (endpoint.failing_since(), endpoint.updated_at()),
            (Some(t0()), t0())
        );
        let later = t0() + chrono::TimeDelta::days(4);
        assert!(!failed(later).apply(&mut endpoint, later));
        assert_eq!(
            endpoint.failing_since(),
            Some(t0()),
            "failing since the first"
        );
        assert_eq!(endpoint.updated_at(), t0(), "nothing changed");
        let day5 = t0() + DISABLE_AFTER_FAILING;
        assert!(failed(day5).apply(&mut endpoint, day5));
        assert_eq!(endpoint.disabled_at(), Some(day5));
        assert_eq!(endpoint.disabled_reason(), Some(FAILING_REASON));
        assert!(!failed(day5).apply(&mut endpoint, day5), "disabled once");

        // An answer that landed first clears the failure: a stale failure cannot disable.
        let mut other = fixtures::endpoint();
        other.failing_since = Some(t0());
        let answered = EndpointHealth::of(&DeliveryOutcome::Delivered { status: 204 }, later);
        assert!(!answered.apply(&mut other, later));
        assert_eq!(other.failing_since(), None);
        assert!(!failed(day5).apply(&mut other, day5));
        assert_eq!(
            (other.failing_since(), other.disabled_at()),
            (Some(day5), None)
        );
        assert!(!EndpointHealth::Unknown.apply(&mut other, day5));
        assert!(EndpointHealth::of(&DeliveryOutcome::Gone, day5).apply(&mut other, day5));
        assert_eq!(other.disabled_reason(), Some(GONE_REASON));
    }

    #[test]
    fn plan_events_fire_once_as_the_count_crosses_80_percent_and_the_limit() {
        let owner = UserId::from_uuid(uuid::Uuid::from_u128(2));
        let kinds = |max, before, after| -> Vec<EventType> {
            let month = t0();
            plan_limit_events(
                owner,
                LimitName::PostsPerMonth,
                max,
                before,
                after,
                month,
                t0(),
            )
            .into_iter()
            .map(|e| e.kind)
            .collect()
        };
        use EventType::{PlanLimitNear as Near, PlanLimitReached as Reached};
        assert_eq!(kinds(Some(10), 7, 8), vec![Near]);
        assert_eq!(kinds(Some(10), 8, 9), vec![]);
        assert_eq!(kinds(Some(10), 9, 10), vec![Reached]);
        assert_eq!(
            kinds(Some(10), 7, 10),
            vec![Near, Reached],
            "a batch crossing both"
        );
        assert_eq!(kinds(Some(1), 0, 1), vec![Near, Reached]);
        assert_eq!(kinds(None, 7, 10), vec![]);
        assert_eq!(kinds(Some(0), 0, 1), vec![]);
        let once = plan_limit_events(owner, LimitName::PostsPerMonth, Some(10), 9, 10, t0(), t0());
        let again = plan_limit_events(
            owner,
            LimitName::PostsPerMonth,
            Some(10),
            9,
            10,
            t0(),
            t0() + chrono::TimeDelta::days(3),
        );
        assert_eq!(
            once[0].id, again[0].id,
            "one per month: the id is the month's"
        );
        let upgraded = plan_limit_events(
            owner,
            LimitName::PostsPerMonth,
            Some(100),
            99,
            100,
            t0(),
            t0(),
        );
        assert_ne!(once[0].id, upgraded[0].id, "a new plan's limit is news");
        let body: serde_json::Value = serde_json::from_str(&once[0].body).unwrap();
        assert_eq!(
            body["data"],
            serde_json::json!({"limit": "posts_per_month", "used": 10, "max": 10})
        );
    }
}
