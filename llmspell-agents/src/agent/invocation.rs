//! Running an invocation: counting it in and out of the lifecycle, the
//! guarded runner, redirect and fork targets, cancellation.

use std::future::Future;

use llmspell_core::{ErrorKind, ExecutionContext};
use llmspell_hooks::{GuardOutcome, OperationCall};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{AgentCore, LifecycleAgent};
use crate::context::either_cancelled;
use crate::lifecycle::{Enter, Exit, Token};
use crate::{AgentBehavior, AgentContext, AgentRegistry, AgentState, Error, Result};

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

/// An invocation's output and how it came about: the guarded runner's
/// outcome (`target` is the agent that produced it, another one after a
/// `Redirect`; `elapsed` is zero on the pass-through path, where nothing but
/// the work runs and nothing is timed).
pub type AgentOutput = GuardOutcome;

impl<B: ?Sized + AgentBehavior> LifecycleAgent<B> {
    /// Counts an invocation in (initialising or recovering first when
    /// needed), runs `work` against the cancellation tokens, counts it out.
    pub(super) async fn within<T, F, Fut>(
        &self,
        exec: &ExecutionContext,
        caller: Option<&CancellationToken>,
        operation: &'static str,
        work: F,
    ) -> Result<T>
    where
        F: FnOnce(Token) -> Fut,
        Fut: Future<Output = llmspell_core::Result<T>>,
    {
        let core = &self.inner.core;
        let token = self.begin(exec, operation).await?;
        let guard = InFlight {
            core,
            exec,
            done: false,
        };
        // The agent's token is fresh (`cancel` replaces it), so only the
        // caller's needs a look before starting.
        let result = if caller.is_some_and(CancellationToken::is_cancelled) {
            None
        } else {
            let mut run = std::pin::pin!(work(token.clone()));
            // The work is polled first: an operation that completes at once
            // never registers for cancellation.
            tokio::select! {
                biased;
                r = &mut run => Some(r),
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
    async fn begin(&self, exec: &ExecutionContext, operation: &'static str) -> Result<Token> {
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
                // Boxed: rare, and inline they would enlarge every invocation.
                Enter::Uninitialized => {
                    self.retrying(Box::pin(self.initialize(exec)).await)?;
                }
                Enter::Failed if core.auto_recover => {
                    self.retrying(Box::pin(self.recover(exec)).await)?;
                }
                Enter::Failed => return Err(self.not_invocable(operation, AgentState::Error)),
                Enter::Transient(state) => {
                    let waiter = core.lifecycle.waiter();
                    let changed = waiter.changed();
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

    /// Brings the agent to `Ready` or `Running` without counting an
    /// invocation in: initialises or recovers it as `begin` does, waits out
    /// passing states.
    pub(super) async fn ready_for(
        &self,
        exec: &ExecutionContext,
        operation: &'static str,
    ) -> Result<()> {
        let core = &self.inner.core;
        for _ in 0..16 {
            match core.lifecycle.state() {
                AgentState::Ready | AgentState::Running => return Ok(()),
                AgentState::Uninitialized => {
                    self.retrying(Box::pin(self.initialize(exec)).await)?;
                }
                AgentState::Error if core.auto_recover => {
                    self.retrying(Box::pin(self.recover(exec)).await)?;
                }
                state @ (AgentState::Initializing | AgentState::Recovering) => {
                    let waiter = core.lifecycle.waiter();
                    let changed = waiter.changed();
                    if core.lifecycle.state() == state {
                        changed.await;
                    }
                }
                state => return Err(self.not_invocable(operation, state)),
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

    pub(super) async fn run_guarded(
        &self,
        input: Value,
        exec: &ExecutionContext,
        token: Token,
        caller: Option<&CancellationToken>,
    ) -> llmspell_core::Result<AgentOutput> {
        let core = &self.inner.core;
        let this = self.erased()?;
        let token = &token;
        let this = &this;
        let op = |call: OperationCall| self.run_call(this, call, exec, token, caller);
        core.runner.run(&core.spec, exec, input, op).await
    }

    /// One run: this agent's behaviour, or a redirect/fork target's.
    async fn run_call(
        &self,
        this: &LifecycleAgent,
        call: OperationCall,
        exec: &ExecutionContext,
        token: &Token,
        caller: Option<&CancellationToken>,
    ) -> llmspell_core::Result<Value> {
        let exec = exec.clone().with_attempt(call.attempt);
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
        // Boxed: rare, and inline it would enlarge every invocation.
        Box::pin(target.run_as_target(call.input, &exec, caller, call.attempt)).await
    }

    fn erased(&self) -> llmspell_core::Result<LifecycleAgent> {
        self.inner
            .core
            .this
            .upgrade()
            .map(|inner| LifecycleAgent { inner })
            .ok_or_else(|| llmspell_core::Error::other("the agent is being dropped"))
    }
}

impl LifecycleAgent {
    /// Runs this agent's behaviour for another agent's `Redirect` or `Fork`:
    /// through this agent's lifecycle (state, cancellation), without its
    /// hooks (the redirecting agent's guarded sequence is the one running).
    pub(super) async fn run_as_target(
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
