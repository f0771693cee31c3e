//! An agent with a lifecycle: the state machine, hooked invocation,
//! cancellation and recovery around any [`AgentBehavior`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, ErrorKind, ExecutionContext};
use llmspell_events::{Topic, UniversalEvent};
use llmspell_hooks::{
    ATTEMPT_KEY, ForkReport, GuardOutcome, GuardPoints, GuardSpec, GuardedRunner, HookContext,
    HookPoint, HookResult, OperationCall,
};
use llmspell_tools::ToolRegistry;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::context::either_cancelled;
use crate::lifecycle::{Change, Enter, Exit, Lifecycle};
use crate::registry::RegistryInner;
use crate::{AgentBehavior, AgentContext, AgentInfo, AgentRegistry, AgentState, Error, Result};

/// Per-invocation settings.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct InvokeOptions {
    /// A token the caller may cancel to end this invocation (in addition to
    /// the agent's own [`cancel`](LifecycleAgent::cancel)).
    pub cancel: Option<CancellationToken>,
}

impl InvokeOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the invocation when `token` is cancelled.
    pub fn cancel_token(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }
}

/// An invocation's output and how it came about.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutput {
    /// The output, after every hook.
    pub output: Value,
    /// The agent that produced it (another one after a `Redirect`).
    pub target: String,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Whether a `Cache` hook served it.
    pub cache_hit: bool,
    /// Whether a `Replace` hook supplied it.
    pub replaced: bool,
    /// Results of agents started by a `Fork`.
    pub forks: Vec<ForkReport>,
    /// Wall time of the guarded sequence.
    pub elapsed: Duration,
}

