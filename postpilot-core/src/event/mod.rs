//! Events PostPilot sends to the endpoints merchants and the platform register (issue 17):
//! Standard Webhooks 1.0 signatures.

pub mod signature;
