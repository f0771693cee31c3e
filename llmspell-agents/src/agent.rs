//! An agent with a lifecycle: the state machine, hooked invocation,
//! cancellation and recovery around any [`AgentBehavior`].

mod invocation;
mod transitions;

use std::fmt;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, ExecutionContext};
use llmspell_events::Topic;
use llmspell_hooks::{GuardPoints, GuardSpec, GuardedRunner, HookPoint};
use llmspell_tools::ToolRegistry;
use serde_json::{Map, Value};

pub use invocation::{AgentOutput, InvokeOptions};

use crate::lifecycle::Lifecycle;
use crate::registry::RegistryInner;
use crate::{AgentBehavior, AgentInfo, AgentState, Error, Result};

struct Topics {
    state_changed: Topic,
    cancelled: Topic,
}

/// What every agent shares, whatever its behaviour.
pub(crate) struct AgentCore {
    pub(crate) metadata: ComponentMetadata,
    pub(crate) kind: Arc<str>,
    source: Arc<str>,
    pub(crate) spec: GuardSpec,
    pub(crate) runner: GuardedRunner,
    pub(crate) tools: ToolRegistry,
    registry: Weak<RegistryInner>,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) parameters: Map<String, Value>,
    auto_recover: bool,
    topics: Option<Topics>,
    this: Weak<AgentInner<dyn AgentBehavior>>,
}

/// What the runtime hands a new agent.
pub(crate) struct AgentParts {
    pub(crate) metadata: ComponentMetadata,
    pub(crate) runner: GuardedRunner,
    pub(crate) tools: ToolRegistry,
    pub(crate) registry: Weak<RegistryInner>,
    pub(crate) parameters: Map<String, Value>,
    pub(crate) auto_recover: bool,
}

pub(crate) struct AgentInner<B: ?Sized> {
    core: AgentCore,
    behavior: B,
}

/// An agent running through the lifecycle state machine; `B` is what it
/// does ([`BasicAgent`](crate::BasicAgent) and [`LlmAgent`](crate::LlmAgent)
/// are the two built-in kinds). `LifecycleAgent` without a parameter is any
/// kind, as the [`AgentRegistry`](crate::AgentRegistry) holds them ([`erase`](Self::erase)).
///
/// Cheap to clone (clones share the agent). Agents are made by an
/// [`AgentRuntime`](crate::AgentRuntime), which registers them by name and
/// gives them its hook runner, event bus and tool registry.
///
/// - [`invoke`](Self::invoke) runs one input through the lifecycle:
///   `Ready → Running`, the `BeforeAgentExecution` hooks, the behaviour,
///   the `AfterAgentExecution` (or `AgentError`) hooks, `Running → Ready`
///   (or `→ Error`), with `agent.<name>.started|completed|failed|cancelled`
///   events. Every hook result applies (cancel, modify, replace, redirect
///   to another registered agent, retry, fork, cache).
/// - [`pause`](Self::pause), [`resume`](Self::resume),
///   [`terminate`](Self::terminate), [`recover`](Self::recover),
///   [`initialize`](Self::initialize) move through the lifecycle table
///   ([`AgentState`]), firing their hook points; a `Cancel` at
///   `BeforeAgentInit`, `AgentPaused`, `AgentResumed`, `AgentRecovering` or
///   `BeforeAgentShutdown` vetoes the transition.
/// - Every change publishes `agent.<name>.state_changed` with
///   `{ from, to, reason }`.
/// - [`cancel`](Self::cancel) ends the invocations in flight.
pub struct LifecycleAgent<B: ?Sized + AgentBehavior = dyn AgentBehavior> {
    inner: Arc<AgentInner<B>>,
}

