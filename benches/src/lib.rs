//! What the benchmarks share: a merchant with a connected account on an engine.

use postpilot_core::account::{AccountName, ConnectAccount, ExternalAccountId};
use postpilot_core::id::{AccountId, UserId};
use postpilot_core::platform::Platform;
use postpilot_core::{Engine, Error};

/// Registers `bench@example.com` and connects one Facebook account.
///
/// # Errors
/// The engine refused (a second call on the same engine: the e-mail is taken).
pub async fn merchant(engine: &Engine) -> Result<(UserId, AccountId), Error> {
    let user = engine
        .auth()
        .register("bench@example.com", "correct horse battery")
        .await?;
    let account = engine
        .accounts()
        .connect(
            user.id(),
            ConnectAccount {
                platform: Platform::Facebook,
                account_name: AccountName::parse("@bench")?,
                account_id_external: ExternalAccountId::parse("bench")?,
                access_token: None,
                refresh_token: None,
            },
        )
        .await?;
    Ok((user.id(), account.id()))
}
