//! Anthropic's Messages API: `POST /v1/messages` with `x-api-key` and `anthropic-version`; the
//! answer is forced into the prompt's schema as the input of the one tool offered
//! (`tool_choice: {"type": "tool"}`), which every current Claude model supports.

use async_trait::async_trait;
use postpilot_core::caption::{CaptionError, Completion, LanguageModel, Prompt, TokenUsage};
use postpilot_core::crypto::SecretString;
use serde_json::{Value, json};

use super::{Endpoint, LlmConfig, count, declined, messages, unavailable};

/// The API version every request names.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A Claude model.
#[derive(Debug)]
pub struct AnthropicModel {
    endpoint: Endpoint,
    api_key: Option<SecretString>,
    model: String,
}

impl AnthropicModel {
    /// The model `config` names, on its base URL.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: LlmConfig) -> Result<Self, String> {
        Ok(Self {
            endpoint: Endpoint::new(&config, "/v1/messages", "Anthropic")?,
            api_key: config.api_key,
            model: config.model,
        })
    }
}

/// The request body for `prompt`.
pub fn request_body(model: &str, prompt: &Prompt) -> Value {
    let messages: Vec<Value> = messages(&prompt.turns).collect();
    json!({
        "model": model,
        "max_tokens": prompt.max_tokens,
        "system": prompt.system,
        "messages": messages,
        "tools": [{
            "name": prompt.schema_name,
            "description": "Give the answer.",
            "input_schema": prompt.schema,
        }],
        "tool_choice": { "type": "tool", "name": prompt.schema_name },
    })
}

#[async_trait]
impl LanguageModel for AnthropicModel {
    fn name(&self) -> String {
        format!("anthropic:{}", self.model)
    }

    async fn complete(&self, prompt: &Prompt) -> Result<Completion, CaptionError> {
        let key = self.api_key.as_ref().map_or("", |k| k.expose());
        let headers = [("x-api-key", key), ("anthropic-version", ANTHROPIC_VERSION)];
        let answer = self
            .endpoint
            .post(&headers, &request_body(&self.model, prompt))
            .await?;
        let body = &answer.body;
        if body["stop_reason"] == "refusal" {
            return Err(declined());
        }
        let input = body["content"]
            .as_array()
            .and_then(|blocks| blocks.iter().find(|b| b["type"] == "tool_use"))
            .map(|block| &block["input"])
            .ok_or_else(|| unavailable("Anthropic answered without the caption"))?;
        Ok(Completion {
            text: input.to_string(),
            usage: TokenUsage {
                input: count(body.pointer("/usage/input_tokens")),
                output: count(body.pointer("/usage/output_tokens")),
            },
        })
    }
}
