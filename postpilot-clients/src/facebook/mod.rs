//! Facebook Pages, through the Graph API (`graph.facebook.com`): publishing to a Page
//! ([`FacebookPublisher`]) and connecting the Pages a merchant manages with Facebook Login
//! ([`FacebookOAuth`]).

mod oauth;
mod publisher;

pub use oauth::{FacebookOAuth, FacebookOAuthConfig};
pub use publisher::{FacebookConfig, FacebookPublisher};
