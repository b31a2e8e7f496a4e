//! The billing provider port and its mock.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::billing::SubscriptionStatus;
use crate::id::UserId;
use crate::plan::PlanTier;
use crate::user::Email;

/// What a checkout is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The buyer.
    pub user_id: UserId,
    /// The buyer's e-mail.
    pub email: Email,
    /// The plan bought (pro or enterprise).
    pub plan: PlanTier,
    /// The provider's customer id, if the user has one already.
    pub customer_id: Option<String>,
}

/// A started checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutSession {
    /// Where to send the buyer (absolute URL).
    pub checkout_url: String,
    /// The provider's session id.
    pub session_id: String,
    /// The provider's customer id for the user.
    pub customer_id: String,
}

/// A provider event, after its signature was verified by the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingEvent {
    /// The provider's event id (deduplicated).
    pub id: String,
    /// When the provider created the event (Stripe's `created`): orders events that arrive out
    /// of order.
    pub created: Option<DateTime<Utc>>,
    /// What happened.
    pub kind: BillingEventKind,
}

/// A subscription as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSubscription {
    /// Provider subscription id.
    pub subscription_id: String,
    /// Provider customer id.
    pub customer_id: Option<String>,
    /// The user it was bought for (`metadata.user_id`, set at checkout).
    pub user_id: Option<UserId>,
    /// Its status (`canceled` once deleted).
    pub status: SubscriptionStatus,
    /// The plan, when the provider's data names one.
    pub plan: Option<PlanTier>,
    /// Period start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// Period end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
}

/// The provider events PostPilot acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BillingEventKind {
    /// A checkout finished: the user subscribed.
    CheckoutCompleted {
        /// The buyer (from the session's client reference).
        user_id: UserId,
        /// The plan bought.
        plan: PlanTier,
        /// Provider customer id.
        customer_id: Option<String>,
        /// Provider subscription id.
        subscription_id: Option<String>,
    },
    /// A subscription was created, changed or deleted.
    SubscriptionChanged(ProviderSubscription),
    /// An invoice of a subscription was paid or failed (`invoice.paid`,
    /// `invoice.payment_failed`): what it changed is read from the provider
    /// ([`BillingGateway::current_subscription`]); without a re-read it changes nothing.
    InvoiceSettled {
        /// Provider subscription id.
        subscription_id: String,
    },
    /// Anything else: acknowledged and ignored.
    Ignored {
        /// The provider's event type.
        event_type: String,
    },
}

/// Why the provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The provider is unreachable or failed.
    #[error("billing provider unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The event payload is not one we understand.
    #[error("malformed billing event: {0}")]
    Malformed(String),
    /// The user has no customer record at the provider.
    #[error("no billing customer")]
    NoCustomer,
}

/// A billing provider: Stripe, or [`MockBilling`] when no key is configured.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BillingGateway: Send + Sync + fmt::Debug {
    /// Whether this is mock mode: checkouts activate the plan at once.
    fn is_mock(&self) -> bool;

    /// Creates the provider's customer record for the buyer of `request` (called once per user:
    /// its id is stored at once, before any checkout is started).
    ///
    /// # Errors
    /// The provider failed.
    async fn create_customer(&self, request: &CheckoutRequest) -> Result<String, BillingError>;

    /// Starts a checkout for a paid plan, for the customer `request` names.
    ///
    /// # Errors
    /// The provider failed.
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, BillingError>;

    /// A customer-portal link for an existing customer.
    ///
    /// # Errors
    /// The provider failed.
    async fn create_portal(&self, customer_id: &str) -> Result<String, BillingError>;

    /// Parses a verified webhook payload into an event.
    ///
    /// # Errors
    /// [`BillingError::Malformed`] for payloads that are not provider events.
    fn parse_event(&self, payload: &[u8]) -> Result<BillingEvent, BillingError>;

    /// The subscription as the provider holds it now, read on every event about it so that events applied late, twice or out of order leave the
    /// provider's latest state. `None`: this gateway does not re-read (mock mode applies each
    /// event's own state).
    ///
    /// # Errors
    /// The provider failed: the event is not recorded, so the provider's retry applies it.
    async fn current_subscription(
        &self,
        subscription_id: &str,
    ) -> Result<Option<ProviderSubscription>, BillingError> {
        let _ = subscription_id;
        Ok(None)
    }
}

