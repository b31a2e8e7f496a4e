//! Events PostPilot sends to the endpoints merchants and the platform register (issue 17):
//! Standard Webhooks 1.0 signatures, and which addresses a delivery may reach.

pub mod address;
pub mod signature;
