//! Subscriptions and how their status decides the plan.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::aggregate;
use crate::id::{SubscriptionId, UserId};
use crate::names::named_enum;
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

named_enum!(SubscriptionStatus, field = "status", exact {
    Active => "active",
    Trialing => "trialing",
    PastDue => "past_due",
    Canceled => "canceled",
    Unpaid => "unpaid",
    Incomplete => "incomplete",
});

impl SubscriptionStatus {
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

    /// The order of a state read from the provider when its read returned at `read_at`: a later
    /// read ranks higher, to the millisecond, so it is what stays. Above every [`event_rank`]
    /// of the same time.
    ///
    /// [`event_rank`]: Self::event_rank
    pub fn read_rank(self, read_at: DateTime<Utc>) -> i64 {
        read_at.timestamp_millis().saturating_mul(8) + self.precedence()
    }
}

aggregate! {
    /// A user's subscription (at most one per user).
    /// Its fields are read through methods and changed only by its transitions; [SubscriptionRecord]
    /// loads one from storage.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct Subscription / SubscriptionRecord {
        /// Id.
        id: copy SubscriptionId,
        /// Owner.
        user_id: copy UserId,
        /// The provider's subscription id (none in mock mode or for platform-managed plans).
        stripe_subscription_id: option_string,
        /// Provider status.
        status: copy SubscriptionStatus,
        /// The plan paid for.
        plan: copy PlanTier,
        /// Start of the current billing period.
        current_period_start: copy Option<DateTime<Utc>>,
        /// End of the current billing period.
        current_period_end: copy Option<DateTime<Utc>>,
        /// Whether it ends at the period's end.
        cancel_at_period_end: copy bool,
        /// The rank ([`SubscriptionStatus::event_rank`]) of the last billing event applied, if any: an event ranking lower is older than what is stored and is not applied.
        last_event_rank: option i64,
        /// Creation time.
        created_at: copy DateTime<Utc>,
        /// Last change.
        updated_at: copy DateTime<Utc>,
    }
}

/// How a subscription changes.
impl Subscription {
    /// A user's subscription before any plan: incomplete, free.
    pub fn start(id: SubscriptionId, user_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id,
            user_id,
            stripe_subscription_id: None,
            status: SubscriptionStatus::Incomplete,
            plan: PlanTier::Free,
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            last_event_rank: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Mock billing: `plan` active at once for a 30-day period from `now`, unpaid.
    pub fn activate_unpaid(&mut self, plan: PlanTier, now: DateTime<Utc>) {
        self.plan = plan;
        self.status = SubscriptionStatus::Active;
        self.current_period_start = Some(now);
        self.current_period_end = Some(now + chrono::Duration::days(30));
        self.cancel_at_period_end = false;
    }

    /// A plan granted by the dropshipping platform, which bills itself: no period end.
    pub fn grant(&mut self, plan: PlanTier, status: SubscriptionStatus) {
        self.plan = plan;
        self.status = status;
        self.current_period_end = None;
        self.cancel_at_period_end = false;
    }

    /// The provider's checkout completed: `plan` active under its subscription id, the period
    /// starting `now` unless it had started.
    pub fn checkout_completed(
        &mut self,
        plan: PlanTier,
        provider_subscription_id: Option<String>,
        now: DateTime<Utc>,
    ) {
        self.plan = plan;
        self.status = SubscriptionStatus::Active;
        self.stripe_subscription_id = provider_subscription_id;
        self.current_period_start.get_or_insert(now);
        self.cancel_at_period_end = false;
    }

    /// The provider's subscription `id` is this one (its events are applied to it).
    pub fn link_provider(&mut self, id: String) {
        self.stripe_subscription_id = Some(id);
    }

    /// The provider changed the subscription; a time or plan it did not send stays as it was.
    pub fn provider_changed(
        &mut self,
        status: SubscriptionStatus,
        plan: Option<PlanTier>,
        period: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        cancel_at_period_end: bool,
    ) {
        self.status = status;
        if let Some(plan) = plan {
            self.plan = plan;
        }
        self.current_period_start = period.0.or(self.current_period_start);
        self.current_period_end = period.1.or(self.current_period_end);
        self.cancel_at_period_end = cancel_at_period_end;
    }

    /// Stamps a change made `now` by the event of `rank`, if it had one.
    pub fn changed_by(&mut self, rank: Option<i64>, now: DateTime<Utc>) {
        self.last_event_rank = rank.or(self.last_event_rank);
        self.updated_at = now;
    }
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
