//! What an agent's work sees while it runs.

use std::fmt;

use llmspell_core::{ComponentId, Error, ExecutionContext, Result};
use llmspell_hooks::GuardedRunner;
use llmspell_tools::ToolRegistry;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::error::CANCELLATION_TOKEN;
use crate::lifecycle::Token;
use crate::{AgentState, LifecycleAgent};

/// The context of one invocation, handed to
/// [`AgentBehavior::run`](crate::AgentBehavior::run) and to a
/// [`BasicAgent`](crate::BasicAgent)'s handler.
///
/// It names the agent, carries the invocation's [`ExecutionContext`]
/// (correlation id, parent, language, metadata), calls tools on the
/// agent's behalf, and tells the work when to stop: cancellation
/// ([`is_cancelled`](Self::is_cancelled), [`cancelled`](Self::cancelled))
/// and pausing ([`checkpoint`](Self::checkpoint)). Cheap to clone; `Send`
/// and `'static`, so handlers may move it into spawned tasks.
#[derive(Clone)]
pub struct AgentContext {
    agent: LifecycleAgent,
    exec: ExecutionContext,
    token: Token,
    caller: Option<CancellationToken>,
    attempt: u32,
}

impl AgentContext {
    pub(crate) fn new(
        agent: LifecycleAgent,
        exec: ExecutionContext,
        token: Token,
        caller: Option<CancellationToken>,
        attempt: u32,
    ) -> Self {
        Self {
            agent,
            exec,
            token,
            caller,
            attempt,
        }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        self.agent.name()
    }

    /// The agent's identity (`type` agent, name, id).
    pub fn component(&self) -> &ComponentId {
        &self.agent.metadata().id
    }

    /// The agent itself.
    pub fn agent(&self) -> &LifecycleAgent {
        &self.agent
    }

    /// The invocation's context: its correlation id is the one hooks and
    /// `agent.<name>.*` events of this invocation carry.
    pub fn exec(&self) -> &ExecutionContext {
        &self.exec
    }

    /// The attempt number (1, then 2, 3, … when a hook asked for a retry).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The agent's extra configuration (`parameters` of its
    /// [`AgentConfig`](crate::AgentConfig)).
    pub fn parameters(&self) -> &Map<String, Value> {
        &self.agent.core().parameters
    }

    /// The agent's current state (`Running`, or `Paused` while a pause is
    /// pending).
    pub fn state(&self) -> AgentState {
        self.agent.state()
    }

    /// The runtime's tool registry.
    pub fn tools(&self) -> &ToolRegistry {
        &self.agent.core().tools
    }

    /// The runtime's guarded runner, for behaviours that guard operations
    /// of their own (as the LLM agent does for model calls).
    pub fn runner(&self) -> &GuardedRunner {
        &self.agent.core().runner
    }

    /// Calls tool `name` with `params` through the tool registry (every tool
    /// hook point and `tool.<name>.*` event), as a nested operation of this
    /// invocation: the call's context is [`exec().child()`](ExecutionContext::child),
    /// so its `parent_id` is this invocation's correlation id, plus the
    /// metadata entry `agent = <name>`.
    ///
    /// # Errors
    /// `Cancelled` when the invocation was cancelled; otherwise whatever
    /// [`ToolRegistry::invoke`] reports.
    pub async fn invoke_tool(&self, name: &str, params: Value) -> Result<Value> {
        if self.is_cancelled() {
            return Err(self.cancellation());
        }
        let exec = self.exec.child().with_metadata("agent", self.name());
        self.tools().invoke(name, params, &exec).await
    }

    /// Whether the invocation was cancelled (by the agent's `cancel()`, its
    /// termination, or the caller's token).
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled() || self.caller.as_ref().is_some_and(|c| c.is_cancelled())
    }

    /// Completes when the invocation is cancelled.
    pub async fn cancelled(&self) {
        either_cancelled(&self.token, self.caller.as_ref()).await;
    }

    /// A point where the work may stop: returns at once while the agent is
    /// not paused; waits while it is `Paused`; fails when the invocation is
    /// cancelled (also while waiting).
    ///
    /// # Errors
    /// [`Error::Cancelled`] with hook `"cancellation_token"`.
    pub async fn checkpoint(&self) -> Result<()> {
        let lifecycle = &self.agent.core().lifecycle;
        loop {
            if self.is_cancelled() {
                return Err(self.cancellation());
            }
            if lifecycle.state() != AgentState::Paused {
                return Ok(());
            }
            // Paused: register, look again, then wait for a change.
            let waiter = lifecycle.waiter();
            let changed = waiter.changed();
            if lifecycle.state() != AgentState::Paused || self.is_cancelled() {
                continue;
            }
            tokio::select! {
                () = changed => {}
                () = self.cancelled() => {}
            }
        }
    }

    fn cancellation(&self) -> Error {
        Error::Cancelled {
            hook: CANCELLATION_TOKEN.to_owned(),
            reason: format!("invocation of agent {:?} was cancelled", self.name()),
        }
    }
}

impl fmt::Debug for AgentContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentContext")
            .field("agent", &self.name())
            .field("correlation_id", &self.exec.correlation_id)
            .field("attempt", &self.attempt)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Completes when `token` or `caller` is cancelled.
pub(crate) async fn either_cancelled(
    token: &CancellationToken,
    caller: Option<&CancellationToken>,
) {
    match caller {
        Some(c) => {
            tokio::select! {
                () = token.cancelled() => {}
                () = c.cancelled() => {}
            }
        }
        None => token.cancelled().await,
    }
}
