//! A local language-model API speaking both shapes the caption clients use: Anthropic's
//! `POST /v1/messages` (the answer as the input of the forced tool, `usage.input_tokens` /
//! `output_tokens`, errors as `{"type": "error", "error": {"type", "message"}}`, `x-api-key` and
//! `anthropic-version` required) and OpenAI's `POST /v1/chat/completions` (the answer as the
//! message's `content` string, `refusal`, `usage.prompt_tokens` / `completion_tokens`, a bearer
//! key, errors as `{"error": {"message", "type", "code"}}`). Replies are scripted in order; with
//! none left it answers a valid caption for each platform the request's schema asks for, as a
//! model following the schema would. Every call is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::answer;

/// The key the fake accepts.
pub const FAKE_LLM_KEY: &str = "sk-fake-llm-key-0123456789";

/// What the fake answers to one call.
#[derive(Clone, Debug)]
pub enum LlmReply {
    /// This JSON as the model's whole answer (anything, valid or not).
    Answer(Value),
    /// This `{"caption": …, "hashtags": […]}` for each platform the request's schema asks for.
    Each(Value),
    /// Plain text instead of the structured answer.
    Text(String),
    /// An error status, with a `Retry-After` header when given.
    Status {
        status: u16,
        retry_after: Option<&'static str>,
    },
    /// The default answer, after this long (to outlast the client's timeout).
    Slow(Duration),
    /// The model declines.
    Refusal,
}

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct LlmCall {
    /// `/v1/messages` or `/v1/chat/completions`.
    pub path: &'static str,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Debug, Default)]
struct LlmState {
    replies: VecDeque<LlmReply>,
    calls: Vec<LlmCall>,
}

/// The fake, shared with the test.
#[derive(Clone, Debug)]
pub struct FakeLlm {
    state: Arc<Mutex<LlmState>>,
    /// Anthropic's base URL; OpenAI's is this with `/v1`.
    pub base_url: String,
}

type Shared = State<Arc<Mutex<LlmState>>>;

/// The caption the fake answers for each platform when no reply is scripted.
pub fn default_answer() -> Value {
    json!({ "caption": "A desk lamp that keeps up with late nights.", "hashtags": ["lamp", "desk"] })
}

impl FakeLlm {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(LlmState::default()));
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/chat/completions", post(completions))
            .with_state(state.clone());
        Self {
            state,
            base_url: super::serve(app).await,
        }
    }

    fn state(&self) -> MutexGuard<'_, LlmState> {
        self.state.lock().unwrap()
    }

    /// Queues `reply` after those already queued.
    pub fn reply(&self, reply: LlmReply) {
        self.state().replies.push_back(reply);
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<LlmCall> {
        self.state().calls.clone()
    }
}

/// Records the call and takes the next reply, waiting out a [`LlmReply::Slow`] and answering
/// [`LlmReply::Each`] (and the default) for each platform asked.
async fn next(
    state: &Arc<Mutex<LlmState>>,
    path: &'static str,
    headers: HeaderMap,
    body: Value,
) -> LlmReply {
    let platforms = asked_platforms(&body);
    let reply = {
        let mut s = state.lock().unwrap();
        s.calls.push(LlmCall {
            path,
            headers,
            body,
        });
        s.replies.pop_front()
    };
    let each = |caption: Value| {
        LlmReply::Answer(
            platforms
                .iter()
                .map(|platform| (platform.clone(), caption.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        )
    };
    match reply {
        Some(LlmReply::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            each(default_answer())
        }
        Some(LlmReply::Each(caption)) => each(caption),
        Some(reply) => reply,
        None => each(default_answer()),
    }
}

/// The keys the request's answer schema requires: the platforms a caption is asked for (the
/// forced tool's input schema, or the response format's schema).
fn asked_platforms(body: &Value) -> Vec<String> {
    let schema = body
        .pointer("/tools/0/input_schema")
        .or_else(|| body.pointer("/response_format/json_schema/schema"));
    schema
        .and_then(|s| s["required"].as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn status_answer(status: u16, retry_after: Option<&'static str>, body: Value) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(after) = retry_after {
        headers.insert("retry-after", after.parse().unwrap());
    }
    answer(status, headers, body)
}

async fn messages(
    State(state): Shared,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let error = |status: u16, kind: &str, message: &str| {
        let body = json!({ "type": "error", "error": { "type": kind, "message": message } });
        answer(status, HeaderMap::new(), body)
    };
    let key_ok = headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(FAKE_LLM_KEY);
    let version_ok = headers.get("anthropic-version").is_some();
    let reply = next(&state, "/v1/messages", headers, body.clone()).await;
    if !key_ok {
        return error(401, "authentication_error", "invalid x-api-key");
    }
    if !version_ok {
        return error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    let usage = json!({ "input_tokens": 120, "output_tokens": 40 });
    let tool = body
        .pointer("/tool_choice/name")
        .cloned()
        .unwrap_or(Value::Null);
    let (content, stop) = match reply {
        LlmReply::Answer(input) => (
            json!([{ "type": "tool_use", "id": "toolu_fake01", "name": tool, "input": input }]),
            "tool_use",
        ),
        LlmReply::Text(text) => (json!([{ "type": "text", "text": text }]), "end_turn"),
        LlmReply::Refusal => (json!([]), "refusal"),
        LlmReply::Status {
            status,
            retry_after,
        } => {
            let (kind, message) = match status {
                429 => (
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                ),
                529 => ("overloaded_error", "Overloaded"),
                _ => ("api_error", "Internal server error"),
            };
            let body = json!({ "type": "error", "error": { "type": kind, "message": message } });
            return status_answer(status, retry_after, body);
        }
        LlmReply::Slow(_) | LlmReply::Each(_) => unreachable!("resolved in next"),
    };
    answer(
        200,
        HeaderMap::new(),
        json!({
            "id": "msg_fake01", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage,
        }),
    )
}

async fn completions(
    State(state): Shared,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reply = next(&state, "/v1/chat/completions", headers, body.clone()).await;
    if bearer.as_deref() != Some(&format!("Bearer {FAKE_LLM_KEY}")) {
        let body = json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key" } });
        return answer(401, HeaderMap::new(), body);
    }
    let (content, refusal) = match reply {
        LlmReply::Answer(value) => (Value::String(value.to_string()), Value::Null),
        LlmReply::Text(text) => (Value::String(text), Value::Null),
        LlmReply::Refusal => (Value::Null, json!("I'm sorry, I can't help with that.")),
        LlmReply::Status {
            status,
            retry_after,
        } => {
            let body = json!({ "error": { "message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded" } });
            return status_answer(status, retry_after, body);
        }
        LlmReply::Slow(_) | LlmReply::Each(_) => unreachable!("resolved in next"),
    };
    answer(
        200,
        HeaderMap::new(),
        json!({
            "id": "chatcmpl-fake01", "object": "chat.completion", "created": 1_764_763_200, "model": body["model"],
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content, "refusal": refusal }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160 },
        }),
    )
}
