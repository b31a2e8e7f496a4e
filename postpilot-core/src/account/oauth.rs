//! The [`OAuthProvider`] port: a platform's authorization-code flow, as the
//! [`OAuthService`](crate::account::OAuthService) runs it.

use std::fmt;

use async_trait::async_trait;
use chrono::Duration;

use crate::account::{AccountName, ExternalAccountId};
use crate::crypto::SecretString;

/// An account the merchant granted, with its tokens, as the platform gave them.
#[derive(Clone, Debug)]
pub struct GrantedAccount {
    /// The account's id on the platform (what publishing addresses).
    pub external_id: ExternalAccountId,
    /// Its display name.
    pub name: AccountName,
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, on platforms that use one.
    pub refresh_token: Option<SecretString>,
    /// How long the access token lives, when the platform says.
    pub expires_in: Option<Duration>,
}

/// An account's current tokens, opened, for a refresh.
#[derive(Clone, Debug)]
pub struct CurrentTokens {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, on platforms that use one.
    pub refresh_token: Option<SecretString>,
}

/// What a refresh gave: a new access token, a new refresh token on platforms that rotate them
/// (`None`: keep the current one), and the new lifetime.
#[derive(Clone, Debug)]
pub struct RefreshedTokens {
    /// The new access token.
    pub access_token: SecretString,
    /// The new refresh token, when the platform rotated it.
    pub refresh_token: Option<SecretString>,
    /// How long the new access token lives, when the platform says.
    pub expires_in: Option<Duration>,
}

/// Why a connect flow failed at the platform.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The platform refused the code or the grant (expired, used, denied, wrong app).
    #[error("the platform refused the authorization: {0}")]
    Refused(String),
    /// The platform could not be reached or answered nonsense; trying again may work.
    #[error("the platform is unavailable: {0}")]
    Unavailable(String),
}

/// A platform's authorization-code flow.
#[async_trait]
pub trait OAuthProvider: Send + Sync + fmt::Debug {
    /// Where to send the merchant's browser: the platform's consent page, which comes back to
    /// `redirect_uri` with a code and `state`.
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String;

    /// Exchanges the code for the accounts granted (long-lived tokens where the platform has
    /// them).
    ///
    /// # Errors
    /// [`OAuthError`].
    async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> std::result::Result<Vec<GrantedAccount>, OAuthError>;

    /// Refreshes an account's tokens before the access token expires.
    ///
    /// # Errors
    /// [`OAuthError::Refused`] when the platform will not refresh them (revoked, expired, or a
    /// refresh token already rotated away): the merchant must connect the account again.
    async fn refresh(
        &self,
        current: &CurrentTokens,
    ) -> std::result::Result<RefreshedTokens, OAuthError>;

    /// How long before expiry this platform's tokens are refreshed; `None`: the worker's
    /// horizon (a week). Short-lived tokens say less (TikTok's live a day).
    fn refresh_ahead(&self) -> Option<Duration> {
        None
    }
}
