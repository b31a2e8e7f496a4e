//! Meta's Graph API errors (Instagram and Facebook share them), mapped to what the scheduler must
//! do: wait out a rate limit for as long as Meta says, ask for reconnection when the token is
//! dead, refuse for good what Meta will never accept, and retry everything else.
//!
//! Codes from Meta's "Graph API error handling" and "Instagram Platform error codes" pages:
//! 190 (and 102, 463, 467) the token; 10 and 200–299 a missing permission; 4, 17, 32, 613 and
//! 80001–80014 rate limits (the `X-App-Usage` / `X-Business-Use-Case-Usage` headers carry
//! `estimated_time_to_regain_access`, in minutes); 1, 2 and `is_transient` temporary; 9004 and
//! the 2207xxx subcodes the media pipeline.

use chrono::Duration;
use postpilot_core::account::OAuthError;
use postpilot_core::crypto::SecretString;
use postpilot_core::publish::PublishError;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{Answer, HttpClient, Timeouts, Transport};

/// One of Meta's Graph API hosts (`graph.instagram.com`, `graph.facebook.com`) at one version:
/// every call of a publisher goes through [`GraphApi::call`], whose failures are classified by
/// Meta's error codes.
#[derive(Clone, Debug)]
pub struct GraphApi {
    http: HttpClient,
    platform: &'static str,
    base_url: String,
    version: String,
}

impl GraphApi {
    /// `platform` names it in errors ("Instagram", "Facebook").
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(
        platform: &'static str,
        base_url: &str,
        version: &str,
        timeouts: Timeouts,
    ) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(timeouts)?,
            platform,
            base_url: base_url.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
        })
    }

    /// One call to `/{version}/{path}` with `token`; a failed answer, or one carrying an
    /// `error`, is classified ([`classify`]).
    ///
    /// # Errors
    /// What the scheduler must do about the failure.
    pub async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        token: &SecretString,
        query: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Value, PublishError> {
        let url = format!("{}/{}/{path}", self.base_url, self.version);
        let answer = self
            .http
            .call(
                &format!("{} ({what})", self.platform),
                method,
                &url,
                Some(token),
                query,
                form,
            )
            .await?;
        if answer.status.is_success() && GraphError::of(&answer).is_none() {
            Ok(answer.body)
        } else {
            Err(classify(self.platform, &answer))
        }
    }

    /// The `id` of an answer (a Graph id may come as a string or a number).
    ///
    /// # Errors
    /// A retry when there is none.
    pub fn id_of(&self, body: &Value, what: &str) -> Result<String, PublishError> {
        text_or_number(body, "id").ok_or_else(|| PublishError::Retryable {
            reason: format!("{} answered {what} without an id", self.platform),
            after: None,
        })
    }
}

/// The lifetime value of the insight `name` in an `/insights` answer (`data[].values[0].value`,
/// or `total_value.value`), 0 when it is absent.
pub fn insight(body: &Value, name: &str) -> u64 {
    body.get("data")
        .and_then(Value::as_array)
        .and_then(|metrics| {
            metrics
                .iter()
                .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|m| {
            m.pointer("/values/0/value")
                .or_else(|| m.pointer("/total_value/value"))
        })
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// A string field, or a number field as text (Meta sends ids either way).
pub fn text_or_number(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    })
}

/// A string field of an answer.
pub fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// An OAuth call that did not complete.
pub fn oauth_unavailable(t: Transport) -> OAuthError {
    OAuthError::Unavailable(t.0)
}

/// What a failed OAuth answer means: a refusal on 4xx (Instagram's `error_message`, or the
/// Graph API's `error.message`), else the platform being unavailable.
pub fn oauth_failure(what: &str, answer: &Answer) -> OAuthError {
    let message = answer
        .body
        .get("error_message")
        .or_else(|| answer.body.pointer("/error/message"))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned();
    if answer.status.is_client_error() {
        OAuthError::Refused(format!("{what}: {message}"))
    } else {
        OAuthError::Unavailable(format!("{what}: HTTP {} ({message})", answer.status))
    }
}

/// The `error` object of a Graph API answer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct GraphError {
    /// Meta's message (for developers).
    #[serde(default)]
    pub message: String,
    /// The error code.
    #[serde(default)]
    pub code: i64,
    /// The subcode, when there is one.
    #[serde(default)]
    pub error_subcode: Option<i64>,
    /// Whether Meta says retrying may succeed.
    #[serde(default)]
    pub is_transient: Option<bool>,
    /// The message meant for the user, when Meta gives one.
    #[serde(default)]
    pub error_user_msg: Option<String>,
}