impl From<GuardOutcome> for AgentOutput {
    fn from(o: GuardOutcome) -> Self {
        Self {
            output: o.output,
            target: o.target.to_string(),
            attempts: o.attempts,
            cache_hit: o.cache_hit,
            replaced: o.replaced,
            forks: o.forks,
            elapsed: o.elapsed,
        }
    }
}

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
/// kind, as the [`AgentRegistry`] holds them ([`erase`](Self::erase)).
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
    /// [`AgentContext::invoke_tool`], which parents the call to the
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
        loop {
            match self.state() {
                AgentState::Ready | AgentState::Running => break,
                AgentState::Uninitialized => self.retrying(self.initialize(exec).await)?,
                AgentState::Error if self.inner.core.auto_recover => {
                    self.retrying(self.recover(exec).await)?;
                }
                state => return Err(self.not_invocable("invoke a tool", state)),
            }
        }
        let child = exec.child().with_metadata("agent", self.name());
        Ok(self.inner.core.tools.invoke(name, params, &child).await?)
    }

    /// Pauses the agent: `Ready/Running → Paused` (fires `AgentPaused`; a
    /// `Cancel` vetoes it). New invocations are refused until
    /// [`resume`](Self::resume); running ones go on until their next
    /// [`AgentContext::checkpoint`], where they wait.
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

    // ---- invocation machinery -------------------------------------------

    /// Counts an invocation in (initialising or recovering first when
    /// needed), runs `work` against the cancellation tokens, counts it out.
    async fn within<T, F, Fut>(
        &self,
        exec: &ExecutionContext,
        caller: Option<&CancellationToken>,
        operation: &'static str,
        work: F,
    ) -> Result<T>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = llmspell_core::Result<T>>,
    {
        let core = &self.inner.core;
        let token = self.begin(exec, operation).await?;
        let guard = InFlight {
            core,
            exec,
            done: false,
        };
        let result = if token.is_cancelled() || caller.is_some_and(CancellationToken::is_cancelled)
        {
            None
        } else {
            let run = work(token.clone());
            // The work is polled first: an operation that completes at once
            // never registers for cancellation.
            tokio::select! {
                biased;
                r = run => Some(r),
                () = either_cancelled(&token, caller) => None,
            }
        };
        match result {
            Some(Ok(out)) => {
                guard.finish(Exit::Done, "completed");
                Ok(out)
            }
            Some(Err(e)) if matches!(e.kind(), ErrorKind::Cancelled | ErrorKind::HookFailed) => {
                guard.finish(Exit::Done, "stopped by a hook");
                Err(Error::Operation(e))
            }
            Some(Err(e)) => {
                guard.finish_failed(&e);
                Err(Error::Operation(e))
            }
            None => {
                let reason = if caller.is_some_and(CancellationToken::is_cancelled) {
                    "cancelled by the caller's token"
                } else if matches!(
                    core.lifecycle.state(),
                    AgentState::Terminating | AgentState::Terminated
                ) {
                    "the agent was terminated"
                } else {
                    "cancelled through the agent's cancel()"
                };
                guard.finish(Exit::Done, "cancelled");
                let err = Error::Cancelled {
                    agent: self.name().to_owned(),
                    reason: reason.to_owned(),
                };
                core.emit(
                    exec,
                    |t| &t.cancelled,
                    || {
                        json!({
                            "hook": Value::Null,
                            "reason": reason,
                            "error": llmspell_core::Error::from(err.clone()).to_json(),
                        })
                    },
                );
                Err(err)
            }
        }
    }

    /// Counts an invocation in; returns the token that cancels it.
    async fn begin(
        &self,
        exec: &ExecutionContext,
        operation: &'static str,
    ) -> Result<CancellationToken> {
        let core = &self.inner.core;
        // Each pass either enters or waits for a change; states settle fast.
        for _ in 0..16 {
            match core.lifecycle.enter() {
                Enter::Entered { token, change } => {
                    if let Some(change) = change {
                        core.changed(exec, change, operation);
                    }
                    return Ok(token);
                }
                Enter::Uninitialized => self.retrying(self.initialize(exec).await)?,
                Enter::Failed if core.auto_recover => self.retrying(self.recover(exec).await)?,
                Enter::Failed => return Err(self.not_invocable(operation, AgentState::Error)),
                Enter::Transient(state) => {
                    let mut changed = std::pin::pin!(core.lifecycle.changed().notified());
                    changed.as_mut().enable();
                    if core.lifecycle.state() == state {
                        changed.await;
                    }
                }
                Enter::Refused(state) => return Err(self.not_invocable(operation, state)),
            }
        }
        Err(Error::NotInvocable {
            agent: self.name().to_owned(),
            operation,
            state: self.state(),
            hint: "its state kept changing; try again",
        })
    }

    /// An automatic `initialize`/`recover` that lost a race to another
    /// caller is fine: the caller looks at the state again.
    fn retrying(&self, r: Result<()>) -> Result<()> {
        match r {
            Err(Error::InvalidTransition { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn run_guarded(
        &self,
        input: Value,
        exec: &ExecutionContext,
        token: CancellationToken,
        caller: Option<&CancellationToken>,
    ) -> llmspell_core::Result<AgentOutput> {
        let core = &self.inner.core;
        let started = quanta::Instant::now();
        let this = self.erased()?;
        let token = &token;
        let this = &this;
        let op = |call: OperationCall| self.run_call(this, call, exec, token, caller);
        if core.runner.is_passthrough(&core.spec) {
            let target = core.metadata.id.name.clone();
            let output = op(OperationCall {
                target: target.clone(),
                input,
                attempt: 1,
                fork: false,
            })
            .await?;
            return Ok(AgentOutput {
                output,
                target: target.to_string(),
                attempts: 1,
                cache_hit: false,
                replaced: false,
                forks: Vec::new(),
                elapsed: started.elapsed(),
            });
        }
        let ctx = HookContext::for_operation(
            HookPoint::BeforeAgentExecution,
            core.metadata.id.clone(),
            exec,
            input,
        );
        core.runner.run(&core.spec, ctx, op).await.map(Into::into)
    }

    /// One run: this agent's behaviour, or a redirect/fork target's.
    async fn run_call(
        &self,
        this: &LifecycleAgent,
        call: OperationCall,
        exec: &ExecutionContext,
        token: &CancellationToken,
        caller: Option<&CancellationToken>,
    ) -> llmspell_core::Result<Value> {
        let exec = if call.attempt > 1 {
            exec.clone()
                .with_metadata(ATTEMPT_KEY, call.attempt.to_string())
        } else {
            exec.clone()
        };
        if *call.target == *self.name() {
            let cx = AgentContext::new(
                this.clone(),
                exec,
                token.clone(),
                caller.cloned(),
                call.attempt,
            );
            return self.inner.behavior.run(call.input, cx).await;
        }
        let registry = AgentRegistry::upgrade(&self.inner.core.registry)
            .ok_or_else(|| Error::NotFound {
                name: call.target.to_string(),
                suggestion: None,
            })
            .map_err(llmspell_core::Error::from)?;
        let target = registry
            .lookup(&call.target)
            .map_err(llmspell_core::Error::from)?;
        target
            .run_as_target(call.input, &exec, caller, call.attempt)
            .await
    }

    fn erased(&self) -> llmspell_core::Result<LifecycleAgent> {
        self.inner
            .core
            .this
            .upgrade()
            .map(|inner| LifecycleAgent { inner })
            .ok_or_else(|| llmspell_core::Error::other("the agent is being dropped"))
    }

    // ---- transitions ----------------------------------------------------

    /// Checks `operation` may lead to `to`, fires the vetoable `point`, applies.
    async fn step(
        &self,
        exec: &ExecutionContext,
        operation: &'static str,
        point: HookPoint,
        to: AgentState,
    ) -> Result<Change> {
        let core = &self.inner.core;
        let from = core.lifecycle.state();
        if !from.can_become(to) {
            return Err(self.invalid(operation, from, to));
        }
        self.veto(point, exec, from, to).await?;
        let change = core
            .lifecycle
            .apply(&[], to)
            .map_err(|now| self.invalid(operation, now, to))?;
        core.changed(exec, change, operation);
        Ok(change)
    }

    /// Applies `from → to` after the behaviour's part of a transition.
    fn settle(
        &self,
        exec: &ExecutionContext,
        operation: &'static str,
        from: AgentState,
        to: AgentState,
    ) -> Result<()> {
        let core = &self.inner.core;
        let change = core
            .lifecycle
            .apply(&[from], to)
            .map_err(|now| self.invalid(operation, now, to))?;
        core.changed(exec, change, operation);
        Ok(())
    }

    /// `from → Error` after the behaviour failed; fires `AgentError`.
    async fn fail(
        &self,
        exec: &ExecutionContext,
        from: AgentState,
        error: &llmspell_core::Error,
        what: &str,
    ) {
        let core = &self.inner.core;
        if let Ok(change) = core.lifecycle.apply(&[from], AgentState::Error) {
            core.changed(exec, change, &format!("{what}: {error}"));
        }
        self.observe(HookPoint::AgentError, exec, || error.to_json())
            .await;
    }

    fn transition_data(&self, from: AgentState, to: AgentState) -> Value {
        json!({ "agent": self.name(), "type": self.kind(), "from": from, "to": to })
    }

    /// Fires `point` when it has hooks; returns the decision.
    async fn fire(
        &self,
        point: HookPoint,
        exec: &ExecutionContext,
        data: impl FnOnce() -> Value,
    ) -> llmspell_core::Result<Option<(HookResult, String)>> {
        let executor = self.inner.core.runner.executor();
        if !executor.registry().has_hooks(&point) {
            return Ok(None);
        }
        let mut ctx =
            HookContext::for_operation(point, self.inner.core.metadata.id.clone(), exec, data());
        let outcome = executor.execute_point(&mut ctx).await?;
        Ok(Some(outcome.into_parts()))
    }

    /// Fires a point whose `Cancel` vetoes the transition `from → to`.
    async fn veto(
        &self,
        point: HookPoint,
        exec: &ExecutionContext,
        from: AgentState,
        to: AgentState,
    ) -> Result<()> {
        match self
            .fire(point.clone(), exec, || self.transition_data(from, to))
            .await?
        {
            Some((HookResult::Cancel(reason), hook)) => Err(Error::Vetoed {
                agent: self.name().to_owned(),
                from,
                to,
                hook,
                reason,
            }),
            Some((result, hook)) if result.is_decisive() => {
                tracing::warn!(%point, %hook, action = %result.action(), "result ignored at this point (only cancel applies)");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Fires a point that only observes; failures and decisions are logged.
    async fn observe(
        &self,
        point: HookPoint,
        exec: &ExecutionContext,
        data: impl FnOnce() -> Value,
    ) {
        match self.fire(point.clone(), exec, data).await {
            Err(e) => {
                tracing::warn!(%point, error = %e, "a hook failed at an observing point");
            }
            Ok(Some((result, hook))) if result.is_decisive() => {
                tracing::warn!(%point, %hook, action = %result.action(), "result ignored at this point (it only observes)");
            }
            Ok(_) => {}
        }
    }

    fn invalid(&self, operation: &'static str, from: AgentState, to: AgentState) -> Error {
        Error::InvalidTransition {
            agent: self.name().to_owned(),
            operation,
            from,
            to,
            allowed: from.targets(),
        }
    }

    fn not_invocable(&self, operation: &'static str, state: AgentState) -> Error {
        let hint = match state {
            AgentState::Paused => "resume it first",
            AgentState::Terminating | AgentState::Terminated => {
                "it was terminated; create a new agent"
            }
            AgentState::Error => "recover it first (auto-recovery is off for this agent)",
            _ => "wait until it is Ready",
        };
        Error::NotInvocable {
            agent: self.name().to_owned(),
            operation,
            state,
            hint,
        }
    }
}

impl LifecycleAgent {
    /// Runs this agent's behaviour for another agent's `Redirect` or `Fork`:
    /// through this agent's lifecycle (state, cancellation), without its
    /// hooks (the redirecting agent's guarded sequence is the one running).
    async fn run_as_target(
        &self,
        input: Value,
        exec: &ExecutionContext,
        caller: Option<&CancellationToken>,
        attempt: u32,
    ) -> llmspell_core::Result<Value> {
        let this = self.clone();
        self.within(exec, caller, "run as a redirect or fork target", |token| {
            let cx = AgentContext::new(this, exec.clone(), token, caller.cloned(), attempt);
            async move { self.inner.behavior.run(input, cx).await }
        })
        .await
        .map_err(Into::into)
    }
}

impl AgentCore {
    fn emit(
        &self,
        exec: &ExecutionContext,
        topic: impl Fn(&Topics) -> &Topic,
        data: impl FnOnce() -> Value,
    ) {
        let (Some(topics), Some(bus)) = (&self.topics, self.runner.executor().bus()) else {
            return;
        };
        if bus.is_idle() {
            return;
        }
        let topic = topic(topics);
        if !bus.has_subscribers(topic.as_str()) {
            return;
        }
        let mut ev = UniversalEvent::new(topic.clone(), data())
            .with_language(exec.language)
            .with_correlation_id(exec.correlation_id)
            .with_source(self.source.clone());
        if let Some(parent) = exec.parent_id {
            ev = ev.with_parent_id(parent);
        }
        if let Err(e) = bus.try_publish(ev) {
            tracing::debug!(error = %e, "agent event not delivered everywhere");
        }
    }

    /// Logs a state change and publishes `agent.<name>.state_changed`.
    fn changed(&self, exec: &ExecutionContext, change: Change, reason: &str) {
        tracing::debug!(agent = %self.metadata.id.name, from = %change.from, to = %change.to, reason, "agent state changed");
        self.emit(
            exec,
            |t| &t.state_changed,
            || json!({ "from": change.from, "to": change.to, "reason": reason }),
        );
    }
}

/// Counts an invocation out, also when its future is dropped.
struct InFlight<'a> {
    core: &'a AgentCore,
    exec: &'a ExecutionContext,
    done: bool,
}

impl InFlight<'_> {
    fn finish(mut self, how: Exit, reason: &str) {
        self.done = true;
        if let Some(change) = self.core.lifecycle.exit(how) {
            self.core.changed(self.exec, change, reason);
        }
    }

    fn finish_failed(mut self, error: &llmspell_core::Error) {
        self.done = true;
        if let Some(change) = self.core.lifecycle.exit(Exit::Failed) {
            self.core
                .changed(self.exec, change, &format!("failed: {error}"));
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Some(change) = self.core.lifecycle.exit(Exit::Done)
        {
            self.core
                .changed(self.exec, change, "abandoned by its caller");
        }
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
