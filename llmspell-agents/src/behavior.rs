//! What an agent does: the contract behind every kind of agent.

use async_trait::async_trait;
use llmspell_core::Result;
use serde_json::Value;

use crate::AgentContext;

/// The work of one kind of agent, run by a
/// [`LifecycleAgent`](crate::LifecycleAgent) inside its lifecycle.
///
/// [`BasicAgent`](crate::BasicAgent) runs a handler,
/// [`LlmAgent`](crate::LlmAgent) calls a language model; other kinds
/// implement this trait and are created with
/// [`AgentRuntime::custom`](crate::AgentRuntime::custom).
///
/// Implementers owe:
/// - [`kind`](Self::kind): a short, stable, lowercase name shown as `type`
///   in agent listings (`"basic"`, `"llm"`).
/// - [`run`](Self::run): one invocation. It is called with the agent
///   `Running`, after the `BeforeAgentExecution` hooks and before the
///   `AfterAgentExecution` (or `AgentError`) hooks; again for retries
///   ([`AgentContext::attempt`] says which); possibly concurrently with
///   other invocations of the same agent. Long work should call
///   [`AgentContext::checkpoint`] now and then, so that pausing and
///   cancellation take effect between steps; the lifecycle drops the
///   future anyway when the invocation is cancelled. Errors are reported
///   as they are; they move the agent to `Error`.
/// - [`initialize`](Self::initialize), [`recover`](Self::recover),
///   [`shutdown`](Self::shutdown) (defaulted to doing nothing): called
///   while the agent is `Initializing`, `Recovering` and `Terminating`. An
///   error from the first two moves the agent to `Error`; an error from
///   `shutdown` is logged and the agent terminates regardless.
#[async_trait]
pub trait AgentBehavior: Send + Sync + 'static {
    /// The kind's name (`"basic"`, `"llm"`).
    fn kind(&self) -> &str;

    /// Handles one input.
    ///
    /// # Errors
    /// Whatever the work reports.
    async fn run(&self, input: Value, cx: AgentContext) -> Result<Value>;

    /// Prepares the agent (`Initializing`).
    ///
    /// # Errors
    /// When the agent cannot work; it moves to `Error`.
    async fn initialize(&self) -> Result<()> {
        Ok(())
    }

    /// Restores a working condition after an error (`Recovering`).
    ///
    /// # Errors
    /// When recovery fails; the agent stays in `Error`.
    async fn recover(&self) -> Result<()> {
        Ok(())
    }

    /// Releases what the agent holds (`Terminating`).
    ///
    /// # Errors
    /// Logged; termination completes regardless.
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
}
