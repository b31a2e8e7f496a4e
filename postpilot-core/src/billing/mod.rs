//! Plans you pay for: subscriptions, the [`BillingGateway`] port (mock and Stripe), and the
//! billing use cases.

mod gateway;
mod model;
mod service;

#[cfg(feature = "mock")]
pub use gateway::MockBillingGateway;
pub use gateway::{
    BillingError, BillingEvent, BillingEventKind, BillingGateway, CheckoutRequest, CheckoutSession,
    MockBilling, ProviderSubscription, parse_stripe_event, parse_stripe_event_with,
    parse_stripe_subscription,
};
pub use model::{Subscription, SubscriptionRecord, SubscriptionStatus, effective_plan};
pub use service::{BillingService, DowngradeImpact, SubscriptionOverview};
