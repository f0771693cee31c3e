//! llmspell agents: the agent lifecycle, basic and LLM agents, their
//! registry and factory, and the language-model providers they call.
//!
//! - [`AgentRuntime`]: one runtime's agents, sharing one hook runner (hook
//!   registry and event bus), one [`ToolRegistry`](llmspell_tools::ToolRegistry)
//!   and one [`AgentRegistry`]; it makes agents from an [`AgentConfig`].
//! - [`LifecycleAgent`]: an agent moving through the nine [`AgentState`]s;
//!   `invoke` runs through the guarded hook runner (every hook result
//!   applies), every transition fires its hook point and publishes
//!   `agent.<name>.state_changed`; invocations can be cancelled, errors
//!   recovered from.
//! - [`BasicAgent`]: the behaviour is an [`AgentHandler`] (a Rust closure
//!   through [`handler_fn`], or a script function wrapped by the bridge)
//!   that may call tools through its [`AgentContext`].
//! - [`LlmAgent`]: the behaviour is a model call through a provider of the
//!   [`llm`] module, guarded by `BeforeLlmCall` / `AfterLlmCall` /
//!   `LlmError`, optionally streamed (`LlmStreamChunk`).
//! - [`AgentBehavior`]: the contract for other kinds of agent.
//!
//! `docs/user-guide/agents.md` has the lifecycle table, the hook points per
//! transition, events, configuration and measured overhead.
//!
//! # Example
//!
//! ```
//! use llmspell_agents::{AgentConfig, AgentRuntime, AgentState, handler_fn};
//! use llmspell_core::ExecutionContext;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let agents = AgentRuntime::default();
//! let exec = ExecutionContext::native();
//! let shout = agents.basic(
//!     AgentConfig::basic("shout"),
//!     handler_fn(|input, _cx| async move {
//!         let text = input["text"].as_str().unwrap_or_default().to_uppercase();
//!         Ok(json!({ "text": text }))
//!     }),
//! )?;
//! assert_eq!(shout.state(), AgentState::Uninitialized);
//! let out = shout.invoke(json!({ "text": "hi" }), &exec).await?; // initialises first
//! assert_eq!(out["text"], "HI");
//! shout.pause(&exec).await?;
//! assert!(shout.invoke(json!({ "text": "x" }), &exec).await.is_err());
//! shout.resume(&exec).await?;
//! shout.terminate(&exec).await?;
//! assert_eq!(shout.state(), AgentState::Terminated);
//! # Ok::<(), llmspell_agents::Error>(())
//! # }).unwrap();
//! ```

mod agent;
mod basic;
mod behavior;
mod config;
mod context;
mod error;
mod factory;
mod lifecycle;
pub mod llm;
mod llm_agent;
mod registry;
mod runtime;

pub use agent::{AgentOutput, InvokeOptions, LifecycleAgent};
pub use basic::{AgentHandler, BasicAgent, BasicBehavior, handler_fn};
pub use behavior::AgentBehavior;
pub use config::{AgentConfig, AgentKind};
pub use context::AgentContext;
pub use error::{CANCELLATION_TOKEN, Error, Result};
pub use lifecycle::AgentState;
pub use llm_agent::{LlmAgent, LlmBehavior, ProviderSettings};
pub use registry::{AgentInfo, AgentRegistry};
pub use runtime::{AgentRuntime, AgentRuntimeBuilder};

/// Re-exported so callers can cancel invocations without another dependency.
pub use tokio_util::sync::CancellationToken;

/// The agents guide's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/user-guide/agents.md")]
pub struct AgentsGuide;
