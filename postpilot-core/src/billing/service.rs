//! Billing use cases: plans, checkout, portal, subscription, and provider events.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ValidationError;
use crate::billing::gateway::{is_mock_customer, mock_customer_id};
use crate::billing::{
    BillingError, BillingEvent, BillingEventKind, CheckoutRequest, CheckoutSession,
    ProviderSubscription, Subscription, SubscriptionStatus, effective_plan,
};
use crate::context::Deps;
use crate::error::{Error, Result};
use crate::id::{AccountId, UserId};
use crate::plan::{PlanLimits, PlanTier};
use crate::store::UserChange;
use crate::webhook::once;

/// What the user sees of their subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionOverview {
    /// The plan in force now.
    pub plan: PlanTier,
    /// The provider status (none without a subscription).
    pub status: Option<SubscriptionStatus>,
    /// End of the current period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
}

/// What a plan change did to things over the new limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DowngradeImpact {
    /// The plan before.
    pub from: PlanTier,
    /// The plan after.
    pub to: PlanTier,
    /// Accounts disconnected because the new plan allows fewer (the most recently connected go).
    pub disconnected_accounts: Vec<AccountId>,
    /// Whether the user's API keys stopped working (the new plan has no API access). Keys are
    /// kept, and work again after an upgrade.
    pub api_keys_suspended: bool,
}

pub(crate) fn billing_error(e: BillingError) -> Error {
    match e {
        BillingError::Malformed(reason) => ValidationError::new("event", reason).into(),
        BillingError::NoCustomer => {
            Error::Conflict("no billing account yet; subscribe first".into())
        }
        BillingError::Unavailable(source) => Error::Unavailable {
            what: "billing provider",
            source,
        },
    }
}

/// Writes a provider's subscription state onto ours.
fn apply_state(subscription: &mut Subscription, state: &ProviderSubscription) {
    subscription.provider_changed(
        state.status,
        state.plan,
        (state.current_period_start, state.current_period_end),
        state.cancel_at_period_end,
    );
}

/// Plans, checkout, portal and subscription state.
#[derive(Clone, Debug)]
pub struct BillingService {
    deps: Arc<Deps>,
}

