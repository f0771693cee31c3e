//! What a caller asks of a model: messages, roles and the request.

use std::fmt;

use llmspell_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who wrote a [`ChatMessage`].
///
/// Serialised in lowercase: `"system"`, `"user"`, `"assistant"`, `"tool"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person or program asking.
    User,
    /// The model's earlier replies.
    Assistant,
    /// The result of a tool call the model asked for; such a message needs
    /// [`ChatMessage::tool_call_id`].
    Tool,
}

impl Role {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a conversation.
///
/// JSON form: `{ "role": "user", "content": "Hello" }`, plus
/// `"tool_call_id": "..."` on tool results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text.
    pub content: String,
    /// For [`Role::Tool`] messages: the id of the tool call this message
    /// answers, as the model gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message with `role` and `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_call_id: None,
        }
    }

    /// A [`Role::System`] message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A [`Role::User`] message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// A [`Role::Assistant`] message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A [`Role::Tool`] message answering the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_call_id: Some(tool_call_id.into()),
        }
    }
}

/// A chat completion request, the same for every provider.
///
/// JSON form (absent options are omitted):
///
/// ```json
/// {
///   "model": "gpt-4o-mini",
///   "messages": [{ "role": "user", "content": "Hello" }],
///   "system_prompt": "Be brief.",
///   "temperature": 0.2,
///   "max_tokens": 256,
///   "stop": ["\n\n"],
///   "extra": { "top_p": 0.9 }
/// }
/// ```
///
/// `model` is the provider's own model name (`gpt-4o-mini`, not
/// `openai/gpt-4o-mini`); when empty, the provider's default model is used
/// (a provider built from a model spec has one). `extra` holds
/// provider-specific parameters that are copied into the top level of the
/// request body; it may not contain a key the provider sets itself (see
/// each provider's docs), so `extra` cannot silently change the protocol.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LlmRequest {
    /// The model to use; empty for the provider's default.
    #[serde(default)]
    pub model: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Instructions placed before the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Sampling temperature; must be finite and not negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation when produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Provider-specific parameters, merged into the request body.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl LlmRequest {
    /// A request for `model` with `messages` and no options.
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        Self {
            model: model.into(),
            messages,
            ..Self::default()
        }
    }

    /// A request with a single user message, for the provider's default model.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("", vec![ChatMessage::user(content)])
    }

    /// Sets the model.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets the system prompt.
    #[must_use]
    pub fn with_system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the temperature.
    #[must_use]
    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the token limit.
    #[must_use]
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Adds a stop sequence.
    #[must_use]
    pub fn with_stop(mut self, stop: impl Into<String>) -> Self {
        self.stop.push(stop.into());
        self
    }

    /// Adds a provider-specific parameter.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    /// Checks what every provider needs: at least one message, a tool call id
    /// on tool messages, and a usable temperature.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        if self.messages.is_empty() {
            return Err(Error::invalid_input(
                "messages",
                "a request needs at least one message",
            ));
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.role == Role::Tool && m.tool_call_id.as_deref().is_none_or(str::is_empty) {
                return Err(Error::invalid_input(
                    format!("messages[{i}].tool_call_id"),
                    "a tool message needs the id of the tool call it answers",
                ));
            }
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(Error::invalid_input(
                "temperature",
                format!("expected a finite number of at least 0, got {t}"),
            ));
        }
        if self.max_tokens == Some(0) {
            return Err(Error::invalid_input(
                "max_tokens",
                "expected at least 1 token",
            ));
        }
        Ok(())
    }

    /// Returns `self.model`, or `default` when the request names no model.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] on `model` when neither names one.
    pub(crate) fn resolve_model<'a>(&'a self, default: Option<&'a str>) -> Result<&'a str> {
        if !self.model.is_empty() {
            return Ok(&self.model);
        }
        match default {
            Some(m) if !m.is_empty() => Ok(m),
            _ => Err(Error::invalid_input(
                "model",
                "the request names no model and the provider has no default model",
            )),
        }
    }

    /// Copies `extra` into `body`, refusing keys the provider sets itself.
    pub(crate) fn merge_extra(
        &self,
        body: &mut Map<String, Value>,
        reserved: &[&str],
    ) -> Result<()> {
        for (key, value) in &self.extra {
            if reserved.contains(&key.as_str()) {
                return Err(Error::invalid_input(
                    format!("extra.{key}"),
                    format!(
                        "`{key}` is set by the provider and cannot be overridden; reserved keys: {}",
                        reserved.join(", ")
                    ),
                ));
            }
            body.insert(key.clone(), value.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_is_snake_case_and_omits_absent_options() {
        let req = LlmRequest::new("m", vec![ChatMessage::user("hi")]).with_temperature(0.5);
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({
                "model": "m",
                "messages": [{ "role": "user", "content": "hi" }],
                "temperature": 0.5
            })
        );
        let back: LlmRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn tool_messages_carry_their_call_id() {
        let v = serde_json::to_value(ChatMessage::tool("call_1", "42")).unwrap();
        assert_eq!(
            v,
            json!({ "role": "tool", "content": "42", "tool_call_id": "call_1" })
        );
    }

    #[test]
    fn validation_names_the_bad_field() {
        let err = LlmRequest::default().validate().unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "messages"));

        let err = LlmRequest::user("x")
            .with_temperature(f64::NAN)
            .validate()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "temperature"));

        let mut req = LlmRequest::user("x");
        req.messages.push(ChatMessage::new(Role::Tool, "out"));
        let err = req.validate().unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { ref field, .. } if field == "messages[1].tool_call_id")
        );
        assert!(
            LlmRequest::user("x")
                .with_temperature(0.0)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn model_falls_back_to_the_default() {
        let req = LlmRequest::user("x");
        assert_eq!(req.resolve_model(Some("d")).unwrap(), "d");
        assert!(req.resolve_model(None).is_err());
        assert_eq!(req.with_model("m").resolve_model(Some("d")).unwrap(), "m");
    }

    #[test]
    fn extra_cannot_override_reserved_keys() {
        let req = LlmRequest::user("x").with_extra("stream", json!(true));
        let mut body = Map::new();
        let err = req
            .merge_extra(&mut body, &["model", "stream"])
            .unwrap_err();
        assert!(err.to_string().contains("extra.stream"), "{err}");

        let req = LlmRequest::user("x").with_extra("top_p", json!(0.9));
        req.merge_extra(&mut body, &["model", "stream"]).unwrap();
        assert_eq!(body["top_p"], json!(0.9));
    }
}
