//! Users and authentication: registration, login with argon2id (legacy bcrypt rehashed),
//! provisioning from the platform, rotating refresh tokens.

mod model;
mod service;
mod throttle;

pub use model::{
    Email, MAX_EMAIL_CHARS, RefreshToken, RefreshTokenRecord, RefreshUse, Successor, User,
    UserRecord, parse_time_zone,
};
pub use service::{AuthService, IssuedRefreshToken, Profile, ProfilePatch, Provision};
pub use throttle::LoginThrottlePolicy;
pub(crate) use throttle::{AccountKey, LoginThrottle};
