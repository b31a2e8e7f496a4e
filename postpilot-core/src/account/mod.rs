//! Social accounts: connecting within the plan limit, soft disconnect, reconnect.

mod model;
mod service;

pub use model::{
    AccountName, ConnectAccount, ExternalAccountId, SocialAccount, SocialAccountRecord,
};
pub use service::AccountService;
pub(crate) use service::{publishable_account, require_reconnect};
