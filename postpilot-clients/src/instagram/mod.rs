//! Instagram, through the *Instagram API with Instagram Login*: publishing
//! ([`InstagramPublisher`]) and connecting accounts ([`InstagramOAuth`]).

mod oauth;
mod publisher;

pub use oauth::{InstagramOAuth, InstagramOAuthConfig};
pub use publisher::{InstagramConfig, InstagramPublisher};
