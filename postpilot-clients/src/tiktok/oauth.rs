//! Connecting TikTok accounts with *Login Kit for Web*: the consent page on
//! `www.tiktok.com/v2/auth/authorize/` (TikTok names the app's id `client_key`), the code
//! exchanged at `open.tiktokapis.com/v2/oauth/token/` for an access token (24 hours) and a
//! refresh token (365 days), and the account read from `/v2/user/info/`. Refresh tokens
//! **rotate**: each refresh answers a new one and may spend the old, so the worker refreshes an
//! account under a lease (one worker at a time) and stores the new pair atomically
//! (DECISIONS.md 60, 66).

use chrono::Duration;
use postpilot_core::account::{
    AccountName, CurrentTokens, ExternalAccountId, GrantedAccount, OAuthError, OAuthProvider,
    RefreshedTokens,
};
use postpilot_core::crypto::SecretString;
use reqwest::Method;
use serde_json::Value;

use crate::http::{Answer, HttpClient, Timeouts, consent_url};
use crate::meta::{oauth_unavailable, text};

/// The TikTok app and the hosts.
#[derive(Clone, Debug)]
pub struct TikTokOAuthConfig {
    /// The app's client key (`POSTPILOT_TIKTOK_CLIENT_KEY`).
    pub client_key: String,
    /// The app's client secret (`POSTPILOT_TIKTOK_CLIENT_SECRET`).
    pub client_secret: SecretString,
    /// The consent page's host (`POSTPILOT_TIKTOK_WWW_URL`): `https://www.tiktok.com`.
    pub www_url: String,
    /// The API host (`POSTPILOT_TIKTOK_API_URL`): `https://open.tiktokapis.com`.
    pub api_url: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Access tokens are refreshed when less than this is left (they live 24 hours).
    pub refresh_ahead: Duration,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
}

impl TikTokOAuthConfig {
    /// The real hosts and the scopes publishing and counters need, for the app `client_key`.
    pub fn new(client_key: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            client_key: client_key.into(),
            client_secret,
            www_url: "https://www.tiktok.com".into(),
            api_url: "https://open.tiktokapis.com".into(),
            scopes: ["user.info.basic", "video.publish", "video.list"]
                .map(String::from)
                .to_vec(),
            refresh_ahead: Duration::hours(6),
            timeouts: Timeouts::default(),
        }
    }
}

/// TikTok's Login Kit.
#[derive(Clone, Debug)]
pub struct TikTokOAuth {
    http: HttpClient,
    config: TikTokOAuthConfig,
}

/// What a failed token answer means. `invalid_grant` (a code or refresh token used, expired or
/// revoked) is a refusal; so is any other 4xx of the code exchange (a merchant's connect
/// attempt). For a refresh everything else — `invalid_client` after a secret was rotated, a
/// 429, a 5xx — is the platform or our configuration being unavailable: no account is marked
/// for reconnection over it.
fn failure(what: &str, answer: &Answer, refreshing: bool) -> OAuthError {
    let code = text(&answer.body, "error").unwrap_or_default();
    let description = text(&answer.body, "error_description").unwrap_or("no reason given");
    if code == "invalid_grant" || (!refreshing && answer.status.is_client_error()) {
        OAuthError::Refused(format!("{what}: {code} ({description})"))
    } else {
        OAuthError::Unavailable(format!("{what}: HTTP {} ({description})", answer.status))
    }
}

/// The tokens of a token answer.
struct Tokens {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_in: Option<Duration>,
    open_id: Option<String>,
}

impl TikTokOAuth {
    /// A provider for `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: TikTokOAuthConfig) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            config,
        })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/v2/{path}", self.config.api_url.trim_end_matches('/'))
    }

    /// `oauth/token/` with the app's key and secret and `grant`.
    async fn token(
        &self,
        grant: &[(&str, &str)],
        what: &str,
        refreshing: bool,
    ) -> Result<Tokens, OAuthError> {
        let mut form = vec![
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.config.client_secret.expose()),
        ];
        form.extend_from_slice(grant);
        let answer = self
            .http
            .call(
                &format!("TikTok ({what})"),
                Method::POST,
                &self.api("oauth/token/"),
                None,
                &[],
                &form,
            )
            .await
            .map_err(oauth_unavailable)?;
        if !answer.status.is_success() || text(&answer.body, "error").is_some_and(|e| !e.is_empty())
        {
            return Err(failure(&format!("{what} was refused"), &answer, refreshing));
        }
        let access = text(&answer.body, "access_token")
            .map(SecretString::new)
            .ok_or_else(|| {
                OAuthError::Unavailable(format!("TikTok answered {what} without a token"))
            })?;
        Ok(Tokens {
            access,
            refresh: text(&answer.body, "refresh_token").map(SecretString::new),
            expires_in: answer
                .body
                .get("expires_in")
                .and_then(Value::as_i64)
                .map(Duration::seconds),
            open_id: text(&answer.body, "open_id").map(str::to_owned),
        })
    }

    /// The account's display name.
    async fn display_name(&self, token: &SecretString) -> Result<String, OAuthError> {
        let answer = self
            .http
            .call(
                "TikTok (reading the account)",
                Method::GET,
                &self.api("user/info/"),
                Some(token),
                &[("fields", "open_id,display_name")],
                &[],
            )
            .await
            .map_err(oauth_unavailable)?;
        let ok = answer.body.pointer("/error/code").and_then(Value::as_str) == Some("ok");
        match answer
            .body
            .pointer("/data/user/display_name")
            .and_then(Value::as_str)
        {
            Some(name) if answer.status.is_success() && ok => Ok(name.to_owned()),
            _ => Err(OAuthError::Unavailable(format!(
                "TikTok could not read the account: HTTP {}",
                answer.status
            ))),
        }
    }
}

#[async_trait::async_trait]
impl OAuthProvider for TikTokOAuth {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        let base = format!(
            "{}/v2/auth/authorize/",
            self.config.www_url.trim_end_matches('/')
        );
        consent_url(
            &base,
            ("client_key", &self.config.client_key),
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
        let tokens = self
            .token(
                &[
                    ("code", code),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", redirect_uri),
                ],
                "the code exchange",
                false,
            )
            .await?;
        let open_id = tokens.open_id.clone().ok_or_else(|| {
            OAuthError::Unavailable("TikTok answered the code without the account's open_id".into())
        })?;
        let name = self.display_name(&tokens.access).await?;
        let invalid = |what: &str, e: postpilot_core::ValidationError| {
            OAuthError::Unavailable(format!("TikTok answered an unusable {what}: {e}"))
        };
        Ok(vec![GrantedAccount {
            external_id: ExternalAccountId::parse(&open_id).map_err(|e| invalid("open_id", e))?,
            name: AccountName::parse(name).map_err(|e| invalid("display name", e))?,
            access_token: tokens.access,
            refresh_token: tokens.refresh,
            expires_in: tokens.expires_in,
        }])
    }

    /// `grant_type=refresh_token`: a new access token and, rotated, a new refresh token.
    async fn refresh(&self, current: &CurrentTokens) -> Result<RefreshedTokens, OAuthError> {
        let refresh = current
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::Refused("the account has no TikTok refresh token".into()))?;
        let tokens = self
            .token(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                ],
                "the token refresh",
                true,
            )
            .await?;
        Ok(RefreshedTokens {
            access_token: tokens.access,
            refresh_token: tokens.refresh,
            expires_in: tokens.expires_in,
        })
    }

    fn refresh_ahead(&self) -> Option<Duration> {
        Some(self.config.refresh_ahead)
    }
}
