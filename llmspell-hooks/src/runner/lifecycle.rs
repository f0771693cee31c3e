//! The lifecycle events of guarded operations:
//! `<kind>.<name>.started|completed|failed|cancelled|forked`, with the
//! operation's correlation id and language. Published only while someone
//! subscribes to the topic, through `publish_now` (emit hooks see them; a
//! full `Block` subscriber is never waited for).

use llmspell_core::Error;
use llmspell_events::{Topic, UniversalEvent};
use serde_json::{Value, json};

use super::spec::Topics;
use super::{ForkReport, GuardOutcome, GuardSpec, GuardedRunner};
use crate::HookContext;

/// How a guarded operation ended without an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// It failed: `<kind>.<name>.failed`.
    Failed,
    /// A hook cancelled it: `<kind>.<name>.cancelled`.
    Cancelled,
}

impl GuardedRunner {
    pub(super) async fn report_forks(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        reports: &[ForkReport],
    ) {
        for r in reports {
            self.emit(
                spec,
                ctx,
                |t| &t.forked,
                || serde_json::to_value(r).unwrap_or(Value::Null),
            )
            .await;
        }
    }

    pub(super) async fn fail(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        error: Error,
        phase: Phase,
    ) -> Error {
        match phase {
            Phase::Cancelled => {
                let (hook, reason) = match &error {
                    Error::Cancelled { hook, reason } => (hook.clone(), reason.clone()),
                    other => (String::new(), other.to_string()),
                };
                self.emit(
                    spec,
                    ctx,
                    |t| &t.cancelled,
                    || json!({ "hook": hook, "reason": reason, "error": error.to_json() }),
                )
                .await;
            }
            Phase::Failed => {
                self.emit(
                    spec,
                    ctx,
                    |t| &t.failed,
                    || json!({ "error": error.to_json() }),
                )
                .await;
            }
        }
        error
    }

    /// Publishes the `completed` event of `outcome` and hands it back.
    pub(super) async fn completed(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        outcome: GuardOutcome,
    ) -> GuardOutcome {
        self.emit(
            spec,
            ctx,
            |t| &t.completed,
            || {
                json!({
                    "output": &outcome.output,
                    "target": &*outcome.target,
                    "attempts": outcome.attempts,
                    "cache_hit": outcome.cache_hit,
                    "duration_ms": outcome.elapsed.as_secs_f64() * 1000.0,
                })
            },
        )
        .await;
        outcome
    }

    pub(super) async fn emit(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        topic: impl Fn(&Topics) -> &Topic,
        data: impl FnOnce() -> Value,
    ) {
        let (Some(topics), Some(bus)) = (&spec.topics, self.executor.bus()) else {
            return;
        };
        let topic = topic(topics);
        if bus.is_idle() || !bus.has_subscribers(topic.as_str()) {
            return;
        }
        let ev = UniversalEvent::new(topic.clone(), data())
            .with_origin(ctx.language, &ctx.correlation_id, ctx.parent_id.as_ref())
            .with_source(spec.component.to_string());
        // Boxed: only runs someone listens to publish, and every guarded
        // run's future would otherwise carry a publish's state.
        if let Err(e) = Box::pin(bus.publish_now(ev)).await {
            tracing::debug!(error = %e, "lifecycle event not delivered everywhere");
        }
    }
}
