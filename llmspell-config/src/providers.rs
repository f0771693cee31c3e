//! The LLM provider settings a configuration file declares.

use std::str::FromStr;
use std::time::Duration;

use llmspell_agents::ProviderSettings;
use llmspell_agents::llm::{ProviderConfig, ProviderKind};

use crate::error::ConfigError;
use crate::schema::FileConfig;

/// The provider settings of `[providers.<kind>]`: base URL, time limit,
/// retries, and the API key read from the environment variable the file
/// names. A named variable that is not set leaves the key unset; the
/// provider then reports the missing key when an agent first uses it.
///
/// # Errors
/// An unknown provider kind (naming the valid ones).
pub fn providers(file: &FileConfig) -> Result<ProviderSettings, ConfigError> {
    let mut settings = ProviderSettings::new();
    for (name, p) in &file.providers {
        let kind = ProviderKind::from_str(name).map_err(|e| ConfigError {
            location: None,
            key: Some(format!("providers.{name}")),
            message: e.to_string(),
        })?;
        let config = ProviderConfig {
            api_key: p
                .api_key_env
                .as_deref()
                .and_then(|var| std::env::var(var).ok()),
            base_url: p.base_url.clone(),
            timeout: p.timeout_ms.map(Duration::from_millis),
            max_retries: p.max_retries,
            ..ProviderConfig::default()
        };
        settings = settings.with_config(kind, config);
    }
    Ok(settings)
}
