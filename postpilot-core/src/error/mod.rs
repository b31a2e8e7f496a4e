//! The errors services return. Adapters map them to their transport (HTTP status, Python
//! exception) in one place each; none of them carries a driver's error text.

mod validation;

use std::borrow::Cow;
use std::fmt;

pub use validation::{InvalidTransition, ValidationError};

/// What a plan limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedResource {
    /// Posts created in one calendar month (UTC).
    PostsPerMonth,
    /// Connected social accounts.
    ConnectedAccounts,
    /// API access (keys); its limit is 0 on plans without it.
    ApiAccess,
    /// Captions written by a language model in one calendar month (UTC).
    GenerationsPerMonth,
}

impl LimitedResource {
    /// The stable name used in API errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PostsPerMonth => "posts_per_month",
            Self::ConnectedAccounts => "connected_accounts",
            Self::ApiAccess => "api_access",
            Self::GenerationsPerMonth => "generations_per_month",
        }
    }
}

impl fmt::Display for LimitedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every failure a service can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist or belongs to someone else (the two are indistinguishable).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this (e.g. API keys on the free plan).
    #[error("forbidden: {0}")]
    Forbidden(Cow<'static, str>),
    /// The plan's limit for `resource` is reached.
    #[error("plan limit reached: {resource} (limit {limit})")]
    PlanLimit {
        /// What is limited.
        resource: LimitedResource,
        /// The plan's maximum.
        limit: u32,
    },
    /// The account's publishing cap has no room for the post at its time: the platform
    /// publishes at most `cap` posts of an account in a rolling 24 hours.
    #[error(
        "{} publishing cap full: {} posts in the 24 hours to {}",
        .0.platform, .0.cap, .0.window_end
    )]
    PublishingCapFull(Box<crate::post::CapFull>),
    /// Another post of the account has the same caption within 24 hours of this one's time,
    /// and the request did not allow a duplicate.
    #[error(
        "post {} has the same caption on this account at {}; allow a duplicate to schedule both",
        .0.post_id, .0.scheduled_for.to_rfc3339()
    )]
    DuplicatePost(Box<crate::post::DuplicateOf>),
    /// Input failed validation.
    #[error("invalid {0}")]
    Validation(#[from] ValidationError),
    /// The state machine refuses the change.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The change conflicts with stored data (duplicate, or changed concurrently).
    #[error("conflict: {0}")]
    Conflict(Cow<'static, str>),
    /// Missing or wrong credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// A provision named an e-mail that a self-registered account holds: the account is not
    /// linked on the strength of the e-mail; its owner must link it, signed in.
    #[error("the e-mail belongs to an account its owner must link to the platform")]
    PlatformLinkRequired(crate::id::UserId),
    /// Too many attempts: failed password checks for one account (login, or the
    /// current-password check of a profile change: refused without checking, whether or not the
    /// account exists), or caption generations for one user; refused until `retry_after` has
    /// passed.
    #[error("too many attempts; retry in {} s", retry_after.as_secs())]
    TooManyAttempts {
        /// How long to wait before the next attempt can be checked (whole seconds, at least 1).
        retry_after: std::time::Duration,
    },
    /// A bounded resource (e.g. the password hasher's slots) stayed full for the longest wait:
    /// the request is shed rather than queued without end.
    #[error("{what} overloaded")]
    Overloaded {
        /// Which resource is full.
        what: &'static str,
        /// A suggested wait before retrying (whole seconds, at least 1).
        retry_after: std::time::Duration,
    },
    /// A port failed (storage down, caption generator unreachable, …). The cause is for logs only.
    #[error("{what} unavailable")]
    Unavailable {
        /// Which dependency failed.
        what: &'static str,
        /// The underlying cause, for logs; never shown to clients.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Wraps a port failure.
    pub fn unavailable(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            what,
            source: source.into(),
        }
    }
}

/// The result type of every service.
pub type Result<T, E = Error> = std::result::Result<T, E>;
