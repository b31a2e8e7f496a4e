//! Social accounts: connecting within the plan limit, soft disconnect, reconnect.

mod model;
mod service;

pub use model::{AccountName, ConnectAccount, ExternalAccountId, SocialAccount};
pub use service::AccountService;
