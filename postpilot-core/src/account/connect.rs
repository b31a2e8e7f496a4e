//! Connecting accounts by OAuth: a `state` bound to the user and the platform, sealed by the
//! [`TokenCipher`](crate::crypto::TokenCipher) and valid for ten minutes, then the code
//! exchanged through the platform's [`OAuthProvider`] for the accounts the merchant granted, each
//! connected within the plan's limit with its tokens sealed.

use std::sync::Arc;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::{ConnectAccount, OAuthError, OAuthProvider, SocialAccount};
use crate::context::Deps;
use crate::crypto::{SecretString, TokenContext};
use crate::error::{Error, Result};
use crate::id::{AccountId, UserId};
use crate::platform::Platform;

/// How long a connect flow may take, from the authorize URL to the callback.
pub const STATE_TTL: Duration = Duration::minutes(10);

/// What the sealed `state` carries.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The user who started the flow.
    u: uuid::Uuid,
    /// The platform.
    p: Platform,
    /// Expiry, in seconds since the epoch.
    e: i64,
    /// A random nonce, so no two states are alike.
    n: uuid::Uuid,
}

/// The context OAuth states are sealed under: no account has the nil ids, so a sealed token
/// never opens as a state, nor a state as a token.
fn state_context() -> TokenContext {
    TokenContext {
        user_id: UserId::from(uuid::Uuid::nil()),
        account_id: AccountId::from(uuid::Uuid::nil()),
    }
}

/// The accounts a finished connect flow connected, for the user who started it.
#[derive(Clone, Debug)]
pub struct Connected {
    /// The user who started the flow.
    pub user_id: UserId,
    /// The platform.
    pub platform: Platform,
    /// The accounts connected (or reconnected).
    pub accounts: Vec<SocialAccount>,
}

/// Connecting accounts by OAuth.
#[derive(Clone, Debug)]
pub struct OAuthService {
    deps: Arc<Deps>,
}

impl OAuthService {
    pub(crate) fn new(deps: Arc<Deps>) -> Self {
        Self { deps }
    }

    fn provider(&self, platform: Platform) -> Result<Arc<dyn OAuthProvider>> {
        self.deps.ensure_offered(platform)?;
        self.deps.oauth.get(&platform).cloned().ok_or_else(|| {
            ValidationError::new(
                "platform",
                format!("{platform} accounts cannot be connected by OAuth on this server"),
            )
            .into()
        })
    }

    /// Starts a connect flow for `user`: the URL of the platform's consent page, whose answer
    /// comes back to `redirect_uri` within [`STATE_TTL`].
    ///
    /// # Errors
    /// [`Error::Validation`] on `platform` when it is not offered or has no OAuth provider.
    pub async fn begin(
        &self,
        user: UserId,
        platform: Platform,
        redirect_uri: &str,
    ) -> Result<String> {
        let provider = self.provider(platform)?;
        let state = State {
            u: user.as_uuid(),
            p: platform,
            e: (self.deps.now() + STATE_TTL).timestamp(),
            n: self.deps.ids.new_uuid(),
        };
        let json = serde_json::to_string(&state)
            .map_err(|e| Error::unavailable("oauth state", e.to_string()))?;
        let sealed = self
            .deps
            .cipher
            .seal(&SecretString::new(json), state_context())
            .map_err(|e| Error::unavailable("token cipher", e))?;
        Ok(provider.authorize_url(&sealed, redirect_uri))
    }

    /// Finishes a connect flow: checks `state` (sealed by this server, for `platform`, not
    /// expired), exchanges `code`, and connects every account granted within the plan's limit.
    ///
    /// # Errors
    /// [`Error::Validation`] on `state` when it is not one of ours, for another platform, or
    /// expired; on `code` when the platform refused it; [`Error::PlanLimit`] when the plan's
    /// account limit is reached (accounts connected before it stay); [`Error::Unavailable`]
    /// when the platform could not be reached.
    pub async fn complete(
        &self,
        platform: Platform,
        code: &str,
        state: &str,
        redirect_uri: &str,
    ) -> Result<Connected> {
        let provider = self.provider(platform)?;
        let invalid =
            || ValidationError::new("state", "is not a valid connect request, or it expired");
        let opened = self
            .deps
            .cipher
            .open(state, state_context())
            .map_err(|_| invalid())?;
        let state: State = serde_json::from_str(opened.expose()).map_err(|_| invalid())?;
        if state.p != platform || state.e < self.deps.now().timestamp() {
            return Err(invalid().into());
        }
        let user = UserId::from(state.u);
        let granted = provider
            .exchange(code, redirect_uri)
            .await
            .map_err(|e| match e {
                OAuthError::Refused(reason) => Error::Validation(ValidationError::new(
                    "code",
                    format!("{platform} refused the authorization: {reason}"),
                )),
                OAuthError::Unavailable(reason) => Error::unavailable("oauth provider", reason),
            })?;
        let accounts = crate::account::AccountService::new(self.deps.clone());
        let mut connected = Vec::with_capacity(granted.len());
        for account in granted {
            let expires_at = account.expires_in.map(|ttl| self.deps.now() + ttl);
            let stored = accounts
                .connect(
                    user,
                    ConnectAccount {
                        platform,
                        account_name: account.name,
                        account_id_external: account.external_id,
                        access_token: Some(account.access_token),
                        refresh_token: account.refresh_token,
                    },
                )
                .await?;
            tracing::info!(%user, %platform, account = %stored.id(), ?expires_at, "account connected by OAuth");
            connected.push(stored);
        }
        Ok(Connected {
            user_id: user,
            platform,
            accounts: connected,
        })
    }
}