impl<B: ?Sized + AgentBehavior> Clone for LifecycleAgent<B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<B: AgentBehavior> LifecycleAgent<B> {
    pub(crate) fn new(parts: AgentParts, behavior: B) -> Self {
        let kind: Arc<str> = Arc::from(behavior.kind());
        let name = parts.metadata.id.name.clone();
        let topic = |phase: &str| Topic::new(format!("agent.{name}.{phase}")).ok();
        let topics = match (topic("state_changed"), topic("cancelled")) {
            (Some(state_changed), Some(cancelled)) => Some(Topics {
                state_changed,
                cancelled,
            }),
            _ => None,
        };
        let spec = GuardSpec::new(parts.metadata.id.clone(), GuardPoints::agent());
        let inner = Arc::new_cyclic(|weak: &Weak<AgentInner<B>>| {
            let this: Weak<AgentInner<dyn AgentBehavior>> = weak.clone();
            AgentInner {
                core: AgentCore {
                    source: Arc::from(parts.metadata.id.to_string()),
                    metadata: parts.metadata,
                    kind,
                    spec,
                    runner: parts.runner,
                    tools: parts.tools,
                    registry: parts.registry,
                    lifecycle: Lifecycle::new(),
                    parameters: parts.parameters,
                    auto_recover: parts.auto_recover,
                    topics,
                    this,
                },
                behavior,
            }
        });
        Self { inner }
    }

    /// The same agent as a `LifecycleAgent` of any kind.
    pub fn erase(self) -> LifecycleAgent {
        LifecycleAgent { inner: self.inner }
    }
}

impl<B: ?Sized + AgentBehavior> LifecycleAgent<B> {
    pub(crate) fn core(&self) -> &AgentCore {
        &self.inner.core
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.inner.core.metadata.id.name
    }

    /// The agent's kind (`"basic"`, `"llm"`, ...).
    pub fn kind(&self) -> &str {
        &self.inner.core.kind
    }

    /// Identity and description.
    pub fn metadata(&self) -> &ComponentMetadata {
        &self.inner.core.metadata
    }

    /// The behaviour.
    pub fn behavior(&self) -> &B {
        &self.inner.behavior
    }

    /// The current state.
    pub fn state(&self) -> AgentState {
        self.inner.core.lifecycle.state()
    }

    /// How many invocations are in flight.
    pub fn in_flight(&self) -> u32 {
        self.inner.core.lifecycle.in_flight()
    }

    /// `{ name, type, state }`.
    pub fn info(&self) -> AgentInfo {
        AgentInfo {
            name: self.name().to_owned(),
            kind: self.kind().to_owned(),
            state: self.state(),
        }
    }

