//! Publishing to the platforms: the [`Publisher`] port, the publication ledger, the simulated
//! publisher, and the [`Dispatcher`] that claims due posts and publishes them.

mod dispatcher;
mod metrics;
mod report;
mod simulated;
mod worker;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::analytics::MetricCounts;
use crate::crypto::SecretString;
use crate::id::{AccountId, AttemptId, PostId, UserId};
use crate::names::named_enum;
use crate::platform::Platform;
pub use crate::post::Checkpoint;
use crate::post::Published;

pub use dispatcher::{Dispatcher, DispatcherConfig, RetryPolicy};
pub use metrics::{LAG_BUCKETS, MetricsRegistry, WorkerMetrics};
pub use report::TickReport;
pub use simulated::{PublishCall, SIMULATED_POLL_INTERVAL, SimulatedPublisher};
pub use worker::{WorkerConfig, WorkerTotals};

/// Everything a platform needs to publish one post.
#[derive(Clone, Debug)]
pub struct PublishRequest {
    /// The post.
    pub post_id: PostId,
    /// Its owner.
    pub user_id: UserId,
    /// The account it goes to.
    pub account_id: AccountId,
    /// The account's id on the platform.
    pub account_external_id: String,
    /// The platform.
    pub platform: Platform,
    /// Same for every attempt at this post: the platform (or the publisher) uses it to refuse a
    /// duplicate, and `lookup` finds an earlier success by it.
    pub idempotency_key: String,
    /// The caption.
    pub caption: String,
    /// Hashtags, without `#`.
    pub hashtags: Vec<String>,
    /// Media URLs.
    pub media_urls: Vec<String>,
    /// The account's OAuth access token, opened from its sealed form.
    pub access_token: Option<SecretString>,
    /// Where an earlier step of this publication left off, if one did (see [`Progress`]).
    pub checkpoint: Option<Checkpoint>,
    /// Whether `checkpoint` comes from an earlier claim — a call made with it may have acted
    /// without its answer being seen (a crash, a timeout) — rather than from the call just
    /// before, within this claim. A publisher that must look before repeating a step (one
    /// whose platform takes no idempotency key) looks only then.
    pub resumed: bool,
}

/// Everything a platform needs to read a published post's counters.
#[derive(Clone, Debug)]
pub struct MetricsRequest {
    /// The platform's id of the post.
    pub remote_id: String,
    /// The account's id on the platform.
    pub account_external_id: String,
    /// The account's OAuth access token, opened from its sealed form.
    pub access_token: Option<SecretString>,
}

/// One account on its platform: what a call about the account itself needs.
#[derive(Clone, Debug)]
pub struct AccountAccess {
    /// The account's id on the platform.
    pub account_external_id: String,
    /// The account's OAuth access token, opened from its sealed form.
    pub access_token: Option<SecretString>,
}

impl AccountAccess {
    /// The account's access token.
    ///
    /// # Errors
    /// [`PublishError::AuthExpired`] when the account has none.
    pub fn token(&self) -> Result<&SecretString, PublishError> {
        required(self.access_token.as_ref())
    }
}

/// The access token a platform call needs; none (the account was connected without one) is an
/// authorization the platform will refuse.
fn required(token: Option<&SecretString>) -> Result<&SecretString, PublishError> {
    token.ok_or(PublishError::AuthExpired)
}

impl MetricsRequest {
    /// The account's access token.
    ///
    /// # Errors
    /// [`PublishError::AuthExpired`] when the account has none.
    pub fn token(&self) -> Result<&SecretString, PublishError> {
        required(self.access_token.as_ref())
    }
}

impl PublishRequest {
    /// The account's access token.
    ///
    /// # Errors
    /// [`PublishError::AuthExpired`] when the account has none.
    pub fn token(&self) -> Result<&SecretString, PublishError> {
        required(self.access_token.as_ref())
    }

    /// Where the publication stands, read as the publisher's checkpoint type `T`; `None` at
    /// the first call.
    ///
    /// # Errors
    /// [`PublishError::Rejected`] when the stored checkpoint is not a `T` (nothing can resume
    /// from it).
    pub fn step<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, PublishError> {
        self.checkpoint
            .as_ref()
            .map(|checkpoint| {
                checkpoint.read::<T>().map_err(|e| PublishError::Rejected {
                    reason: format!(
                        "the stored {} checkpoint is unreadable ({e})",
                        self.platform
                    ),
                })
            })
            .transpose()
    }

    /// The text as the platform shows it: the caption, then the hashtags (`#` each) on a
    /// paragraph of their own.
    pub fn text(&self) -> String {
        if self.hashtags.is_empty() {
            return self.caption.clone();
        }
        let tags: Vec<String> = self.hashtags.iter().map(|t| format!("#{t}")).collect();
        format!("{}\n\n{}", self.caption, tags.join(" "))
    }
}

