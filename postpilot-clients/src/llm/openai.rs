//! OpenAI-compatible chat completions: `POST {base}/chat/completions` with a bearer key (when one
//! is configured) and `response_format: {"type": "json_schema", "strict": true}` — what OpenAI,
//! Ollama (0.5 and later), vLLM and llama.cpp's server accept.

use async_trait::async_trait;
use postpilot_core::caption::{CaptionError, Completion, LanguageModel, Prompt, TokenUsage};
use postpilot_core::crypto::SecretString;
use serde_json::{Value, json};

use super::{Endpoint, LlmConfig, count, declined, unavailable};

/// A chat model on an OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiModel {
    endpoint: Endpoint,
    api_key: Option<SecretString>,
    model: String,
}

impl OpenAiModel {
    /// The model `config` names, on its base URL.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: LlmConfig) -> Result<Self, String> {
        Ok(Self {
            endpoint: Endpoint::new(&config, "/chat/completions", "the OpenAI-compatible API")?,
            api_key: config.api_key,
            model: config.model,
        })
    }
}

/// The request body for `prompt`.
pub fn request_body(model: &str, prompt: &Prompt) -> Value {
    let mut messages = vec![json!({ "role": "system", "content": prompt.system })];
    messages.extend(super::messages(&prompt.turns));
    json!({
        "model": model,
        "messages": messages,
        "max_completion_tokens": prompt.max_tokens,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": prompt.schema_name,
                "strict": true,
                "schema": prompt.schema,
            },
        },
    })
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }

    async fn complete(&self, prompt: &Prompt) -> Result<Completion, CaptionError> {
        let bearer = self
            .api_key
            .as_ref()
            .map(|k| format!("Bearer {}", k.expose()));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| ("authorization", b))
            .into_iter()
            .collect();
        let answer = self
            .endpoint
            .post(&headers, &request_body(&self.model, prompt))
            .await?;
        let body = &answer.body;
        let message = &body["choices"][0]["message"];
        if message["refusal"].as_str().is_some_and(|r| !r.is_empty()) {
            return Err(declined());
        }
        let text = message["content"]
            .as_str()
            .ok_or_else(|| unavailable("the OpenAI-compatible API answered without the caption"))?;
        Ok(Completion {
            text: text.to_owned(),
            usage: TokenUsage {
                input: count(body.pointer("/usage/prompt_tokens")),
                output: count(body.pointer("/usage/completion_tokens")),
            },
        })
    }
}
