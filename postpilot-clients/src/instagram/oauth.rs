//! Connecting Instagram professional accounts with *Business Login for Instagram*: the consent
//! page on `www.instagram.com/oauth/authorize`, the code exchanged at
//! `api.instagram.com/oauth/access_token` for a short-lived token (one hour), that one exchanged
//! at `graph.instagram.com/access_token` (`ig_exchange_token`) for a long-lived one (60 days),
//! and the account's id and username read from `/me`. Long-lived tokens are refreshed with
//! `graph.instagram.com/refresh_access_token` (`ig_refresh_token`) before they expire.
//!
//! The two token exchanges take the app secret and the token as query or form parameters, as
//! Meta documents them; like every call, their failures are reported without the URL.

use chrono::Duration;
use postpilot_core::account::{
    AccountName, CurrentTokens, ExternalAccountId, GrantedAccount, OAuthError, OAuthProvider,
    RefreshedTokens,
};
use postpilot_core::crypto::SecretString;
use reqwest::Method;
use serde_json::Value;

use crate::http::{HttpClient, Timeouts, consent_url};
use crate::meta::{
    oauth_failure as failure, oauth_unavailable as unavailable, text, text_or_number,
};

/// The app and the hosts.
#[derive(Clone, Debug)]
pub struct InstagramOAuthConfig {
    /// The Instagram app id (`POSTPILOT_INSTAGRAM_APP_ID`).
    pub app_id: String,
    /// The Instagram app secret (`POSTPILOT_INSTAGRAM_APP_SECRET`).
    pub app_secret: SecretString,
    /// The consent page's host (`POSTPILOT_INSTAGRAM_WWW_URL`): `https://www.instagram.com`.
    pub www_url: String,
    /// The code exchange's host (`POSTPILOT_INSTAGRAM_API_URL`): `https://api.instagram.com`.
    pub api_url: String,
    /// The Graph API host (`POSTPILOT_INSTAGRAM_GRAPH_URL`): `https://graph.instagram.com`.
    pub graph_url: String,
    /// The Graph API version.
    pub api_version: String,
    /// The permissions asked for.
    pub scopes: Vec<String>,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
}

impl InstagramOAuthConfig {
    /// The real hosts, publishing and insights permissions, for the app `app_id`.
    pub fn new(app_id: impl Into<String>, app_secret: SecretString) -> Self {
        Self {
            app_id: app_id.into(),
            app_secret,
            www_url: "https://www.instagram.com".into(),
            api_url: "https://api.instagram.com".into(),
            graph_url: "https://graph.instagram.com".into(),
            api_version: "v23.0".into(),
            scopes: [
                "instagram_business_basic",
                "instagram_business_content_publish",
                "instagram_business_manage_insights",
            ]
            .map(String::from)
            .to_vec(),
            timeouts: Timeouts::default(),
        }
    }
}

/// Instagram's authorization-code flow.
#[derive(Clone, Debug)]
pub struct InstagramOAuth {
    http: HttpClient,
    config: InstagramOAuthConfig,
}

