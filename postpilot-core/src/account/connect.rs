//! Connecting accounts by OAuth: a `state` bound to the user and the platform, sealed by the
//! [`TokenCipher`](crate::crypto::TokenCipher) and valid for ten minutes, then the code
//! exchanged through the platform's [`OAuthProvider`] for the accounts the merchant granted, each
//! connected within the plan's limit with its tokens sealed.

use std::sync::Arc;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::account::{
    ConnectAccount, CurrentTokens, OAuthError, OAuthProvider, SealedTokens, SocialAccount,
};
use crate::context::Deps;
use crate::crypto::{SecretString, TokenContext};
use crate::error::{Error, Result};
use crate::id::{AccountId, UserId};
use crate::platform::Platform;
use crate::store::StoreError;

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
    /// Accounts granted but left out because the plan's account limit was reached (Facebook
    /// grants every Page the merchant picks at once).
    pub over_limit: usize,
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

    /// Whether `platform`'s accounts can be connected by OAuth on this server (offered, and its
    /// app configured).
    pub fn offers(&self, platform: Platform) -> bool {
        self.provider(platform).is_ok()
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
        let mut over_limit = 0;
        let mut refused = None;
        for account in granted {
            let expires_at = account.expires_in.map(|ttl| self.deps.now() + ttl);
            let stored = accounts
                .connect_until(
                    user,
                    ConnectAccount {
                        platform,
                        account_name: account.name,
                        account_id_external: account.external_id,
                        access_token: Some(account.access_token),
                        refresh_token: account.refresh_token,
                    },
                    expires_at,
                )
                .await;
            let stored = match stored {
                // What fits the plan is connected (an account reconnected always fits); the
                // rest is reported, not an error — unless nothing fits at all.
                Err(Error::PlanLimit { resource, limit }) => {
                    over_limit += 1;
                    refused = Some(Error::PlanLimit { resource, limit });
                    continue;
                }
                other => other?,
            };
            tracing::info!(%user, %platform, account = %stored.id(), ?expires_at, "account connected by OAuth");
            connected.push(stored);
        }
        if connected.is_empty()
            && let Some(refused) = refused
        {
            return Err(refused);
        }
        Ok(Connected {
            user_id: user,
            platform,
            accounts: connected,
            over_limit,
        })
    }

    /// Refreshes, before they expire, the tokens of up to `limit` accounts whose access token
    /// expires within `horizon`, on platforms with an OAuth provider. A new token is stored
    /// only where the old one still is, so of two workers refreshing one account the second
    /// changes nothing; a refusal marks the account for reconnection only if nobody refreshed
    /// it meanwhile (a rotated refresh token lost to another worker never locks the merchant
    /// out). A platform that is unreachable is tried again at the next run, while the token
    /// still works.
    ///
    /// # Errors
    /// The store failed to list the accounts.
    pub async fn refresh_expiring(
        &self,
        horizon: Duration,
        limit: u32,
    ) -> Result<TokenRefreshReport> {
        let now = self.deps.now();
        let ahead = |provider: &dyn OAuthProvider| provider.refresh_ahead().unwrap_or(horizon);
        let widest = self
            .deps
            .oauth
            .values()
            .map(|p| ahead(p.as_ref()))
            .max()
            .unwrap_or(horizon);
        let mut report = TokenRefreshReport::default();
        for account in self
            .deps
            .store
            .accounts_expiring_before(now + widest, limit)
            .await?
        {
            let Some(provider) = self.deps.oauth.get(&account.platform()).cloned() else {
                continue;
            };
            if account
                .token_expires_at()
                .is_none_or(|at| at >= now + ahead(provider.as_ref()))
            {
                continue;
            }
            match self.refresh_leased(&account, provider.as_ref()).await {
                Ok(outcome) => outcome.count(&mut report),
                Err(e) => {
                    tracing::warn!(account = %account.id(), platform = %account.platform(), error = %e, "token refresh failed; tried again at the next run");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// A platform refused the account's token while publishing: refreshes it now, when its
    /// platform can (TikTok's day-long tokens lapse if a refresh run was missed). `true`: the
    /// account has fresh tokens and the posts held for it are due again; `false`: it could not
    /// be refreshed (the caller flags it, unless a refusal already did).
    pub(crate) async fn refresh_refused(&self, user: UserId, id: AccountId) -> Result<bool> {
        let Some(account) = self.deps.store.account(user, id).await? else {
            return Ok(false);
        };
        let Some(provider) = self.deps.oauth.get(&account.platform()).cloned() else {
            return Ok(false);
        };
        if account.refresh_token_enc().is_none() {
            // Nothing but the refused token to refresh with (Instagram, Facebook).
            return Ok(false);
        }
        match self.refresh_leased(&account, provider.as_ref()).await? {
            RefreshOutcome::Refreshed => {
                crate::account::resume_held_posts(&self.deps, user, id).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Refreshes one account under its refresh lease: one worker at a time per account, since
    /// a rotated refresh token is spent by the first to use it.
    async fn refresh_leased(
        &self,
        account: &SocialAccount,
        provider: &dyn OAuthProvider,
    ) -> Result<RefreshOutcome> {
        let now = self.deps.now();
        let leased = match self
            .deps
            .store
            .lease_token_refresh(account.user_id(), account.id(), now, now + REFRESH_LEASE)
            .await
        {
            Ok(leased) => leased,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !leased {
            return Ok(RefreshOutcome::Superseded);
        }
        self.refresh_one(account, provider).await
    }

    async fn refresh_one(
        &self,
        account: &SocialAccount,
        provider: &dyn OAuthProvider,
    ) -> Result<RefreshOutcome> {
        let (user, id) = (account.user_id(), account.id());
        let context = TokenContext {
            user_id: user,
            account_id: id,
        };
        let open = |sealed: Option<&str>| {
            crate::account::open_sealed(&self.deps, account, sealed)
                .map_err(|e| Error::unavailable("token cipher", e))
        };
        let Some(access_token) = open(account.access_token_enc())? else {
            return Ok(RefreshOutcome::Skipped);
        };
        let current = CurrentTokens {
            access_token,
            refresh_token: open(account.refresh_token_enc())?,
        };
        match provider.refresh(&current).await {
            Ok(fresh) => {
                let seal = |token: &SecretString| {
                    self.deps
                        .cipher
                        .seal(token, context)
                        .map_err(|e| Error::unavailable("token cipher", e))
                };
                let tokens = SealedTokens {
                    access: Some(seal(&fresh.access_token)?),
                    refresh: match &fresh.refresh_token {
                        Some(rotated) => Some(seal(rotated)?),
                        None => account.refresh_token_enc().map(str::to_owned),
                    },
                    expires_at: fresh.expires_in.map(|ttl| self.deps.now() + ttl),
                };
                let replacing = account.access_token_enc().map(str::to_owned);
                // The platform may have spent the old refresh token: the new pair exists only
                // here, so a failing store is tried again while the lease is ours.
                let mut tries = 0;
                loop {
                    tries += 1;
                    match self
                        .deps
                        .store
                        .set_account_tokens(user, id, tokens.clone(), replacing.clone())
                        .await
                    {
                        Ok(()) => return Ok(RefreshOutcome::Refreshed),
                        Err(StoreError::Stale | StoreError::NotFound) => {
                            return Ok(RefreshOutcome::Superseded);
                        }
                        Err(e) if tries >= 3 => {
                            tracing::error!(%id, platform = %account.platform(), error = %e, "refreshed tokens could not be stored; if the platform rotated the refresh token the merchant must reconnect the account");
                            return Err(e.into());
                        }
                        Err(e) => {
                            tracing::warn!(%id, error = %e, "storing refreshed tokens failed; trying again");
                            tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
                        }
                    }
                }
            }
            Err(OAuthError::Refused(reason)) => {
                let now = self.deps.store.account(user, id).await?;
                if now.as_ref().and_then(SocialAccount::access_token_enc)
                    != account.access_token_enc()
                {
                    return Ok(RefreshOutcome::Superseded);
                }
                tracing::warn!(%id, platform = %account.platform(), reason, "token refresh refused; the account needs reconnecting");
                crate::account::require_reconnect(&self.deps, user, id).await?;
                Ok(RefreshOutcome::NeedsReconnect)
            }
            Err(OAuthError::Unavailable(reason)) => {
                Err(Error::unavailable("oauth provider", reason))
            }
        }
    }
}

/// How long a worker holds an account's token refresh: longer than a platform call may take.
const REFRESH_LEASE: Duration = Duration::minutes(2);

/// What one token refresh run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenRefreshReport {
    /// Accounts whose tokens were refreshed.
    pub refreshed: u32,
    /// Accounts refreshed (or disconnected) by someone else meanwhile: nothing changed.
    pub superseded: u32,
    /// Accounts the platform refused to refresh: marked for reconnection.
    pub needs_reconnect: u32,
    /// Accounts left for the next run (platform unreachable, a key missing).
    pub failed: u32,
}

impl TokenRefreshReport {
    /// Adds another run's counts.
    pub fn merge(&mut self, other: Self) {
        self.refreshed += other.refreshed;
        self.superseded += other.superseded;
        self.needs_reconnect += other.needs_reconnect;
        self.failed += other.failed;
    }
}

/// How one account's refresh ended.
enum RefreshOutcome {
    Refreshed,
    Superseded,
    NeedsReconnect,
    /// No token to refresh.
    Skipped,
}

impl RefreshOutcome {
    fn count(self, report: &mut TokenRefreshReport) {
        match self {
            Self::Refreshed => report.refreshed += 1,
            Self::Superseded => report.superseded += 1,
            Self::NeedsReconnect => report.needs_reconnect += 1,
            Self::Skipped => {}
        }
    }
}
