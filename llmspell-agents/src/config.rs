//! Agent configuration: what scripts pass to `Agent.create`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::llm::{ModelSpec, ProviderConfig};
use crate::{Error, Result};

/// The built-in kinds of agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// Runs a handler function ([`BasicAgent`](crate::BasicAgent)).
    Basic,
    /// Calls a language model ([`LlmAgent`](crate::LlmAgent)).
    Llm,
}

impl AgentKind {
    /// `"basic"` or `"llm"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Basic => "basic",
            AgentKind::Llm => "llm",
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "basic" => Ok(AgentKind::Basic),
            "llm" => Ok(AgentKind::Llm),
            other => Err(Error::config(
                "type",
                format!("unknown agent type {other:?}; valid: \"basic\", \"llm\""),
            )),
        }
    }
}

/// How to make an agent.
///
/// JSON form (the table scripts pass to `Agent.create`, minus `handler`):
///
/// ```json
/// { "name": "writer", "type": "llm", "model": "openai/gpt-4o-mini",
///   "system_prompt": "Be brief.", "temperature": 0.2, "max_tokens": 256,
///   "stream": false, "memory": 0, "auto_recover": true,
///   "provider": { "base_url": "http://localhost:8000/v1" },
///   "parameters": { "top_p": 0.9 }, "description": "writes things" }
/// ```
///
/// - `name` (required): letters, digits, `_`, `:` and `-` (it becomes a
///   topic segment of `agent.<name>.*` events).
/// - `type`: `"basic"` or `"llm"`; when absent, `"llm"` if `model` is set,
///   else `"basic"`.
/// - `model`, `system_prompt`, `temperature`, `max_tokens`, `stream`,
///   `memory`, `provider`: LLM agents only (a basic agent with one of them
///   is a configuration error). `model` is `"<provider>/<model>"`; `stream`
///   makes model calls stream (firing `LlmStreamChunk` per chunk); `memory`
///   is the number of past messages (user and assistant) kept and sent with
///   every request, 0 (the default) for none; `provider` overrides the
///   runtime's provider settings for this agent.
/// - `parameters`: for LLM agents, provider-specific request parameters
///   (`top_p`, `seed`, ...); for basic agents, free data the handler reads
///   with [`AgentContext::parameters`](crate::AgentContext::parameters).
/// - `auto_recover` (default `true`): an invocation of an agent in `Error`
///   recovers it first instead of failing.
///
/// Unknown fields are errors (so a misspelt `sytem_prompt` is caught).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use]
pub struct AgentConfig {
    /// The agent's name.
    pub name: String,
    /// Its kind; inferred when absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AgentKind>,
    /// A one-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `"<provider>/<model>"` (LLM agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Instructions sent before the conversation (LLM agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Sampling temperature, finite and ≥ 0 (LLM agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The most tokens to generate, ≥ 1 (LLM agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Whether model calls stream (LLM agents).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// Past messages kept as conversation memory; 0 for none (LLM agents).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub memory: usize,
    /// Whether invoking an agent in `Error` recovers it first.
    #[serde(default = "yes")]
    pub auto_recover: bool,
    /// Provider settings for this agent (LLM agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderConfig>,
    /// Extra parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

fn yes() -> bool {
    true
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl AgentConfig {
    fn named(name: impl Into<String>, kind: AgentKind) -> Self {
        Self {
            name: name.into(),
            kind: Some(kind),
            description: None,
            model: None,
            system_prompt: None,
            temperature: None,
            max_tokens: None,
            stream: false,
            memory: 0,
            auto_recover: true,
            provider: None,
            parameters: Map::new(),
        }
    }

    /// A basic agent named `name`.
    pub fn basic(name: impl Into<String>) -> Self {
        Self::named(name, AgentKind::Basic)
    }

    /// An LLM agent named `name` using `model` (`"<provider>/<model>"`).
    pub fn llm(name: impl Into<String>, model: impl Into<String>) -> Self {
        let mut c = Self::named(name, AgentKind::Llm);
        c.model = Some(model.into());
        c
    }

    /// Reads the JSON form.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending field (also for unknown
    /// fields and wrong types).
    pub fn from_json(value: Value) -> Result<Self> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "config".to_owned()
            } else {
                path
            };
            Error::config(field, e.into_inner().to_string())
        })
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the system prompt.
    pub fn with_system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the token limit.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Makes model calls stream.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// Keeps the last `messages` messages as conversation memory.
    pub fn with_memory(mut self, messages: usize) -> Self {
        self.memory = messages;
        self
    }

    /// Turns auto-recovery on or off.
    pub fn with_auto_recover(mut self, on: bool) -> Self {
        self.auto_recover = on;
        self
    }

    /// Sets this agent's provider settings.
    pub fn with_provider(mut self, provider: ProviderConfig) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Adds one extra parameter.
    pub fn with_parameter(mut self, key: impl Into<String>, value: Value) -> Self {
        self.parameters.insert(key.into(), value);
        self
    }

    /// The kind, stated or inferred.
    pub fn resolved_kind(&self) -> AgentKind {
        self.kind.unwrap_or(if self.model.is_some() {
            AgentKind::Llm
        } else {
            AgentKind::Basic
        })
    }

    /// Checks the configuration; returns the kind and, for LLM agents, the
    /// parsed model spec.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field: a bad name, a missing or
    /// malformed model, a temperature that is not a finite number ≥ 0, a
    /// `max_tokens` of 0, or an LLM-only field on a basic agent.
    pub fn validate(&self) -> Result<(AgentKind, Option<ModelSpec>)> {
        validate_name(&self.name)?;
        let kind = self.resolved_kind();
        match kind {
            AgentKind::Basic => {
                let llm_only = [
                    ("model", self.model.is_some()),
                    ("system_prompt", self.system_prompt.is_some()),
                    ("temperature", self.temperature.is_some()),
                    ("max_tokens", self.max_tokens.is_some()),
                    ("stream", self.stream),
                    ("memory", self.memory > 0),
                    ("provider", self.provider.is_some()),
                ];
                if let Some((field, _)) = llm_only.iter().find(|(_, set)| *set) {
                    return Err(Error::config(
                        *field,
                        format!(
                            "`{field}` applies to llm agents only; this agent's type is \"basic\""
                        ),
                    ));
                }
                Ok((kind, None))
            }
            AgentKind::Llm => {
                let Some(model) = &self.model else {
                    return Err(Error::config(
                        "model",
                        "an llm agent needs a model such as \"openai/gpt-4o-mini\"",
                    ));
                };
                let spec = ModelSpec::parse(model).map_err(|e| match e {
                    llmspell_core::Error::InvalidInput { message, .. } => {
                        Error::config("model", message)
                    }
                    other => Error::Operation(other),
                })?;
                if let Some(t) = self.temperature
                    && !(t.is_finite() && t >= 0.0)
                {
                    return Err(Error::config(
                        "temperature",
                        format!("expected a finite number of at least 0, got {t}"),
                    ));
                }
                if self.max_tokens == Some(0) {
                    return Err(Error::config("max_tokens", "expected at least 1 token"));
                }
                Ok((kind, Some(spec)))
            }
        }
    }
}

