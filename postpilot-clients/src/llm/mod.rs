//! Language models for captions, behind core's [`LanguageModel`] port: Anthropic's Messages API
//! ([`anthropic`]) and any OpenAI-compatible chat-completions server — OpenAI, or a local Ollama,
//! vLLM or llama.cpp server ([`openai`]).
//!
//! Both ask for the answer in the prompt's JSON Schema by the provider's own mechanism (a forced
//! tool call for Anthropic, `response_format: json_schema` for OpenAI), retry a rate limit or an
//! overloaded/failing provider as `Retry-After` says (bounded), and report a provider that stays
//! down as [`CaptionError::Unavailable`] — with neither the key nor the URL in the message.

pub mod anthropic;
pub mod openai;

use std::sync::Arc;
use std::time::Duration;

use postpilot_core::caption::{CaptionError, LanguageModel, Turn};
use postpilot_core::crypto::SecretString;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::http::{Answer, HttpClient, Timeouts, is_transient};

/// Which API a model speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Anthropic's Messages API (`POST {base}/v1/messages`).
    Anthropic,
    /// OpenAI's chat completions (`POST {base}/chat/completions`, `base` ending in `/v1`).
    OpenAi,
}

impl Provider {
    /// `anthropic` or `openai`.
    ///
    /// # Errors
    /// Any other name.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Ok(Self::Anthropic),
            "openai" => Ok(Self::OpenAi),
            other => Err(format!("unknown provider {other:?} (anthropic or openai)")),
        }
    }

    /// The provider's own API host, when none is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Anthropic => "https://api.anthropic.com",
            Self::OpenAi => "https://api.openai.com/v1",
        }
    }
}

/// How to reach a model.
#[derive(Clone, Debug)]
pub struct LlmConfig {
    /// The API.
    pub provider: Provider,
    /// The API's base URL (see [`Provider`]).
    pub base_url: String,
    /// The API key; a local server may need none.
    pub api_key: Option<SecretString>,
    /// The model's name (`claude-sonnet-4-5`, `gpt-4o-mini`, `llama3.1:8b`, …).
    pub model: String,
    /// Timeouts of each call (a model answers slower than a platform API).
    pub timeouts: Timeouts,
    /// Retries after a rate limit, an overloaded or failing provider, or a lost call.
    pub retries: u32,
    /// The longest wait before a retry, whatever `Retry-After` says: a caption is asked for
    /// while a merchant waits.
    pub max_wait: Duration,
}

impl LlmConfig {
    /// `model` on `provider`'s own host, 60 s per call, two retries, waits of at most 10 s.
    pub fn new(
        provider: Provider,
        api_key: Option<SecretString>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            base_url: provider.default_base_url().to_owned(),
            api_key,
            model: model.into(),
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                total: Duration::from_secs(60),
            },
            retries: 2,
            max_wait: Duration::from_secs(10),
        }
    }
}

/// The model `config` describes.
///
/// # Errors
/// The HTTP client could not be built.
pub fn language_model(config: LlmConfig) -> Result<Arc<dyn LanguageModel>, String> {
    Ok(match config.provider {
        Provider::Anthropic => Arc::new(anthropic::AnthropicModel::new(config)?),
        Provider::OpenAi => Arc::new(openai::OpenAiModel::new(config)?),
    })
}

/// One provider's calls: the client, the endpoint and the retry policy.
#[derive(Clone, Debug)]
struct Endpoint {
    http: HttpClient,
    url: String,
    retries: u32,
    max_wait: Duration,
    /// `Anthropic`, `OpenAI`: the provider in messages.
    who: &'static str,
}

impl Endpoint {
    fn new(config: &LlmConfig, path: &str, who: &'static str) -> Result<Self, String> {
        Ok(Self {
            http: HttpClient::new(config.timeouts)?,
            url: format!("{}{path}", config.base_url.trim_end_matches('/')),
            retries: config.retries,
            max_wait: config.max_wait,
            who,
        })
    }

    /// Posts `body` with `headers` until the provider answers other than "later", and returns its
    /// success. Rate limits (429), overload (529) and server errors (5xx) and lost calls are
    /// retried after `Retry-After` (or 1 s, then 2 s, …), at most `retries` times; any other
    /// failure is a refusal that retrying cannot change.
    async fn post(&self, headers: &[(&str, &str)], body: &Value) -> Result<Answer, CaptionError> {
        let mut attempt = 0;
        loop {
            let outcome = self
                .http
                .post_json(self.who, &self.url, headers, body)
                .await;
            let last = attempt == self.retries;
            let wait = match outcome {
                Ok(answer) if answer.status.is_success() => return Ok(answer),
                Ok(answer) if !is_transient(answer.status) => {
                    return Err(refused_call(self.who, &answer));
                }
                Ok(answer) if last => {
                    return Err(unavailable(format!(
                        "{} is busy or failing (HTTP {}) after {} attempts",
                        self.who,
                        answer.status.as_u16(),
                        attempt + 1
                    )));
                }
                Err(transport) if last => return Err(unavailable(transport.0)),
                Ok(answer) => retry_after(&answer.headers),
                Err(_) => None,
            };
            let backoff = Duration::from_secs(1 << attempt.min(5));
            tokio::time::sleep(wait.unwrap_or(backoff).min(self.max_wait)).await;
            attempt += 1;
        }
    }
}

/// `Retry-After` in seconds (the form both providers send).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3_600.0)))
}

fn unavailable(reason: impl Into<String>) -> CaptionError {
    CaptionError::Unavailable(reason.into().into())
}

/// A refusal that retrying cannot change: the provider's own words when it gave them (its error
/// messages carry neither the key nor our URL), and what to check.
fn refused_call(who: &str, answer: &Answer) -> CaptionError {
    let refusal = answer.refusal(|status| match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => " (check POSTPILOT_LLM_API_KEY)",
        StatusCode::NOT_FOUND => " (check POSTPILOT_LLM_BASE_URL and POSTPILOT_LLM_MODEL)",
        _ => "",
    });
    unavailable(format!("{who} refused the call {refusal}"))
}

/// The conversation as both APIs take it: `{"role", "content"}` messages.
fn messages(turns: &[Turn]) -> impl Iterator<Item = Value> + '_ {
    turns.iter().map(|turn| match turn {
        Turn::User(text) => json!({ "role": "user", "content": text }),
        Turn::Assistant(text) => json!({ "role": "assistant", "content": text }),
    })
}

/// What both APIs' refusals become.
fn declined() -> CaptionError {
    CaptionError::Refused("the model declined to write a caption for this product".into())
}

fn count(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}