impl BillingService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    /// Every plan and its limits.
    pub fn plans(&self) -> [PlanLimits; 3] {
        self.deps.plans.all().clone()
    }

    /// Starts a checkout for pro or enterprise. In mock mode the plan is active at once.
    ///
    /// # Errors
    /// [`Error::Validation`] for the free plan; [`Error::Unavailable`] when the provider fails.
    pub async fn checkout(&self, user_id: UserId, plan: PlanTier) -> Result<CheckoutSession> {
        if plan == PlanTier::Free {
            return Err(ValidationError::new("plan", "must be pro or enterprise").into());
        }
        let user = self.deps.user(user_id).await?;
        if !self.deps.billing.is_mock()
            && let Some(current) = self.deps.store.subscription(user_id).await?
            && current.stripe_subscription_id.is_some()
            && !matches!(
                current.status,
                SubscriptionStatus::Canceled | SubscriptionStatus::Incomplete
            )
        {
            // A second subscription would bill the customer twice.
            return Err(Error::Conflict(
                "already subscribed: change or cancel the plan in the billing portal \
                 (POST /api/v1/billing/portal)"
                    .into(),
            ));
        }
        let mut request = CheckoutRequest {
            user_id,
            email: user.email.clone(),
            plan,
            customer_id: self.customer_of(&user),
        };
        if request.customer_id.is_none() {
            // Stored before the checkout starts: a checkout that fails after it reuses it.
            let customer_id = self
                .deps
                .billing
                .create_customer(&request)
                .await
                .map_err(billing_error)?;
            self.set_customer(user_id, customer_id.clone()).await?;
            request.customer_id = Some(customer_id);
        }
        let session = self
            .deps
            .billing
            .create_checkout(&request)
            .await
            .map_err(billing_error)?;
        if request.customer_id.as_deref() != Some(&session.customer_id) {
            self.set_customer(user_id, session.customer_id.clone())
                .await?;
        }
        if self.deps.billing.is_mock() {
            let now = self.deps.now();
            self.change_subscription(user_id, None, |s| s.activate_unpaid(plan, now))
                .await?;
        }
        Ok(session)
    }

    /// The user's customer at this gateway: a customer id from mock billing is none at a real
    /// provider (the user was made before the provider was configured).
    fn customer_of(&self, user: &crate::user::User) -> Option<String> {
        let id = user.stripe_customer_id.clone()?;
        (self.deps.billing.is_mock() || !is_mock_customer(&id)).then_some(id)
    }

    /// A link to the provider's customer portal.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the user never subscribed (outside mock mode).
    pub async fn portal(&self, user_id: UserId) -> Result<String> {
        let user = self.deps.user(user_id).await?;
        let customer_id = match self.customer_of(&user) {
            Some(id) => id,
            None if self.deps.billing.is_mock() => mock_customer_id(user_id),
            None => return Err(billing_error(BillingError::NoCustomer)),
        };
        self.deps
            .billing
            .create_portal(&customer_id)
            .await
            .map_err(billing_error)
    }

    /// The user's plan and subscription state.
    ///
    /// # Errors
    /// The store failed.
    pub async fn subscription(&self, user_id: UserId) -> Result<SubscriptionOverview> {
        let subscription = self.deps.store.subscription(user_id).await?;
        Ok(SubscriptionOverview {
            plan: effective_plan(subscription.as_ref(), self.deps.now()),
            status: subscription.as_ref().map(|s| s.status),
            current_period_end: subscription.as_ref().and_then(|s| s.current_period_end),
            cancel_at_period_end: subscription.is_some_and(|s| s.cancel_at_period_end),
        })
    }

    /// Changes the user's subscription (creating it if needed) and applies what the resulting
    /// plan change implies. A change made by a billing event carries the event's `rank`
    /// ([`SubscriptionStatus::event_rank`]): it is applied only if no later event was applied
    /// before it — decided here, and enforced by the store's conditional write against a
    /// concurrent later event. `None`: the event was older, nothing changed.
    pub(crate) async fn change_subscription(
        &self,
        user_id: UserId,
        rank: Option<i64>,
        change: impl FnOnce(&mut Subscription),
    ) -> Result<Option<DowngradeImpact>> {
        let now = self.deps.now();
        let existing = self.deps.store.subscription(user_id).await?;
        if let (Some(rank), Some(applied)) =
            (rank, existing.as_ref().and_then(|s| s.last_event_rank))
            && rank < applied
        {
            return Ok(None);
        }
        let before = effective_plan(existing.as_ref(), now);
        let mut subscription =
            existing.unwrap_or_else(|| Subscription::start(self.deps.new_id(), user_id, now));
        change(&mut subscription);
        subscription.changed_by(rank, now);
        if !self.deps.store.upsert_subscription(&subscription).await? {
            return Ok(None);
        }
        self.apply_plan_change(user_id, before, subscription.effective_plan(now))
            .await
            .map(Some)
    }

    /// Records a plan granted by the dropshipping platform (it manages billing itself): no
    /// provider subscription, no period end.
    ///
    /// # Errors
    /// The store failed.
    pub async fn grant_plan(
        &self,
        user_id: UserId,
        plan: PlanTier,
        status: SubscriptionStatus,
    ) -> Result<DowngradeImpact> {
        let impact = self
            .change_subscription(user_id, None, |s| s.grant(plan, status))
            .await?;
        // A write without a rank is never refused.
        Ok(impact.unwrap_or_default())
    }

    /// Applies a plan change: on a downgrade, accounts beyond the new limit are disconnected
    /// (the most recently connected first) and API keys stop working if the plan has no API.
    ///
    /// # Errors
    /// The store failed.
    pub async fn apply_plan_change(
        &self,
        user_id: UserId,
        from: PlanTier,
        to: PlanTier,
    ) -> Result<DowngradeImpact> {
        let mut impact = DowngradeImpact {
            from,
            to,
            ..DowngradeImpact::default()
        };
        if let Some(keep) = self.deps.limits(to).max_secondary.max() {
            impact.disconnected_accounts = self
                .deps
                .store
                .disconnect_accounts_beyond(user_id, keep)
                .await?;
        }
        impact.api_keys_suspended =
            self.deps.limits(from).api_access && !self.deps.limits(to).api_access;
        Ok(impact)
    }

    /// Applies a verified provider event, once per event id.
    /// Returns `None` for an event seen before.
    ///
    /// # Errors
    /// [`Error::Validation`] for malformed payloads; the event is not recorded when applying it
    /// fails, so the provider's retry is processed.
    pub async fn handle_event(&self, payload: &[u8]) -> Result<Option<BillingEvent>> {
        let event = self
            .deps
            .billing
            .parse_event(payload)
            .map_err(billing_error)?;
        let id = event.id.clone();
        once(&self.deps, "stripe", &id, async {
            self.apply_event(&event).await?;
            Ok(event)
        })
        .await
    }

    async fn set_customer(&self, user_id: UserId, customer_id: String) -> Result<()> {
        let change = UserChange {
            stripe_customer_id: Some(customer_id),
            updated_at: self.deps.now(),
            ..UserChange::default()
        };
        self.deps.store.change_user(user_id, &change).await?;
        Ok(())
    }

    /// The provider's current state of `subscription_id`, when the gateway re-reads.
    async fn current(&self, subscription_id: &str) -> Result<Option<ProviderSubscription>> {
        self.deps
            .billing
            .current_subscription(subscription_id)
            .await
            .map_err(billing_error)
    }

    async fn apply_event(&self, event: &BillingEvent) -> Result<()> {
        let now = self.deps.now();
        match &event.kind {
            BillingEventKind::CheckoutCompleted {
                user_id,
                plan,
                customer_id,
                subscription_id,
            } => {
                let user = self.deps.user(*user_id).await?;
                if let Some(customer_id) = customer_id
                    && user.stripe_customer_id.as_ref() != Some(customer_id)
                {
                    self.set_customer(user.id, customer_id.clone()).await?;
                }
                let current = match subscription_id {
                    Some(id) => self.current(id).await?,
                    None => None,
                };
                // A state read now ranks by when its read returned; the event's own, by when it
                // was created.
                let rank = match &current {
                    Some(state) => state.status.read_rank(self.deps.now()),
                    None => SubscriptionStatus::Active.event_rank(event.created),
                };
                self.change_subscription(*user_id, Some(rank), |s| {
                    s.checkout_completed(*plan, subscription_id.clone(), now);
                    if let Some(state) = &current {
                        apply_state(s, state);
                    }
                })
                .await?;
            }
            BillingEventKind::SubscriptionChanged(ProviderSubscription {
                subscription_id, ..
            })
            | BillingEventKind::InvoiceSettled { subscription_id } => {
                let existing = self
                    .deps
                    .store
                    .subscription_by_provider_id(subscription_id)
                    .await?;
                let current = self.current(subscription_id).await?;
                let (state, rank, read) = match (current, &event.kind) {
                    (Some(state), _) => {
                        let rank = state.status.read_rank(self.deps.now());
                        (state, rank, true)
                    }
                    (None, BillingEventKind::SubscriptionChanged(state)) => {
                        let rank = state.status.event_rank(event.created);
                        (state.clone(), rank, false)
                    }
                    // Without a re-read an invoice says nothing about the subscription.
                    (None, _) => return Ok(()),
                };
                // Not linked yet: its checkout event is late or being applied now. A state read
                // from the provider names its user (set at checkout), so it is applied to them;
                // an event's own state without a link is acknowledged and left (mock mode).
                let user_id = match (&existing, read) {
                    (Some(existing), _) => existing.user_id,
                    (None, true) => match state.user_id {
                        Some(user) if self.deps.store.user(user).await?.is_some() => user,
                        _ => return Ok(()),
                    },
                    (None, false) => return Ok(()),
                };
                self.change_subscription(user_id, Some(rank), |s| {
                    s.link_provider(subscription_id.clone());
                    apply_state(s, &state);
                })
                .await?;
            }
            BillingEventKind::Ignored { .. } => {}
        }
        Ok(())
    }
}
