//! llmspell agents: the agent lifecycle, basic and LLM agents, and the
//! language-model providers they call.
//!
//! Modules:
//! - [`llm`]: the [`LlmProvider`](llm::LlmProvider) trait, the request and
//!   response types, and the OpenAI-compatible and Anthropic providers
//!   built from model specs such as `"openai/gpt-4o-mini"`.
//!
//! # Example
//!
//! ```
//! use llmspell_agents::llm::{ModelSpec, ProviderConfig, ProviderKind};
//!
//! let spec: ModelSpec = "ollama/llama3.1".parse()?;
//! assert_eq!(spec.provider(), ProviderKind::Ollama);
//! let provider = ProviderConfig::default().build(&spec)?;
//! assert_eq!(provider.name(), "ollama");
//! # Ok::<(), llmspell_core::Error>(())
//! ```

pub mod llm;
