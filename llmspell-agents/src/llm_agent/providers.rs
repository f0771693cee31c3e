//! Which provider an LLM agent's model spec resolves to.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use llmspell_core::Result;

use crate::llm::{LlmProvider, ModelSpec, ProviderConfig, ProviderKind};

/// The provider settings of a runtime: a default [`ProviderConfig`],
/// per-kind configs, and ready-made providers that replace a kind entirely
/// (for embedders with their own client, and for tests).
///
/// A model spec `"<kind>/<model>"` resolves to: the provider set for that
/// kind with [`with_provider`](Self::with_provider), if any; else a
/// provider built from the kind's config (or the default), with an agent's
/// own `provider` settings laid over it field by field. Unset fields fall
/// back to the environment (`OPENAI_API_KEY`, ...), as [`ProviderConfig`]
/// documents. Building sends nothing over the network.
#[derive(Clone, Default)]
#[must_use]
pub struct ProviderSettings {
    default: ProviderConfig,
    per_kind: HashMap<ProviderKind, ProviderConfig>,
    providers: HashMap<ProviderKind, Arc<dyn LlmProvider>>,
}

impl ProviderSettings {
    /// Environment-only settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the config used for kinds without their own.
    pub fn with_default(mut self, config: ProviderConfig) -> Self {
        self.default = config;
        self
    }

    /// Sets the config of one kind.
    pub fn with_config(mut self, kind: ProviderKind, config: ProviderConfig) -> Self {
        self.per_kind.insert(kind, config);
        self
    }

    /// Uses `provider` for every spec of `kind`.
    pub fn with_provider(mut self, kind: ProviderKind, provider: Arc<dyn LlmProvider>) -> Self {
        self.providers.insert(kind, provider);
        self
    }

    /// The provider for `spec`, with `agent` settings over the runtime's.
    ///
    /// # Errors
    /// [`llmspell_core::Error::InvalidInput`] from [`ProviderConfig::build`]:
    /// a missing API key (naming the variable to set), a missing or
    /// malformed base URL.
    pub fn provider_for(
        &self,
        spec: &ModelSpec,
        agent: Option<&ProviderConfig>,
    ) -> Result<Arc<dyn LlmProvider>> {
        let kind = spec.provider();
        if let Some(p) = self.providers.get(&kind) {
            return Ok(p.clone());
        }
        let base = self.per_kind.get(&kind).unwrap_or(&self.default);
        match agent {
            Some(a) => overlay(base, a).build(spec),
            None => base.build(spec),
        }
    }
}

fn overlay(base: &ProviderConfig, over: &ProviderConfig) -> ProviderConfig {
    let mut c = base.clone();
    if over.api_key.is_some() {
        c.api_key.clone_from(&over.api_key);
    }
    if over.base_url.is_some() {
        c.base_url.clone_from(&over.base_url);
    }
    if over.timeout.is_some() {
        c.timeout = over.timeout;
    }
    if over.max_retries.is_some() {
        c.max_retries = over.max_retries;
    }
    c.keep_raw_response |= over.keep_raw_response;
    c
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("default", &self.default)
            .field("per_kind", &self.per_kind)
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_settings_lie_over_the_runtime_ones() {
        let base = ProviderConfig::default()
            .with_api_key("k")
            .with_base_url("http://a");
        let over = ProviderConfig::default().with_base_url("http://b");
        let c = overlay(&base, &over);
        assert_eq!(c.api_key.as_deref(), Some("k"));
        assert_eq!(c.base_url.as_deref(), Some("http://b"));
    }

    #[test]
    fn a_missing_key_is_a_clear_error_at_build() {
        let settings = ProviderSettings::new().with_config(
            ProviderKind::Anthropic,
            ProviderConfig::default().with_base_url("http://127.0.0.1:9"),
        );
        let spec: ModelSpec = "anthropic/claude-x".parse().unwrap();
        // The environment may hold a key; an explicit empty one does not count.
        let agent = ProviderConfig::default().with_api_key("");
        match settings.provider_for(&spec, Some(&agent)) {
            Ok(_) => assert!(std::env::var("ANTHROPIC_API_KEY").is_ok_and(|k| !k.is_empty())),
            Err(e) => assert!(e.to_string().contains("ANTHROPIC_API_KEY"), "{e}"),
        }
    }
}
