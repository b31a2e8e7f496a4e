//! Social accounts: connecting within the plan limit (directly or by OAuth), soft disconnect,
//! reconnect.

mod connect;
mod model;
mod oauth;
mod service;

pub use connect::{Connected, OAuthService, STATE_TTL, TokenRefreshReport};
pub use model::{
    AccountName, ConnectAccount, ExternalAccountId, SealedTokens, SocialAccount,
    SocialAccountRecord,
};
pub use oauth::{CurrentTokens, GrantedAccount, OAuthError, OAuthProvider, RefreshedTokens};
pub use service::AccountService;
pub(crate) use service::{
    awaiting_reconnect, open_sealed, publishable_account, require_reconnect,
    require_reconnect_if_unchanged, resume_held_posts,
};
