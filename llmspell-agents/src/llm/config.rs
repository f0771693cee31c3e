//! Building a provider from a model spec, explicit settings and the
//! environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::anthropic::Anthropic;
use super::model::{ModelSpec, ProviderKind};
use super::openai::OpenAiCompatible;
use super::provider::LlmProvider;

/// The time limit per attempt used when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Where `ollama/...` specs connect when neither the settings nor
/// `OLLAMA_BASE_URL` say otherwise.
pub const OLLAMA_DEFAULT_BASE_URL: &str = "http://localhost:11434/v1";

/// Explicit provider settings; each one left unset falls back to the
/// environment, then to the provider's default.
///
/// | kind | API key | base URL (default) |
/// |---|---|---|
/// | `openai` | `OPENAI_API_KEY` (required) | `OPENAI_BASE_URL` (`https://api.openai.com/v1`) |
/// | `anthropic` | `ANTHROPIC_API_KEY` (required) | `ANTHROPIC_BASE_URL` (`https://api.anthropic.com`) |
/// | `ollama` | none | `OLLAMA_BASE_URL` (`http://localhost:11434/v1`) |
/// | `openai-compatible` | `OPENAI_COMPATIBLE_API_KEY` (optional) | `OPENAI_COMPATIBLE_BASE_URL` (required) |
///
/// An empty variable counts as unset. For `ollama`, a base URL with no path
/// (`http://gpu-box:11434`) gets `/v1` appended.
///
/// JSON form (every field optional):
/// `{ "api_key": "...", "base_url": "...", "timeout_ms": 30000,
/// "max_retries": 0, "keep_raw_response": false }`. `Debug` never shows
/// the key.
///
/// # Examples
///
/// ```
/// use llmspell_agents::llm::{ModelSpec, ProviderConfig};
///
/// let spec: ModelSpec = "ollama/llama3.1".parse()?;
/// let provider = ProviderConfig::default().build(&spec)?; // no network yet
/// assert_eq!(provider.name(), "ollama");
/// # Ok::<(), llmspell_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    /// The API key; overrides the kind's key variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The base URL; overrides the kind's base URL variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Time limit per attempt; default [`DEFAULT_TIMEOUT`].
    #[serde(
        rename = "timeout_ms",
        with = "millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// Extra attempts after retryable failures; default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Whether responses keep the provider's body in `raw`.
    pub keep_raw_response: bool,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("keep_raw_response", &self.keep_raw_response)
            .finish()
    }
}

impl ProviderConfig {
    /// Sets the API key.
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL.
    #[must_use]
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the time limit per attempt.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Builds the provider for `spec`, reading unset values from the process
    /// environment. The spec's model becomes the provider's default model.
    /// Nothing is sent over the network.
    ///
    /// # Errors
    /// [`Error::InvalidInput`]: `api_key` when a kind that needs a key has
    /// none (the message names the variable to set), `base_url` when
    /// `openai-compatible` has none or a URL is malformed.
    pub fn build(&self, spec: &ModelSpec) -> Result<Arc<dyn LlmProvider>> {
        self.build_with_env(spec, |name| std::env::var(name).ok())
    }

    /// Like [`build`](Self::build), reading variables through `env` instead
    /// of the process environment (for tests and embedders with their own
    /// configuration source).
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_with_env(
        &self,
        spec: &ModelSpec,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<dyn LlmProvider>> {
        let kind = spec.provider();
        let lookup = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let api_key = self
            .api_key
            .clone()
            .filter(|k| !k.is_empty())
            .or_else(|| kind.api_key_var().and_then(lookup));
        if kind.requires_api_key() && api_key.is_none() {
            let var = kind.api_key_var().unwrap_or("the provider's key variable");
            return Err(Error::invalid_input(
                "api_key",
                format!(
                    "provider {:?} needs an API key: set {var} or pass api_key in the provider settings",
                    kind.as_str()
                ),
            ));
        }
        let base_url = self
            .base_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| lookup(kind.base_url_var()));
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let retries = self.max_retries.unwrap_or(0);

        let provider: Arc<dyn LlmProvider> = match kind {
            ProviderKind::Anthropic => {
                let mut b = Anthropic::builder()
                    .timeout(timeout)
                    .max_retries(retries)
                    .default_model(spec.model())
                    .keep_raw_response(self.keep_raw_response);
                if let Some(key) = api_key {
                    b = b.api_key(key);
                }
                if let Some(url) = base_url {
                    b = b.base_url(url);
                }
                Arc::new(b.build()?)
            }
            ProviderKind::OpenAi | ProviderKind::Ollama | ProviderKind::OpenAiCompatible => {
                let base_url = match (kind, base_url) {
                    (ProviderKind::Ollama, Some(url)) => ollama_base(&url),
                    (ProviderKind::Ollama, None) => OLLAMA_DEFAULT_BASE_URL.to_owned(),
                    (ProviderKind::OpenAiCompatible, None) => {
                        return Err(Error::invalid_input(
                            "base_url",
                            format!(
                                "provider \"openai-compatible\" needs a base URL: set {} or pass \
                                 base_url in the provider settings (e.g. http://localhost:8000/v1)",
                                kind.base_url_var()
                            ),
                        ));
                    }
                    (_, Some(url)) => url,
                    (_, None) => super::openai::OPENAI_DEFAULT_BASE_URL.to_owned(),
                };
                let mut b = OpenAiCompatible::builder()
                    .name(kind.as_str())
                    .base_url(base_url)
                    .timeout(timeout)
                    .max_retries(retries)
                    .default_model(spec.model())
                    .keep_raw_response(self.keep_raw_response);
                if let Some(key) = api_key {
                    b = b.api_key(key);
                }
                Arc::new(b.build()?)
            }
        };
        Ok(provider)
    }
}

/// Ollama's OpenAI-compatible API lives under `/v1`; people often give the
/// server's root, as Ollama's own tools use it.
fn ollama_base(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(parsed) if matches!(parsed.path(), "" | "/") => format!("{trimmed}/v1"),
        _ => url.to_owned(),
    }
}

/// `Option<Duration>` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ollama_root_urls_get_v1() {
        assert_eq!(ollama_base("http://gpu:11434"), "http://gpu:11434/v1");
        assert_eq!(ollama_base("http://gpu:11434/"), "http://gpu:11434/v1");
        assert_eq!(ollama_base("http://gpu:11434/v1"), "http://gpu:11434/v1");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = ProviderConfig::default().with_api_key("sk-secret");
        let text = format!("{c:?}");
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }

    #[test]
    fn json_form_uses_timeout_ms() {
        let c: ProviderConfig =
            serde_json::from_value(json!({ "base_url": "http://h", "timeout_ms": 1500 })).unwrap();
        assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.base_url.as_deref(), Some("http://h"));
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({ "base_url": "http://h", "timeout_ms": 1500, "keep_raw_response": false })
        );
    }
}