    /// Whether `other` is this very agent (not merely one with the same name).
    pub fn same_agent<C: ?Sized + AgentBehavior>(&self, other: &LifecycleAgent<C>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.inner), Arc::as_ptr(&other.inner))
    }

    /// The agent as an [`llmspell_core::Agent`] (for workflows): its
    /// `execute` is [`invoke`](Self::invoke).
    pub fn as_component(&self) -> Arc<dyn llmspell_core::Agent> {
        Arc::new(self.clone())
    }

    /// Initialises the agent: `Uninitialized → Initializing` (fires
    /// `BeforeAgentInit`; a `Cancel` vetoes it and the agent stays
    /// `Uninitialized`), the behaviour's `initialize`, then `→ Ready` (fires
    /// `AfterAgentInit`) or `→ Error` (fires `AgentError` with the error).
    /// The first [`invoke`](Self::invoke) initialises an uninitialised agent.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] when not `Uninitialized`,
    /// [`Error::Vetoed`], or the behaviour's error.
    pub async fn initialize(&self, exec: &ExecutionContext) -> Result<()> {
        self.step(
            exec,
            "initialize",
            HookPoint::BeforeAgentInit,
            AgentState::Initializing,
        )
        .await?;
        match self.inner.behavior.initialize().await {
            Ok(()) => {
                self.settle(
                    exec,
                    "initialize",
                    AgentState::Initializing,
                    AgentState::Ready,
                )?;
                self.observe(HookPoint::AfterAgentInit, exec, || {
                    self.transition_data(AgentState::Initializing, AgentState::Ready)
                })
                .await;
                Ok(())
            }
            Err(e) => {
                self.fail(exec, AgentState::Initializing, &e, "initialization failed")
                    .await;
                Err(Error::Operation(e))
            }
        }
    }

    /// Runs `input` through the lifecycle and returns the output.
    ///
    /// # Errors
    /// As [`invoke_with`](Self::invoke_with).
    pub async fn invoke(&self, input: Value, exec: &ExecutionContext) -> Result<Value> {
        self.invoke_with(input, exec, InvokeOptions::default())
            .await
            .map(|o| o.output)
    }

    /// Runs `input` through the lifecycle as `exec`'s operation.
    ///
    /// An `Uninitialized` agent is initialised first; an agent in `Error` is
    /// recovered first unless its config turned auto-recovery off. The
    /// agent moves `Ready → Running` (the first of concurrent invocations),
    /// the guarded runner fires `BeforeAgentExecution`, runs the behaviour
    /// (or, after a `Redirect`/`Fork`, the registered agent named by the
    /// hook), fires `AfterAgentExecution` or `AgentError`, and publishes
    /// `agent.<name>.*` events. Then the agent returns to `Ready` (the last
    /// invocation to end), or moves to `Error` when the work failed. A hook
    /// cancelling the invocation, or a cancellation token, leaves the agent
    /// `Ready`.
    ///
    /// # Errors
    /// - [`Error::NotInvocable`] when `Paused`, `Terminating`, `Terminated`
    ///   (or in `Error` without auto-recovery);
    /// - [`Error::Cancelled`] when cancelled by a token, promptly, whatever
    ///   the work was doing;
    /// - [`Error::Operation`] with `Cancelled { hook, reason }` when a hook
    ///   cancelled, `HookFailed` when a fail-closed hook failed, or the
    ///   work's own error;
    /// - the errors of [`initialize`](Self::initialize) and
    ///   [`recover`](Self::recover) when those ran first.
    pub async fn invoke_with(
        &self,
        input: Value,
        exec: &ExecutionContext,
        options: InvokeOptions,
    ) -> Result<AgentOutput> {
        let caller = options.cancel.as_ref();
        self.within(exec, caller, "invoke", |token| async move {
            self.run_guarded(input, exec, token, caller).await
        })
        .await
    }

    /// Calls tool `name` on this agent's behalf, outside any invocation:
    /// the call runs as a child of `exec` (its `parent_id` is
    /// `exec.correlation_id`) with metadata `agent = <name>`, through every
    /// tool hook point. Inside an invocation use
    /// [`AgentContext::invoke_tool`](crate::AgentContext::invoke_tool), which parents the call to the
    /// invocation.
    ///
    /// # Errors
    /// [`Error::NotInvocable`] when the agent takes no work (it is
    /// initialised or recovered first, as for `invoke`), or the tool's error.
    pub async fn invoke_tool(
        &self,
        name: &str,
        params: Value,
        exec: &ExecutionContext,
    ) -> Result<Value> {
        self.ready_for(exec, "invoke a tool").await?;
        let child = exec.child().with_metadata("agent", self.name());
        Ok(self.inner.core.tools.invoke(name, params, &child).await?)
    }

    /// Pauses the agent: `Ready/Running → Paused` (fires `AgentPaused`; a
    /// `Cancel` vetoes it). New invocations are refused until
    /// [`resume`](Self::resume); running ones go on until their next
    /// [`AgentContext::checkpoint`](crate::AgentContext::checkpoint), where they wait.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`], [`Error::Vetoed`].
    pub async fn pause(&self, exec: &ExecutionContext) -> Result<()> {
        self.step(exec, "pause", HookPoint::AgentPaused, AgentState::Paused)
            .await
            .map(drop)
    }

    /// Resumes a paused agent: `Paused → Running` when invocations are in
    /// flight, else `Paused → Ready` (fires `AgentResumed`; a `Cancel`
    /// vetoes it).
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] when not `Paused`, [`Error::Vetoed`].
    pub async fn resume(&self, exec: &ExecutionContext) -> Result<()> {
        let core = &self.inner.core;
        let from = core.lifecycle.state();
        let to = core.lifecycle.resume_target();
        if from != AgentState::Paused {
            return Err(self.invalid("resume", from, to));
        }
        self.veto(HookPoint::AgentResumed, exec, from, to).await?;
        let change = core
            .lifecycle
            .resume()
            .map_err(|(now, to)| self.invalid("resume", now, to))?;
        core.changed(exec, change, "resume");
        Ok(())
    }

    /// Terminates the agent: `→ Terminating` (fires `BeforeAgentShutdown`;
    /// a `Cancel` vetoes it), which cancels every invocation in flight; the
    /// behaviour's `shutdown`; `→ Terminated` (fires `AfterAgentShutdown`).
    /// A terminated agent stays registered (listed as `Terminated`) until
    /// removed or replaced by a new agent of the same name.
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] from `Initializing`, `Recovering`,
    /// `Terminating` or `Terminated`; [`Error::Vetoed`].
    pub async fn terminate(&self, exec: &ExecutionContext) -> Result<()> {
        self.step(
            exec,
            "terminate",
            HookPoint::BeforeAgentShutdown,
            AgentState::Terminating,
        )
        .await?;
        if let Err(e) = self.inner.behavior.shutdown().await {
            tracing::warn!(agent = %self.name(), error = %e, "agent shutdown reported an error; terminating regardless");
        }
        self.settle(
            exec,
            "terminate",
            AgentState::Terminating,
            AgentState::Terminated,
        )?;
        self.observe(HookPoint::AfterAgentShutdown, exec, || {
            self.transition_data(AgentState::Terminating, AgentState::Terminated)
        })
        .await;
        Ok(())
    }

    /// Recovers from `Error`: `Error → Recovering` (fires `AgentRecovering`;
    /// a `Cancel` vetoes it and the agent stays in `Error`), the behaviour's
    /// `recover`, then `→ Ready`, or back to `Error` (fires `AgentError`).
    ///
    /// # Errors
    /// [`Error::InvalidTransition`] when not in `Error`, [`Error::Vetoed`],
    /// or the behaviour's error.
    pub async fn recover(&self, exec: &ExecutionContext) -> Result<()> {
        self.step(
            exec,
            "recover",
            HookPoint::AgentRecovering,
            AgentState::Recovering,
        )
        .await?;
        match self.inner.behavior.recover().await {
            Ok(()) => self.settle(exec, "recover", AgentState::Recovering, AgentState::Ready),
            Err(e) => {
                self.fail(exec, AgentState::Recovering, &e, "recovery failed")
                    .await;
                Err(Error::Operation(e))
            }
        }
    }

    /// Cancels every invocation in flight: each returns
    /// [`Error::Cancelled`] promptly and the agent returns to `Ready`.
    /// Invocations started afterwards are unaffected. Returns how many were
    /// in flight.
    pub fn cancel(&self) -> u32 {
        self.inner.core.lifecycle.cancel_all()
    }
}

#[async_trait]
impl<B: ?Sized + AgentBehavior> llmspell_core::Agent for LifecycleAgent<B> {
    fn metadata(&self) -> &ComponentMetadata {
        &self.inner.core.metadata
    }

    /// [`invoke`](LifecycleAgent::invoke), with errors converted to
    /// [`llmspell_core::Error`].
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> llmspell_core::Result<Value> {
        self.invoke(input, ctx).await.map_err(Into::into)
    }
}

impl<B: ?Sized + AgentBehavior> fmt::Debug for LifecycleAgent<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifecycleAgent")
            .field("name", &self.name())
            .field("type", &self.kind())
            .field("state", &self.state())
            .finish()
    }
}
