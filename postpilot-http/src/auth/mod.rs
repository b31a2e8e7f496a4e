//! Authentication: who calls (an access token or an API key), with what tokens, in which session.

mod caller;
mod epochs;
mod tokens;

pub(crate) use caller::Authenticated;
pub use caller::{AuthAttempt, Caller, SessionUser};
pub(crate) use epochs::EpochCache;
pub(crate) use tokens::JwtKeys;