impl GraphError {
    /// The error of a failed answer, if it carries one.
    pub fn of(answer: &Answer) -> Option<Self> {
        answer
            .body
            .get("error")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
    }

    /// The most useful words for a merchant: Meta's user message, else its message.
    fn words(&self) -> String {
        let text = self
            .error_user_msg
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&self.message);
        let code = match self.error_subcode {
            Some(sub) => format!("{}/{sub}", self.code),
            None => self.code.to_string(),
        };
        format!("{text} (Meta error {code})")
    }
}

/// How long a rate limit lasts when Meta does not say.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::minutes(15);

/// Rate-limit codes: application, user, page and business-use-case limits.
fn is_rate_limit(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613) || (80_001..=80_014).contains(&code)
}

/// Codes that mean the token is dead or lacks a permission: only the merchant can fix them, by
/// connecting the account again.
fn needs_reconnect(code: i64) -> bool {
    matches!(code, 102 | 190 | 463 | 467 | 10) || (200..=299).contains(&code)
}

/// The longest `estimated_time_to_regain_access` (minutes) in Meta's usage headers.
pub fn regain_access_after(headers: &HeaderMap) -> Option<Duration> {
    let minutes = [
        "x-business-use-case-usage",
        "x-app-usage",
        "x-ad-account-usage",
    ]
    .iter()
    .filter_map(|name| headers.get(*name)?.to_str().ok())
    .filter_map(|text| serde_json::from_str::<Value>(text).ok())
    .flat_map(|value| {
        let mut found = Vec::new();
        collect_regain(&value, &mut found);
        found
    })
    .max()?;
    (minutes > 0).then(|| Duration::minutes(minutes))
}

fn collect_regain(value: &Value, found: &mut Vec<i64>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "estimated_time_to_regain_access" {
                    if let Some(n) = inner.as_i64() {
                        found.push(n);
                    }
                } else {
                    collect_regain(inner, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_regain(v, found)),
        _ => {}
    }
}

/// What the scheduler does with a failed Graph API answer; `platform` names it in the reason.
pub fn classify(platform: &str, answer: &Answer) -> PublishError {
    let Some(error) = GraphError::of(answer) else {
        return PublishError::Retryable {
            reason: format!(
                "{platform} answered HTTP {} without an error",
                answer.status
            ),
            after: None,
        };
    };
    if is_rate_limit(error.code) || error.error_subcode == Some(2_207_042) {
        // 2207042: the account's 24-hour publishing limit; the window reopens within the day.
        let after = regain_access_after(&answer.headers).unwrap_or(
            if error.error_subcode == Some(2_207_042) {
                Duration::hours(1)
            } else {
                DEFAULT_RATE_LIMIT_WAIT
            },
        );
        return PublishError::RateLimited { after };
    }
    if needs_reconnect(error.code) {
        return PublishError::AuthExpired;
    }
    if let Some(reason) = media_refusal(error.error_subcode) {
        return PublishError::Rejected {
            reason: format!("{reason} ({})", error.words()),
        };
    }
    let transient = error.is_transient == Some(true)
        || matches!(error.code, 1 | 2)
        || answer.status.is_server_error();
    if !transient && error.code == 100 {
        // An invalid parameter: the same request will be refused again.
        return PublishError::Rejected {
            reason: error.words(),
        };
    }
    PublishError::Retryable {
        reason: error.words(),
        after: None,
    }
}

/// Media-pipeline subcodes that no retry can fix, in words a merchant can act on.
fn media_refusal(subcode: Option<i64>) -> Option<&'static str> {
    Some(match subcode? {
        2_207_004 => "the image is larger than Instagram accepts (8 MB)",
        2_207_005 | 2_207_026 => "Instagram does not support this media format",
        2_207_009 => "the image's aspect ratio is outside what Instagram accepts",
        2_207_010 => "the caption is longer than Instagram accepts",
        2_207_023 => "Instagram does not know this media type",
        2_207_028 => "a carousel needs between 2 and 10 images or videos",
        2_207_050 => "the Instagram account is restricted or inactive",
        2_207_051 => "Instagram blocked this post as a restricted action (spam protection)",
        2_207_052 => "Instagram could not fetch the media from its URL",
        _ => return None,
    })
}