impl InstagramOAuth {
    /// A provider for `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: InstagramOAuthConfig) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            config,
        })
    }

    fn host(url: &str) -> &str {
        url.trim_end_matches('/')
    }

    /// The code for a short-lived token.
    async fn short_lived(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, OAuthError> {
        let url = format!("{}/oauth/access_token", Self::host(&self.config.api_url));
        let answer = self
            .http
            .call(
                "Instagram (exchanging the code)",
                Method::POST,
                &url,
                None,
                &[],
                &[
                    ("client_id", &self.config.app_id),
                    ("client_secret", self.config.app_secret.expose()),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", redirect_uri),
                    ("code", code),
                ],
            )
            .await
            .map_err(unavailable)?;
        if !answer.status.is_success() {
            return Err(failure("the code was refused", &answer));
        }
        // Documented as `{"data": [{"access_token", "user_id", "permissions"}]}`; older apps get
        // the object itself.
        let grant = answer.body.pointer("/data/0").unwrap_or(&answer.body);
        text(grant, "access_token")
            .map(SecretString::new)
            .ok_or_else(|| {
                OAuthError::Unavailable("Instagram answered the code without a token".into())
            })
    }

    /// A token for a long-lived one (`ig_exchange_token`, with the app secret) or a long-lived
    /// one for a fresh one (`ig_refresh_token`), and its lifetime: `{access_token, token_type,
    /// expires_in}`.
    async fn long_lived(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<(SecretString, Option<Duration>), OAuthError> {
        let url = format!("{}/{path}", Self::host(&self.config.graph_url));
        let answer = self
            .http
            .call(
                &format!("Instagram ({what})"),
                Method::GET,
                &url,
                None,
                query,
                &[],
            )
            .await
            .map_err(unavailable)?;
        if !answer.status.is_success() {
            return Err(failure(&format!("{what} was refused"), &answer));
        }
        let token = text(&answer.body, "access_token")
            .map(SecretString::new)
            .ok_or_else(|| {
                OAuthError::Unavailable(format!("Instagram answered {what} without a token"))
            })?;
        let lifetime = answer
            .body
            .get("expires_in")
            .and_then(Value::as_i64)
            .map(Duration::seconds);
        Ok((token, lifetime))
    }

    /// The account's Instagram user id (what publishing addresses) and username.
    async fn profile(&self, token: &SecretString) -> Result<(String, String), OAuthError> {
        let url = format!(
            "{}/{}/me",
            Self::host(&self.config.graph_url),
            self.config.api_version
        );
        let answer = self
            .http
            .call(
                "Instagram (reading the account)",
                Method::GET,
                &url,
                Some(token),
                &[("fields", "user_id,username")],
                &[],
            )
            .await
            .map_err(unavailable)?;
        if !answer.status.is_success() {
            return Err(failure("the account could not be read", &answer));
        }
        let id = text_or_number(&answer.body, "user_id");
        match (id, text(&answer.body, "username")) {
            (Some(id), Some(name)) => Ok((id, name.to_owned())),
            _ => Err(OAuthError::Unavailable(
                "Instagram answered the account without its id or username".into(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl OAuthProvider for InstagramOAuth {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        let base = format!("{}/oauth/authorize", Self::host(&self.config.www_url));
        consent_url(
            &base,
            ("client_id", &self.config.app_id),
            redirect_uri,
            &self.config.scopes,
            state,
        )
    }

    async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Vec<GrantedAccount>, OAuthError> {
        let short = self.short_lived(code, redirect_uri).await?;
        let (token, expires_in) = self
            .long_lived(
                "access_token",
                &[
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", self.config.app_secret.expose()),
                    ("access_token", short.expose()),
                ],
                "the long-lived token exchange",
            )
            .await?;
        let (id, username) = self.profile(&token).await?;
        let invalid = |what: &str, e: postpilot_core::ValidationError| {
            OAuthError::Unavailable(format!("Instagram answered an unusable {what}: {e}"))
        };
        Ok(vec![GrantedAccount {
            external_id: ExternalAccountId::parse(&id).map_err(|e| invalid("account id", e))?,
            name: AccountName::parse(format!("@{username}")).map_err(|e| invalid("username", e))?,
            access_token: token,
            refresh_token: None,
            expires_in,
        }])
    }

    /// `ig_refresh_token`: a long-lived token at least a day old and still valid, for a fresh
    /// 60-day one. Instagram has no refresh token.
    async fn refresh(&self, current: &CurrentTokens) -> Result<RefreshedTokens, OAuthError> {
        let (access_token, expires_in) = self
            .long_lived(
                "refresh_access_token",
                &[
                    ("grant_type", "ig_refresh_token"),
                    ("access_token", current.access_token.expose()),
                ],
                "the token refresh",
            )
            .await?;
        Ok(RefreshedTokens {
            access_token,
            refresh_token: None,
            expires_in,
        })
    }
}
