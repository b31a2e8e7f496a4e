//! Events from the dropshipping platform (`POST /webhooks/platform-events`), applied once per
//! event id. Signatures are verified by the transport before these are called.

mod once;
mod service;
pub mod signature;

pub use once::WEBHOOK_CLAIM_LEASE;
pub(crate) use once::once;
pub use service::{
    EventOutcome, PlatformEvent, ProductEventData, ProvisionData, SubscriptionUpdatedData,
    WebhookService,
};
