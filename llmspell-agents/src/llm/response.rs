//! What a model answered: the response, its token usage and why it stopped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Tokens a call consumed, as the provider reported them.
///
/// JSON form: `{ "input_tokens": 12, "output_tokens": 30, "total_tokens": 42 }`.
/// Cost tracking reads these fields. A provider that reports no usage leaves
/// all three at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt (system prompt and messages).
    #[serde(default)]
    pub input_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`, unless the provider reported another
    /// total.
    #[serde(default, alias = "total")]
    pub total_tokens: u64,
}

impl TokenUsage {
    /// Usage with `total_tokens` computed as the sum.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
        }
    }
}

/// Why the model stopped generating.
///
/// Serialised as a snake_case string: `"stop"`, `"length"`, `"tool_calls"`,
/// `"content_filter"`, `"unknown"`, or the provider's own reason when it is
/// none of these (for example `"pause_turn"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FinishReason {
    /// A natural end, or a stop sequence was produced.
    Stop,
    /// The token limit was reached.
    Length,
    /// The model asked for tool calls.
    ToolCalls,
    /// The provider withheld or refused content.
    ContentFilter,
    /// The provider gave no reason.
    #[default]
    Unknown,
    /// A reason this crate does not know, as the provider spelled it.
    Other(String),
}

impl FinishReason {
    /// The string form used in JSON.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Unknown => "unknown",
            FinishReason::Other(s) => s,
        }
    }

    /// Parses this type's own string form; anything else becomes
    /// [`FinishReason::Other`].
    pub fn from_name(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            "unknown" | "" => FinishReason::Unknown,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Option::<String>::deserialize(deserializer)?;
        Ok(s.map_or(FinishReason::Unknown, |s| FinishReason::from_name(&s)))
    }
}

/// A model's complete answer, the same for every provider.
///
/// JSON form (hooks at `AfterLlmCall` and cost tracking read it):
///
/// ```json
/// {
///   "content": "Hello!",
///   "model": "gpt-4o-mini-2024-07-18",
///   "provider": "openai",
///   "usage": { "input_tokens": 12, "output_tokens": 3, "total_tokens": 15 },
///   "finish_reason": "stop"
/// }
/// ```
///
/// `model` is the model the provider says answered (often more specific than
/// the one asked for); `provider` is the provider's [`name`]. `raw`, the
/// provider's response body as received, is present only when the provider
/// was built to keep it.
///
/// [`name`]: crate::llm::LlmProvider::name
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmResponse {
    /// The generated text.
    pub content: String,
    /// The model that answered.
    pub model: String,
    /// The provider's name (`"openai"`, `"anthropic"`, `"ollama"`, ...).
    pub provider: String,
    /// Tokens consumed.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Why generation stopped.
    #[serde(default)]
    pub finish_reason: FinishReason,
    /// The provider's response body, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_json_shape_is_stable() {
        let r = LlmResponse {
            content: "hi".into(),
            model: "m-1".into(),
            provider: "openai".into(),
            usage: TokenUsage::new(5, 2),
            finish_reason: FinishReason::Length,
            raw: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({
                "content": "hi",
                "model": "m-1",
                "provider": "openai",
                "usage": { "input_tokens": 5, "output_tokens": 2, "total_tokens": 7 },
                "finish_reason": "length"
            })
        );
        let back: LlmResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn finish_reasons_round_trip_including_unknown_ones() {
        for (reason, text) in [
            (FinishReason::Stop, "stop"),
            (FinishReason::ToolCalls, "tool_calls"),
            (FinishReason::ContentFilter, "content_filter"),
            (FinishReason::Unknown, "unknown"),
            (FinishReason::Other("pause_turn".into()), "pause_turn"),
        ] {
            let v = serde_json::to_value(&reason).unwrap();
            assert_eq!(v, json!(text));
            assert_eq!(serde_json::from_value::<FinishReason>(v).unwrap(), reason);
        }
        let null: FinishReason = serde_json::from_value(Value::Null).unwrap();
        assert_eq!(null, FinishReason::Unknown);
    }

    #[test]
    fn usage_total_saturates_and_accepts_short_alias() {
        assert_eq!(TokenUsage::new(u64::MAX, 1).total_tokens, u64::MAX);
        let u: TokenUsage =
            serde_json::from_value(json!({ "input_tokens": 1, "total": 9 })).unwrap();
        assert_eq!(u.total_tokens, 9);
        assert_eq!(u.output_tokens, 0);
    }
}
