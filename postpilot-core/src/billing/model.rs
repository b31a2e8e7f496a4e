//! Subscriptions and how their status decides the plan.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::id::{SubscriptionId, UserId};
use crate::plan::PlanTier;

/// The billing provider's view of a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Paid and current.
    Active,
    /// In a free trial.
    Trialing,
    /// A payment failed; the provider is retrying.
    PastDue,
    /// Ended.
    Canceled,
    /// Retries exhausted.
    Unpaid,
    /// The first payment never completed.
    Incomplete,
}

impl SubscriptionStatus {
    /// Every status.
    pub const ALL: [Self; 6] = [
        Self::Active,
        Self::Trialing,
        Self::PastDue,
        Self::Canceled,
        Self::Unpaid,
        Self::Incomplete,
    ];

    /// How final a status is, for ordering two billing events of the same second: the more
    /// final one wins (`canceled` over `active`), so a cancellation is never undone by an update
    /// Stripe stamped with the same second.
    pub const fn precedence(self) -> i64 {
        match self {
            Self::Incomplete => 0,
            Self::Trialing => 1,
            Self::Active => 2,
            Self::PastDue => 3,
            Self::Unpaid => 4,
            Self::Canceled => 5,
        }
    }

    /// The order of a billing event that sets this status, created at `created` (Stripe's
    /// `created`, in seconds): later events rank higher, and within one second the more final
    /// status does. An event without a time ranks as the oldest possible.
    pub fn event_rank(self, created: Option<DateTime<Utc>>) -> i64 {
        created.map_or(0, |at| at.timestamp().saturating_mul(8)) + self.precedence()
    }

    /// The provider's (Stripe's) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Trialing => "trialing",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubscriptionStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ValidationError::new("status", "is not a subscription status"))
    }
}

/// A user's subscription (at most one per user).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subscription {
    /// Id.
    pub id: SubscriptionId,
    /// Owner.
    pub user_id: UserId,
    /// The provider's subscription id (none in mock mode or for platform-managed plans).
    pub stripe_subscription_id: Option<String>,
    /// Provider status.
    pub status: SubscriptionStatus,
    /// The plan paid for.
    pub plan: PlanTier,
    /// Start of the current billing period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
    /// The rank ([`SubscriptionStatus::event_rank`]) of the last billing event applied, if
    /// any: an event ranking lower is older than what is stored and is not applied.
    pub last_event_rank: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// The plan this subscription grants at `now`:
    /// - active, trialing → the subscribed plan, until the period's end when it is set to cancel
    ///   then;
    /// - past_due → the subscribed plan (grace while the provider retries the payment);
    /// - canceled, unpaid → free, except that a cancellation at period end keeps the plan until
    ///   that end;
    /// - incomplete → free (never paid).
    pub fn effective_plan(&self, now: DateTime<Utc>) -> PlanTier {
        let before_period_end = self.current_period_end.is_none_or(|end| now < end);
        match self.status {
            SubscriptionStatus::Active
            | SubscriptionStatus::Trialing
            | SubscriptionStatus::PastDue => {
                if self.cancel_at_period_end && !before_period_end {
                    PlanTier::Free
                } else {
                    self.plan
                }
            }
            SubscriptionStatus::Canceled | SubscriptionStatus::Unpaid => {
                if self.cancel_at_period_end
                    && self.current_period_end.is_some()
                    && before_period_end
                {
                    self.plan
                } else {
                    PlanTier::Free
                }
            }
            SubscriptionStatus::Incomplete => PlanTier::Free,
        }
    }
}

/// The plan of a user with `subscription` (none: free).
pub fn effective_plan(subscription: Option<&Subscription>, now: DateTime<Utc>) -> PlanTier {
    subscription.map_or(PlanTier::Free, |s| s.effective_plan(now))
}
