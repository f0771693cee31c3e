//! Reading an LLM agent's input and the responses hooks hand back.

use llmspell_core::{Error, Result};
use serde_json::Value;

use crate::llm::{ChatMessage, FinishReason, LlmResponse, TokenUsage};

/// An LLM agent's input: the new messages and per-call overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct LlmInput {
    pub(crate) messages: Vec<ChatMessage>,
    pub(crate) system_prompt: Option<String>,
    pub(crate) temperature: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) stream: Option<bool>,
}

const SHAPE: &str = "expected a string, { text = \"…\" } or { messages = { { role = \"user\", content = \"…\" }, … } }";

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl LlmInput {
    /// Reads `"text"`, `{ text }`, `{ messages }` (both: the messages, then
    /// the text as a last user message), with optional `system_prompt`,
    /// `temperature`, `max_tokens` and `stream`. Other keys are ignored.
    pub(crate) fn parse(input: Value) -> Result<Self> {
        let mut map = match input {
            Value::String(text) => {
                return Ok(Self {
                    messages: vec![ChatMessage::user(text)],
                    ..Self::default()
                });
            }
            Value::Object(map) => map,
            other => {
                return Err(Error::invalid_input(
                    "input",
                    format!("{SHAPE}, got {}", type_name(&other)),
                ));
            }
        };
        let mut out = Self::default();
        if let Some(m) = map.remove("messages").filter(|v| !v.is_null()) {
            out.messages = serde_path_to_error::deserialize(m).map_err(|e| {
                let path = e.path().to_string();
                Error::invalid_input(
                    format!(
                        "messages{}",
                        if path == "." {
                            String::new()
                        } else {
                            format!(".{path}")
                        }
                    ),
                    e.into_inner().to_string(),
                )
            })?;
        }
        match map.remove("text") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) => out.messages.push(ChatMessage::user(t)),
            Some(other) => {
                return Err(Error::invalid_input(
                    "text",
                    format!("expected a string, got {}", type_name(&other)),
                ));
            }
        }
        if out.messages.is_empty() {
            return Err(Error::invalid_input("text", SHAPE));
        }
        out.system_prompt = match map.remove("system_prompt") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(Error::invalid_input(
                    "system_prompt",
                    format!("expected a string, got {}", type_name(&other)),
                ));
            }
        };
        out.temperature = match map.remove("temperature") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_f64().ok_or_else(|| {
                Error::invalid_input(
                    "temperature",
                    format!("expected a number, got {}", type_name(&v)),
                )
            })?),
        };
        out.max_tokens =
            match map.remove("max_tokens") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                    || {
                        Error::invalid_input(
                            "max_tokens",
                            format!("expected a whole number of tokens, got {v}"),
                        )
                    },
                )?),
            };
        out.stream = match map.remove("stream") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(other) => {
                return Err(Error::invalid_input(
                    "stream",
                    format!("expected true or false, got {}", type_name(&other)),
                ));
            }
        };
        Ok(out)
    }
}

/// Reads a response back from JSON a hook produced (`Modified` at
/// `AfterLlmCall`, `Replace` anywhere): `content` (or `text`) is required;
/// `model` and `provider` default to the request's; `usage` and
/// `finish_reason` to none.
pub(crate) fn response_from_json(v: Value, model: &str, provider: &str) -> Result<LlmResponse> {
    let Value::Object(mut map) = v else {
        return Err(Error::invalid_input(
            "response",
            format!(
                "a hook produced {} where an LLM response object ({{ content, model, provider, usage, finish_reason }}) was expected",
                type_name(&v)
            ),
        ));
    };
    let content = match map.remove("content").or_else(|| map.remove("text")) {
        Some(Value::String(s)) => s,
        _ => {
            return Err(Error::invalid_input(
                "response.content",
                "a hook produced an LLM response without a `content` string",
            ));
        }
    };
    let text = |v: Option<Value>, default: &str| match v {
        Some(Value::String(s)) => s,
        _ => default.to_owned(),
    };
    let model = text(map.remove("model"), model);
    let provider = text(map.remove("provider"), provider);
    let usage: TokenUsage = match map.remove("usage") {
        None | Some(Value::Null) => TokenUsage::default(),
        Some(u) => serde_json::from_value(u).map_err(|e| {
            Error::invalid_input(
                "response.usage",
                format!("expected {{ input_tokens, output_tokens, total_tokens }}: {e}"),
            )
        })?,
    };
    let finish_reason = match map.remove("finish_reason") {
        Some(Value::String(s)) => FinishReason::from_name(&s),
        _ => FinishReason::Unknown,
    };
    let raw = map.remove("raw").filter(|r| !r.is_null());
    Ok(LlmResponse {
        content,
        model,
        provider,
        usage,
        finish_reason,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;
    use serde_json::json;

    #[test]
    fn reads_text_messages_and_overrides() {
        let i = LlmInput::parse(json!("hi")).unwrap();
        assert_eq!(i.messages, vec![ChatMessage::user("hi")]);
        let i = LlmInput::parse(json!({
            "messages": [{ "role": "assistant", "content": "earlier" }],
            "text": "now", "temperature": 0.5, "max_tokens": 12, "stream": true, "tag": "ignored"
        }))
        .unwrap();
        assert_eq!(i.messages.len(), 2);
        assert_eq!(i.messages[0].role, Role::Assistant);
        assert_eq!(i.messages[1], ChatMessage::user("now"));
        assert_eq!(
            (i.temperature, i.max_tokens, i.stream),
            (Some(0.5), Some(12), Some(true))
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let field = |v: Value| match LlmInput::parse(v).unwrap_err() {
            Error::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(json!({})), "text");
        assert_eq!(field(json!({ "text": 3 })), "text");
        assert_eq!(field(json!(42)), "input");
        assert_eq!(
            field(json!({ "text": "x", "max_tokens": -1 })),
            "max_tokens"
        );
        assert!(
            field(json!({ "messages": [{ "role": "robot", "content": "x" }] }))
                .starts_with("messages")
        );
    }

    #[test]
    fn hook_responses_are_read_leniently() {
        let r = response_from_json(json!({ "text": "cached" }), "m", "p").unwrap();
        assert_eq!(
            (r.content.as_str(), r.model.as_str(), r.provider.as_str()),
            ("cached", "m", "p")
        );
        assert_eq!(r.usage, TokenUsage::default());
        assert!(response_from_json(json!("x"), "m", "p").is_err());
        assert!(response_from_json(json!({ "model": "m" }), "m", "p").is_err());
    }
}
