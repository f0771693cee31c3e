//! Lifecycle transitions: their hook points, vetoes and events.

use llmspell_core::ExecutionContext;
use llmspell_events::{Topic, UniversalEvent};
use llmspell_hooks::HookPoint;
use serde_json::{Value, json};

use super::{AgentCore, LifecycleAgent, Topics};
use crate::lifecycle::Change;
use crate::{AgentBehavior, AgentState, Error, Result};

impl<B: ?Sized + AgentBehavior> LifecycleAgent<B> {
    /// Checks `operation` may lead to `to`, fires the vetoable `point`, applies.
    pub(super) async fn step(
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
    pub(super) fn settle(
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
    pub(super) async fn fail(
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

    pub(super) fn transition_data(&self, from: AgentState, to: AgentState) -> Value {
        json!({ "agent": self.name(), "type": self.kind(), "from": from, "to": to })
    }

    /// Fires a point whose `Cancel` vetoes the transition `from → to`.
    pub(super) async fn veto(
        &self,
        point: HookPoint,
        exec: &ExecutionContext,
        from: AgentState,
        to: AgentState,
    ) -> Result<()> {
        let core = &self.inner.core;
        let fired = core
            .runner
            .executor()
            .fire_at(point, &core.metadata.id, exec, &[], || {
                self.transition_data(from, to)
            })
            .await;
        match fired {
            Ok(fired) => {
                if let Some(f) = fired {
                    f.ignore("only cancel applies");
                }
                Ok(())
            }
            Err(llmspell_core::Error::Cancelled { hook, reason }) => Err(Error::Vetoed {
                agent: self.name().to_owned(),
                from,
                to,
                hook,
                reason,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Fires a point that only observes; failures and decisions are logged.
    pub(super) async fn observe(
        &self,
        point: HookPoint,
        exec: &ExecutionContext,
        data: impl FnOnce() -> Value,
    ) {
        let core = &self.inner.core;
        let label = point.to_string();
        match core
            .runner
            .executor()
            .fire_at(point, &core.metadata.id, exec, &[], data)
            .await
        {
            Ok(Some(f)) => f.ignore("it only observes"),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(point = %label, error = %e, "a hook's cancel or failure at an observing point is ignored");
            }
        }
    }

    pub(super) fn invalid(
        &self,
        operation: &'static str,
        from: AgentState,
        to: AgentState,
    ) -> Error {
        Error::InvalidTransition {
            agent: self.name().to_owned(),
            operation,
            from,
            to,
            allowed: from.targets(),
        }
    }

    pub(super) fn not_invocable(&self, operation: &'static str, state: AgentState) -> Error {
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

impl AgentCore {
    pub(super) fn emit(
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
        let ev = UniversalEvent::new(topic.clone(), data())
            .with_origin(exec.language, &exec.correlation_id, exec.parent_id.as_ref())
            .with_source(self.source.clone());
        if let Err(e) = bus.try_publish(ev) {
            tracing::debug!(error = %e, "agent event not delivered everywhere");
        }
    }

    /// Logs a state change and publishes `agent.<name>.state_changed`.
    pub(super) fn changed(&self, exec: &ExecutionContext, change: Change, reason: &str) {
        tracing::debug!(agent = %self.metadata.id.name, from = %change.from, to = %change.to, reason, "agent state changed");
        self.emit(
            exec,
            |t| &t.state_changed,
            || json!({ "from": change.from, "to": change.to, "reason": reason }),
        );
    }
}