/// The customer id mock billing gives `user`.
pub(crate) fn mock_customer_id(user: UserId) -> String {
    format!("cus_mock_{}", user.as_uuid().simple())
}

/// Whether `id` was made by mock billing (and so names no customer at a real provider).
pub(crate) fn is_mock_customer(id: &str) -> bool {
    id.starts_with("cus_mock_")
}

/// Mock mode: local URLs, immediate activation, and Stripe-shaped events parsed from JSON.
#[derive(Debug)]
pub struct MockBilling {
    base_url: String,
    counter: AtomicU64,
}

impl MockBilling {
    /// Mock billing whose checkout and portal links point under `base_url`
    /// (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            counter: AtomicU64::new(0),
        }
    }
}

impl Default for MockBilling {
    fn default() -> Self {
        Self::new("http://127.0.0.1:8080")
    }
}

#[derive(Deserialize)]
struct StripeEnvelope {
    id: String,
    #[serde(default)]
    created: Option<i64>,
    #[serde(rename = "type")]
    event_type: String,
    data: StripeData,
}

#[derive(Deserialize)]
struct StripeData {
    object: serde_json::Value,
}

fn str_field(object: &serde_json::Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(object, |v, key| v.get(key))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

fn time_field(object: &serde_json::Value, key: &str) -> Option<DateTime<Utc>> {
    object
        .get(key)
        .and_then(serde_json::Value::as_i64)
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// Stripe's subscription statuses, including the two PostPilot folds into its own: an expired
/// incomplete subscription never paid (incomplete), and a paused one grants nothing (unpaid).
fn stripe_status(status: &str) -> Option<SubscriptionStatus> {
    match status {
        "incomplete_expired" => Some(SubscriptionStatus::Incomplete),
        "paused" => Some(SubscriptionStatus::Unpaid),
        other => other.parse().ok(),
    }
}

/// Parses a Stripe event (`checkout.session.completed`, `customer.subscription.*`, `invoice.paid`,
/// `invoice.payment_failed`). The plan is read from `metadata.plan`; the user from
/// `client_reference_id` or `metadata.user_id`.
///
/// # Errors
/// [`BillingError::Malformed`] when required fields are missing or invalid.
pub fn parse_stripe_event(payload: &[u8]) -> Result<BillingEvent, BillingError> {
    parse_stripe_event_with(payload, &|_| None)
}

fn malformed(what: &str) -> BillingError {
    BillingError::Malformed(what.to_owned())
}

/// A subscription's plan: the plan whose price its first item has (`plan_of_price`: a plan
/// changed in the customer portal changes the price, not the metadata), else its
/// `metadata.plan`.
fn stripe_plan(
    object: &serde_json::Value,
    plan_of_price: &dyn Fn(&str) -> Option<PlanTier>,
) -> Result<Option<PlanTier>, BillingError> {
    let priced = object
        .pointer("/items/data/0/price/id")
        .and_then(serde_json::Value::as_str)
        .and_then(plan_of_price);
    match (priced, str_field(object, &["metadata", "plan"])) {
        (Some(plan), _) => Ok(Some(plan)),
        (None, Some(plan)) => plan
            .parse()
            .map(Some)
            .map_err(|_| malformed("unknown plan")),
        (None, None) => Ok(None),
    }
}

/// A Stripe subscription object; `deleted` for a
/// `customer.subscription.deleted` event (canceled whatever its status says). The period is read
/// from the subscription, or from its first item (where Stripe's API versions since 2025-03 keep
/// it).
///
/// # Errors
/// [`BillingError::Malformed`] without an id or a known status.
pub fn parse_stripe_subscription(
    object: &serde_json::Value,
    deleted: bool,
    plan_of_price: &dyn Fn(&str) -> Option<PlanTier>,
) -> Result<ProviderSubscription, BillingError> {
    let status = if deleted {
        SubscriptionStatus::Canceled
    } else {
        str_field(object, &["status"])
            .and_then(|s| stripe_status(&s))
            .ok_or_else(|| malformed("subscription without a known status"))?
    };
    let item = object
        .pointer("/items/data/0")
        .unwrap_or(&serde_json::Value::Null);
    let period = |key: &str| time_field(object, key).or_else(|| time_field(item, key));
    Ok(ProviderSubscription {
        subscription_id: str_field(object, &["id"])
            .ok_or_else(|| malformed("subscription without an id"))?,
        customer_id: str_field(object, &["customer"]),
        user_id: str_field(object, &["metadata", "user_id"]).and_then(|s| s.parse().ok()),
        status,
        plan: stripe_plan(object, plan_of_price)?,
        current_period_start: period("current_period_start"),
        current_period_end: period("current_period_end"),
        cancel_at_period_end: object
            .get("cancel_at_period_end")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    })
}

/// [`parse_stripe_event`], reading a subscription's plan from its price when its metadata does
/// not name one.
///
/// # Errors
/// [`BillingError::Malformed`] when required fields are missing or invalid.
pub fn parse_stripe_event_with(
    payload: &[u8],
    plan_of_price: &dyn Fn(&str) -> Option<PlanTier>,
) -> Result<BillingEvent, BillingError> {
    let envelope: StripeEnvelope =
        serde_json::from_slice(payload).map_err(|_| malformed("not a JSON event"))?;
    let object = &envelope.data.object;
    let kind = match envelope.event_type.as_str() {
        "checkout.session.completed" => {
            let user_id = str_field(object, &["client_reference_id"])
                .or_else(|| str_field(object, &["metadata", "user_id"]))
                .and_then(|s| s.parse::<UserId>().ok())
                .ok_or_else(|| malformed("checkout without a user reference"))?;
            let plan = str_field(object, &["metadata", "plan"])
                .ok_or_else(|| malformed("checkout without a plan"))?
                .parse::<PlanTier>()
                .map_err(|_| malformed("unknown plan"))?;
            BillingEventKind::CheckoutCompleted {
                user_id,
                plan,
                customer_id: str_field(object, &["customer"]),
                subscription_id: str_field(object, &["subscription"]),
            }
        }
        t @ ("customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted") => BillingEventKind::SubscriptionChanged(
            parse_stripe_subscription(object, t == "customer.subscription.deleted", plan_of_price)?,
        ),
        t @ ("invoice.paid" | "invoice.payment_failed") => {
            // The subscription's id: `subscription`, or under `parent` since API 2025-03.
            match str_field(object, &["subscription"])
                .or_else(|| str_field(object, &["parent", "subscription_details", "subscription"]))
            {
                Some(subscription_id) => BillingEventKind::InvoiceSettled { subscription_id },
                None => BillingEventKind::Ignored {
                    event_type: t.to_owned(),
                },
            }
        }
        other => BillingEventKind::Ignored {
            event_type: other.to_owned(),
        },
    };
    Ok(BillingEvent {
        id: envelope.id,
        created: envelope
            .created
            .map(|secs| DateTime::from_timestamp(secs, 0).ok_or_else(|| malformed("created")))
            .transpose()?,
        kind,
    })
}

#[async_trait]
impl BillingGateway for MockBilling {
    fn is_mock(&self) -> bool {
        true
    }

    async fn create_customer(&self, request: &CheckoutRequest) -> Result<String, BillingError> {
        Ok(mock_customer_id(request.user_id))
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, BillingError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let session_id = format!("cs_mock_{}_{n}", request.user_id.as_uuid().simple());
        let customer_id = request
            .customer_id
            .clone()
            .unwrap_or_else(|| mock_customer_id(request.user_id));
        Ok(CheckoutSession {
            checkout_url: format!(
                "{}/billing/mock/checkout/{session_id}?plan={}",
                self.base_url, request.plan
            ),
            session_id,
            customer_id,
        })
    }

    async fn create_portal(&self, customer_id: &str) -> Result<String, BillingError> {
        Ok(format!(
            "{}/billing/mock/portal/{customer_id}",
            self.base_url
        ))
    }

    fn parse_event(&self, payload: &[u8]) -> Result<BillingEvent, BillingError> {
        parse_stripe_event(payload)
    }
}
