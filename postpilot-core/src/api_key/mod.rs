//! API keys: `po_live_` + 32 random bytes, shown once, stored as SHA-256 with a visible prefix.

mod model;
mod service;

pub(crate) use crate::crypto::hex_sha256;
pub use model::{ApiKey, ApiKeyName, ApiKeyRecord, ApiKeySecret, KEY_PREFIX, Scope};
pub use service::{ApiKeyService, AuthenticatedKey, CreatedApiKey};
