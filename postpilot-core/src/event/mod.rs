//! Events PostPilot sends to the endpoints merchants and the platform register (issue 17):
//! the endpoints themselves, Standard Webhooks 1.0 signatures, and which addresses a delivery
//! may reach.

pub mod address;
pub mod delivery;
mod endpoint;
mod outbox;
mod service;
pub mod signature;
mod worker;

pub use endpoint::{
    EndpointUrl, EventType, MAX_DESCRIPTION_CHARS, MAX_ENDPOINTS, MAX_URL_LEN, NewEndpoint,
    OPERATOR, OPERATOR_ENDPOINT, OWNER_REASON, ROTATION_OVERLAP, WebhookEndpoint,
    WebhookEndpointRecord, parse_description,
};
pub use outbox::{
    AccountEventData, ClaimedDelivery, DELIVERY_LEASE, Delivery, DeliveryRecord, DeliveryStatus,
    EVENT_VERSION, EndpointHealth, Event, FAILING_REASON, GONE_REASON, LimitName,
    PlanLimitEventData, PostEventData, QueueItemEventData, account_connected,
    account_needs_reconnect, connection_events, plan_limit_events, post_event, post_quota_events,
    queue_item_generated,
};
pub use service::{CreatedEndpoint, EndpointPatch, EndpointService, NewEndpointRequest};
pub use worker::{DeliveryTotals, DeliveryWorker, DeliveryWorkerConfig, EVENT_RETENTION};
