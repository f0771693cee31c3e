//! Model specs: `"<provider>/<model>"` strings such as `openai/gpt-4o-mini`.

use std::fmt;
use std::str::FromStr;

use llmspell_core::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The providers a model spec can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// OpenAI's API (`openai/...`); needs an API key.
    OpenAi,
    /// Anthropic's API (`anthropic/...`); needs an API key.
    Anthropic,
    /// A local Ollama server through its OpenAI-compatible API
    /// (`ollama/...`); no key.
    Ollama,
    /// Any other server speaking the OpenAI protocol (vLLM, llama.cpp,
    /// LM Studio, ...) at a base URL you give (`openai-compatible/...`);
    /// the key is optional.
    OpenAiCompatible,
}

impl ProviderKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Ollama,
        ProviderKind::OpenAiCompatible,
    ];

    /// The prefix used in model specs, also the provider's
    /// [`name`](crate::llm::LlmProvider::name).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Ollama => "ollama",
            ProviderKind::OpenAiCompatible => "openai-compatible",
        }
    }

    /// The environment variable holding the API key, if the kind reads one.
    pub fn api_key_var(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("OPENAI_API_KEY"),
            ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
            ProviderKind::Ollama => None,
            ProviderKind::OpenAiCompatible => Some("OPENAI_COMPATIBLE_API_KEY"),
        }
    }

    /// The environment variable holding the base URL.
    pub fn base_url_var(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "OPENAI_BASE_URL",
            ProviderKind::Anthropic => "ANTHROPIC_BASE_URL",
            ProviderKind::Ollama => "OLLAMA_BASE_URL",
            ProviderKind::OpenAiCompatible => "OPENAI_COMPATIBLE_BASE_URL",
        }
    }

    /// Whether a provider of this kind cannot be built without an API key.
    pub fn requires_api_key(self) -> bool {
        matches!(self, ProviderKind::OpenAi | ProviderKind::Anthropic)
    }

    fn valid_list() -> String {
        ProviderKind::ALL.map(ProviderKind::as_str).join(", ")
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = Error;

    /// Parses a prefix; an unknown one is an error listing the valid ones
    /// and suggesting the closest.
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(kind) = ProviderKind::ALL.into_iter().find(|k| k.as_str() == s) {
            return Ok(kind);
        }
        let closest =
            llmspell_core::suggest::closest(s, ProviderKind::ALL.into_iter().map(|k| k.as_str()))
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
        Err(Error::invalid_input(
            "provider",
            format!(
                "unknown provider {s:?}; valid providers: {}{closest}",
                ProviderKind::valid_list()
            ),
        ))
    }
}

/// A parsed `"<provider>/<model>"` string.
///
/// The provider is everything before the first `/`, the model everything
/// after it, so model names with slashes of their own survive
/// (`openai-compatible/meta-llama/Llama-3.1-8B-Instruct`). Serialised as
/// the string form.
///
/// # Examples
///
/// ```
/// use llmspell_agents::llm::{ModelSpec, ProviderKind};
///
/// let spec: ModelSpec = "anthropic/claude-3-5-haiku-latest".parse()?;
/// assert_eq!(spec.provider(), ProviderKind::Anthropic);
/// assert_eq!(spec.model(), "claude-3-5-haiku-latest");
///
/// let err = "opneai/gpt-4o".parse::<ModelSpec>().unwrap_err();
/// assert!(err.to_string().contains("did you mean \"openai\""));
/// # Ok::<(), llmspell_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelSpec {
    provider: ProviderKind,
    model: String,
}

impl ModelSpec {
    /// A spec from its parts.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `model` is empty.
    pub fn new(provider: ProviderKind, model: impl Into<String>) -> Result<Self, Error> {
        let model = model.into();
        if model.trim().is_empty() {
            return Err(Error::invalid_input(
                "model",
                format!("the model name after \"{provider}/\" is empty"),
            ));
        }
        Ok(Self { provider, model })
    }

    /// Parses `"<provider>/<model>"`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the `/` is missing, the provider is
    /// unknown (the message lists the valid ones) or the model is empty.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let Some((provider, model)) = s.split_once('/') else {
            return Err(Error::invalid_input(
                "model",
                format!(
                    "{s:?} is not a model spec; expected \"<provider>/<model>\" such as \
                     \"openai/gpt-4o-mini\" (providers: {})",
                    ProviderKind::valid_list()
                ),
            ));
        };
        let provider = provider.parse::<ProviderKind>().map_err(|e| match e {
            Error::InvalidInput { message, .. } => {
                Error::invalid_input("model", format!("in {s:?}: {message}"))
            }
            other => other,
        })?;
        Self::new(provider, model)
    }

    /// The provider.
    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The model name, as the provider knows it.
    pub fn model(&self) -> &str {
        &self.model
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

impl FromStr for ModelSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for ModelSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_provider() {
        for (text, kind, model) in [
            ("openai/gpt-4o-mini", ProviderKind::OpenAi, "gpt-4o-mini"),
            (
                "anthropic/claude-3-5-haiku-latest",
                ProviderKind::Anthropic,
                "claude-3-5-haiku-latest",
            ),
            ("ollama/llama3.1:8b", ProviderKind::Ollama, "llama3.1:8b"),
            (
                "openai-compatible/meta-llama/Llama-3.1-8B-Instruct",
                ProviderKind::OpenAiCompatible,
                "meta-llama/Llama-3.1-8B-Instruct",
            ),
        ] {
            let spec = ModelSpec::parse(text).unwrap();
            assert_eq!(spec.provider(), kind, "{text}");
            assert_eq!(spec.model(), model, "{text}");
            assert_eq!(spec.to_string(), text);
        }
    }

    #[test]
    fn unknown_provider_lists_valid_ones_and_suggests() {
        let err = ModelSpec::parse("antropic/claude").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("valid providers: openai, anthropic, ollama, openai-compatible"),
            "{msg}"
        );
        assert!(msg.contains("did you mean \"anthropic\""), "{msg}");
        let msg = ModelSpec::parse("bedrock/x").unwrap_err().to_string();
        assert!(!msg.contains("did you mean"), "{msg}");
    }

    #[test]
    fn malformed_specs_are_refused() {
        for bad in ["gpt-4o", "openai/", "openai/  ", "", "/gpt"] {
            let err = ModelSpec::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { ref field, .. } if field == "model"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let spec = ModelSpec::parse("ollama/llama3.1").unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v, serde_json::json!("ollama/llama3.1"));
        assert_eq!(serde_json::from_value::<ModelSpec>(v).unwrap(), spec);
        assert!(serde_json::from_value::<ModelSpec>(serde_json::json!("nope")).is_err());
    }
}
