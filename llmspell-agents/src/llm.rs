//! Language-model providers: one request and response shape, one small
//! trait, and two HTTP implementations.
//!
//! - [`LlmRequest`] / [`ChatMessage`] / [`Role`]: what is asked.
//! - [`LlmResponse`] / [`TokenUsage`] / [`FinishReason`]: what came back,
//!   with a stable snake_case JSON form that hooks and cost tracking read.
//! - [`LlmChunk`] / [`LlmStream`]: a streamed answer.
//! - [`LlmProvider`]: `name`, `complete`, `complete_stream`.
//! - [`OpenAiCompatible`]: the OpenAI chat completions protocol (OpenAI,
//!   Ollama, vLLM, llama.cpp); [`Anthropic`]: the messages protocol.
//! - [`ModelSpec`] (`"openai/gpt-4o-mini"`) and [`ProviderConfig`]: build a
//!   provider from a spec, explicit settings and environment variables.
//!
//! Failures map into [`llmspell_core::Error`]: unreachable servers, HTTP
//! 408/409/429/5xx are `Provider { retryable: true }`, other HTTP errors and
//! malformed bodies `Provider { retryable: false }`, a server slower than
//! the timeout `Timeout`, bad requests and settings `InvalidInput` before
//! any network traffic. Providers do not retry unless built to: retrying
//! is the job of hooks. `docs/user-guide/llm-providers.md` has the details.
//!
//! # Examples
//!
//! ```no_run
//! use llmspell_agents::llm::{LlmRequest, ModelSpec, ProviderConfig};
//!
//! # async fn run() -> llmspell_core::Result<()> {
//! let spec: ModelSpec = "openai/gpt-4o-mini".parse()?;
//! let provider = ProviderConfig::default().build(&spec)?; // reads OPENAI_API_KEY
//! let res = provider
//!     .complete(&LlmRequest::user("Name three primes.").with_max_tokens(50))
//!     .await?;
//! println!("{} [{} in, {} out]", res.content, res.usage.input_tokens, res.usage.output_tokens);
//! # Ok(())
//! # }
//! ```

mod anthropic;
mod config;
mod model;
mod openai;
mod provider;
mod request;
mod response;
mod sse;
mod stream;
mod transport;

pub use anthropic::{
    ANTHROPIC_API_VERSION, ANTHROPIC_DEFAULT_BASE_URL, ANTHROPIC_DEFAULT_MAX_TOKENS, Anthropic,
    AnthropicBuilder,
};
pub use config::{DEFAULT_TIMEOUT, OLLAMA_DEFAULT_BASE_URL, ProviderConfig};
pub use model::{ModelSpec, ProviderKind};
pub use openai::{OPENAI_DEFAULT_BASE_URL, OpenAiCompatible, OpenAiCompatibleBuilder};
pub use provider::LlmProvider;
pub use request::{ChatMessage, LlmRequest, Role};
pub use response::{FinishReason, LlmResponse, TokenUsage};
pub use stream::{CollectedStream, LlmChunk, LlmStream, collect_stream};