/// What one call of [`Publisher::publish`] achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The post is public.
    Published(Published),
    /// A step is done and the next one has an effect that must not be repeated blindly (it
    /// makes the post public): store this checkpoint, then call again at once with it.
    Continue(Checkpoint),
    /// The platform is processing (a container, an upload): store this checkpoint and call
    /// again with it after `after`. The worker is free meanwhile; the post stays `publishing`
    /// and is claimed again when the wait is over.
    Wait {
        /// Where the publication stands.
        checkpoint: Checkpoint,
        /// How long to wait before the next call.
        after: Duration,
    },
}

/// Why a publication failed, as the scheduler must treat it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// A transient failure (network, 5xx): retry with backoff; counts as an attempt.
    #[error("temporary failure: {reason}")]
    Retryable {
        /// What went wrong.
        reason: String,
        /// The platform's hint of when to retry.
        after: Option<Duration>,
    },
    /// The platform's rate limit: wait `after` (the platform's hint: `Retry-After`, Meta's
    /// `estimated_time_to_regain_access`); does not count as an attempt.
    #[error("rate limited for {}s", after.num_seconds())]
    RateLimited {
        /// How long to wait before trying again.
        after: Duration,
    },
    /// The account's authorisation is no longer valid: it must be reconnected.
    #[error("the account's authorization expired")]
    AuthExpired,
    /// The platform refused the post for good (content policy, bad media, …).
    #[error("rejected by the platform: {reason}")]
    Rejected {
        /// The platform's reason.
        reason: String,
    },
}

/// A platform client.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Publisher: Send + Sync + fmt::Debug {
    /// Takes the post's publication one step further: from the start when
    /// `request.checkpoint` is `None`, else from that checkpoint (which may be left by an
    /// attempt that crashed or timed out after it: reconcile before repeating a step). A
    /// one-step publisher returns [`Progress::Published`] or an error.
    ///
    /// # Errors
    /// [`PublishError`], which decides retry, snooze or failure; the checkpoint is kept for the
    /// retry.
    async fn publish(&self, request: &PublishRequest) -> Result<Progress, PublishError>;

    /// Finds a post published earlier under `idempotency_key`, so a rescued publication is
    /// never published twice. `Ok(None)`: the platform does not have it. Not called for a post
    /// with a checkpoint: `publish` reconciles from the checkpoint.
    ///
    /// # Errors
    /// The lookup itself failed (treated as retryable).
    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Published>, PublishError>;

    /// The current counters of a published post.
    ///
    /// # Errors
    /// The platform failed.
    async fn fetch_metrics(&self, request: &MetricsRequest) -> Result<MetricCounts, PublishError>;

    /// The most posts the platform publishes for the account in a rolling 24 hours, as the
    /// platform reports it for that account (Instagram's `content_publishing_limit`).
    /// `Ok(None)`: the platform reports none (the default), and the cap is the platform's
    /// [`CapSource`](crate::platform::CapSource).
    ///
    /// # Errors
    /// The platform failed (the cap known before is kept).
    async fn publishing_cap(&self, account: &AccountAccess) -> Result<Option<u32>, PublishError> {
        let _ = account;
        Ok(None)
    }
}

/// How one attempt ended, as kept in the publication ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Published.
    Posted,
    /// A rescue found the post already on the platform.
    Reconciled,
    /// Transient failure; retried later.
    Retry,
    /// Rate limited; snoozed.
    RateLimited,
    /// The account needs reconnecting; the post failed.
    AuthExpired,
    /// Refused by the platform; the post failed.
    Rejected,
    /// The publisher did not answer in time; retried later.
    TimedOut,
    /// Attempts exhausted; the post failed.
    GaveUp,
    /// A step is done and the platform is processing; the post is polled again later.
    Processing,
    /// The claim was lost to another worker before the outcome was committed.
    LeaseLost,
}

named_enum!(AttemptOutcome, field = "outcome", exact {
    Posted => "posted",
    Reconciled => "reconciled",
    Retry => "retry",
    RateLimited => "rate_limited",
    AuthExpired => "auth_expired",
    Rejected => "rejected",
    TimedOut => "timed_out",
    GaveUp => "gave_up",
    Processing => "processing",
    LeaseLost => "lease_lost",
});

/// One attempt at publishing a post: the publication ledger's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicationAttempt {
    /// Id.
    pub id: AttemptId,
    /// The post.
    pub post_id: PostId,
    /// Its owner.
    pub user_id: UserId,
    /// 1-based attempt number at the time.
    pub attempt: u32,
    /// The worker that made it.
    pub worker: String,
    /// The claim's fencing token.
    pub lease_token: i64,
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The platform's id, when published.
    pub remote_id: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
}