/// Agent names are topic segments: letters, digits, `_`, `:`, `-`.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
    {
        return Err(Error::config(
            "name",
            format!("agent name {name:?} is invalid; use letters, digits, '_', ':' and '-'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_script_shape() {
        let c = AgentConfig::from_json(json!({
            "name": "writer", "type": "llm", "model": "openai/gpt-4o-mini",
            "system_prompt": "Be brief.", "temperature": 0.2, "parameters": { "top_p": 0.9 }
        }))
        .unwrap();
        assert_eq!(c.resolved_kind(), AgentKind::Llm);
        assert_eq!(c.temperature, Some(0.2));
        assert!(c.auto_recover);
        let (kind, spec) = c.validate().unwrap();
        assert_eq!(kind, AgentKind::Llm);
        assert_eq!(spec.unwrap().model(), "gpt-4o-mini");
    }

    #[test]
    fn kind_is_inferred_from_model() {
        let c = AgentConfig::from_json(json!({ "name": "w", "model": "ollama/llama3.1" })).unwrap();
        assert_eq!(c.resolved_kind(), AgentKind::Llm);
        let c = AgentConfig::from_json(json!({ "name": "h" })).unwrap();
        assert_eq!(c.resolved_kind(), AgentKind::Basic);
    }

    #[test]
    fn errors_name_the_field() {
        let err = AgentConfig::from_json(json!({ "name": "w", "sytem_prompt": "x" })).unwrap_err();
        assert!(err.to_string().contains("sytem_prompt"), "{err}");
        let err = AgentConfig::from_json(json!({ "name": "w", "type": "robot" })).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, message } if field == "type" && message.contains("llm")),
            "{err}"
        );
        let err = AgentConfig::from_json(json!({ "name": "w", "temperature": "hot" })).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, .. } if field == "temperature"),
            "{err}"
        );
        let err = AgentConfig::basic("a b").validate().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, .. } if field == "name"),
            "{err}"
        );
        let err = AgentConfig::basic("b")
            .with_system_prompt("x")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("llm agents only"), "{err}");
        let err = AgentConfig::llm("w", "gpt-4o").validate().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, .. } if field == "model"),
            "{err}"
        );
        let err = AgentConfig::llm("w", "openai/x")
            .with_temperature(-1.0)
            .validate()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidConfig { field, .. } if field == "temperature"),
            "{err}"
        );
        let mut c = AgentConfig::llm("w", "openai/x");
        c.model = None;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("needs a model")
        );
    }

    #[test]
    fn json_form_round_trips() {
        let c = AgentConfig::llm("w", "openai/gpt-4o-mini")
            .with_temperature(0.5)
            .with_memory(4)
            .with_parameter("seed", json!(1));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "llm");
        assert_eq!(v["memory"], 4);
        assert_eq!(AgentConfig::from_json(v).unwrap(), c);
    }
}
