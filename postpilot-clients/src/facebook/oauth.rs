//! Connecting Facebook Pages with *Facebook Login*: the consent dialog on
//! `www.facebook.com/{version}/dialog/oauth` (where the merchant picks the Pages to grant), the
//! code exchanged at `graph.facebook.com/{version}/oauth/access_token` for a user token, that one
//! exchanged (`fb_exchange_token`) for a long-lived one, and `/me/accounts` read with it: one
//! account per granted Page on which the merchant may create content, each with **that Page's
//! own token** (Postiz stored the wrong token for some Pages: gitroomhq/postiz-app #1679,
//! #1881). Page tokens obtained from a long-lived user token do not expire, so there is nothing
//! to refresh; a revoked one surfaces as Meta code 190 and the account is marked for
//! reconnection.

use postpilot_core::account::{
    AccountName, CurrentTokens, ExternalAccountId, GrantedAccount, OAuthError, OAuthProvider,
    RefreshedTokens,
};
use postpilot_core::crypto::SecretString;
use reqwest::Method;
use serde_json::Value;

use crate::http::{HttpClient, Timeouts, consent_url};
use crate::meta::{oauth_failure, oauth_unavailable, text, text_or_number};

/// The Meta app and the hosts.
#[derive(Clone, Debug)]
pub struct FacebookOAuthConfig {
    /// The Meta app id (`POSTPILOT_META_APP_ID`).
    pub app_id: String,
    /// The Meta app secret (`POSTPILOT_META_APP_SECRET`).
    pub app_secret: SecretString,
    /// The consent dialog's host (`POSTPILOT_FACEBOOK_WWW_URL`): `https://www.facebook.com`.
    pub www_url: String,
    /// The Graph API host (`POSTPILOT_FACEBOOK_GRAPH_URL`): `https://graph.facebook.com`.
    pub graph_url: String,
    /// The Graph API version.
    pub api_version: String,
    /// The permissions asked for.
    pub scopes: Vec<String>,
    /// The timeouts of every call.
    pub timeouts: Timeouts,
}

impl FacebookOAuthConfig {
    /// The real hosts and the Page permissions publishing and insights need, for `app_id`.
    pub fn new(app_id: impl Into<String>, app_secret: SecretString) -> Self {
        Self {
            app_id: app_id.into(),
            app_secret,
            www_url: "https://www.facebook.com".into(),
            graph_url: "https://graph.facebook.com".into(),
            api_version: "v23.0".into(),
            scopes: [
                "pages_show_list",
                "pages_manage_posts",
                "pages_read_engagement",
                "read_insights",
            ]
            .map(String::from)
            .to_vec(),
            timeouts: Timeouts::default(),
        }
    }
}

/// Facebook Login for Pages.
#[derive(Clone, Debug)]
pub struct FacebookOAuth {
    http: HttpClient,
    config: FacebookOAuthConfig,
}

impl FacebookOAuth {
    /// A provider for `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: FacebookOAuthConfig) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            config,
        })
    }

    fn graph(&self, path: &str) -> String {
        format!(
            "{}/{}/{path}",
            self.config.graph_url.trim_end_matches('/'),
            self.config.api_version
        )
    }

    /// `oauth/access_token` with `query`: `{access_token, token_type, expires_in}`.
    async fn token(&self, query: &[(&str, &str)], what: &str) -> Result<SecretString, OAuthError> {
        let answer = self
            .http
            .call(
                &format!("Facebook ({what})"),
                Method::GET,
                &self.graph("oauth/access_token"),
                None,
                query,
                &[],
            )
            .await
            .map_err(oauth_unavailable)?;
        if !answer.status.is_success() {
            return Err(oauth_failure(&format!("{what} was refused"), &answer));
        }
        text(&answer.body, "access_token")
            .map(SecretString::new)
            .ok_or_else(|| {
                OAuthError::Unavailable(format!("Facebook answered {what} without a token"))
            })
    }

    /// The Pages the user granted, with their tokens (`/me/accounts`).
    async fn pages(&self, user_token: &SecretString) -> Result<Vec<Value>, OAuthError> {
        let answer = self
            .http
            .call(
                "Facebook (listing the Pages)",
                Method::GET,
                &self.graph("me/accounts"),
                Some(user_token),
                &[("fields", "id,name,access_token,tasks"), ("limit", "100")],
                &[],
            )
            .await
            .map_err(oauth_unavailable)?;
        if !answer.status.is_success() {
            return Err(oauth_failure("the Pages could not be listed", &answer));
        }
        Ok(answer
            .body
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// Whether the user may publish on the Page (`tasks` has `CREATE_CONTENT`; a Page listed
/// without tasks is taken as granted).
fn can_publish(page: &Value) -> bool {
    page.get("tasks")
        .and_then(Value::as_array)
        .is_none_or(|tasks| tasks.iter().any(|t| t.as_str() == Some("CREATE_CONTENT")))
}

#[async_trait::async_trait]
impl OAuthProvider for FacebookOAuth {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        let base = format!(
            "{}/{}/dialog/oauth",
            self.config.www_url.trim_end_matches('/'),
            self.config.api_version
        );
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
        let secret = self.config.app_secret.expose();
        let short = self
            .token(
                &[
                    ("client_id", &self.config.app_id),
                    ("client_secret", secret),
                    ("redirect_uri", redirect_uri),
                    ("code", code),
                ],
                "the code exchange",
            )
            .await?;
        let long = self
            .token(
                &[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", &self.config.app_id),
                    ("client_secret", secret),
                    ("fb_exchange_token", short.expose()),
                ],
                "the long-lived token exchange",
            )
            .await?;
        let invalid = |what: &str, e: postpilot_core::ValidationError| {
            OAuthError::Unavailable(format!("Facebook answered an unusable {what}: {e}"))
        };
        let mut granted = Vec::new();
        for page in self.pages(&long).await?.iter().filter(|p| can_publish(p)) {
            let (Some(id), Some(name), Some(token)) = (
                text_or_number(page, "id"),
                text(page, "name"),
                text(page, "access_token"),
            ) else {
                continue;
            };
            granted.push(GrantedAccount {
                external_id: ExternalAccountId::parse(&id).map_err(|e| invalid("Page id", e))?,
                name: AccountName::parse(name).map_err(|e| invalid("Page name", e))?,
                access_token: SecretString::new(token),
                refresh_token: None,
                expires_in: None,
            });
        }
        if granted.is_empty() {
            return Err(OAuthError::Refused(
                "no Facebook Page was granted on which you may publish: connect again and pick \
                 at least one Page you manage"
                    .into(),
            ));
        }
        Ok(granted)
    }

    /// Page tokens from a long-lived user token do not expire; none is ever due for a refresh.
    async fn refresh(&self, _current: &CurrentTokens) -> Result<RefreshedTokens, OAuthError> {
        Err(OAuthError::Refused(
            "Facebook Page tokens do not expire and cannot be refreshed; reconnect the Page".into(),
        ))
    }
}
