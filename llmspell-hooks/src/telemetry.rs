//! Spans of guarded operations and hook firings, for export: the span
//! index that parents them by correlation id, and the fields they carry.
//! What they are and how they nest is documented on [`TELEMETRY_TARGET`].

use std::time::Duration;

use llmspell_core::{CorrelationId, Error, Result};
use parking_lot::Mutex;
use tracing::field::{Empty, display};
use tracing::span::Id;
use tracing::{Level, Span};

use crate::registry::HookEntry;
use crate::{GuardOutcome, GuardSpec, HookAction, HookContext};

/// The tracing target of the spans of guarded operations and hook firings.
/// A layer that exports them (an OpenTelemetry layer) filters on it.
///
/// The spans are at level `TRACE`, so a log subscriber at the usual levels
/// (a `LoggingHook` at `INFO`, `RUST_LOG=debug`) neither pays for them nor
/// shows them; only one that asks for this target (or for everything at
/// `TRACE`) gets them. A build that compiles `TRACE` out (tracing's
/// `max_level_*` features) has none.
///
/// Each guarded operation is an `llmspell.operation` span with the fields
/// `operation` (`tool`, `agent`, `workflow`, `workflow_step`, `llm`),
/// `component.kind`, `component.name`, `component.part` (a workflow step:
/// `step.<name>`), `correlation_id`, `parent_id`, and, when it ends,
/// `outcome` (`ok`, `cached`, `cancelled` or `error`), `attempts` and
/// `error`. Each hook firing is an `llmspell.hook` span with `hook` (its
/// name), `hook.id`, `hook.language`, `point`, `component.name`,
/// `correlation_id`, `action` (what it returned: `continue`, `modified`,
/// `cancel`, …), `latency_us`, `failed` (the call failed: an error, a panic,
/// a timeout or an undeclared result), `skipped` (the point went on without
/// it: a fail-open hook that failed or whose breaker refused the call) and
/// `error`. An operation that failed (not one a hook cancelled) and a hook
/// that gave no result also set `otel.status_code = "error"`, which
/// OpenTelemetry layers take as the span's status. Each field is recorded
/// once.
///
/// **Nothing is built unless a subscriber wants this target.** Each path
/// starts with tracing's cached callsite check (one atomic load when no
/// subscriber is installed); when it says no, no span, field value or index
/// entry is made, and [`GuardedRunner::is_passthrough`](crate::GuardedRunner::is_passthrough)
/// answers as it would without spans. While spans are recorded, no run is a
/// pass-through: workflows and model calls that skip the runner when no hook
/// watches them go through it, so that they have spans too.
///
/// # Parenting follows correlation ids
///
/// An operation's span is the child of:
/// 1. an open operation with the same correlation id (a workflow's steps
///    run under the workflow's id; a redirect runs again under the same
///    id), or else
/// 2. an open operation whose correlation id is its parent id (a tool an
///    agent calls, a component a workflow step calls), or else
/// 3. the current span, or none (a root).
///
/// When several open operations share the id (parallel steps of one
/// workflow), the current span is taken if it is one of them, else the one
/// opened last. A hook firing's span is the child of the open operation of
/// its context's correlation id, chosen the same way, or else of the
/// current span. Open operations are looked up by id, not only through the
/// current span, so a call that crosses tasks or threads (a script engine's
/// thread calling back into the host) still lands under the operation that
/// started it. The executor keeps at most 4096 open operations for this;
/// one that starts past that is still traced, and what it starts falls back
/// to the current span.
pub const TELEMETRY_TARGET: &str = "llmspell::otel";

/// Whether a subscriber wants the spans of [`TELEMETRY_TARGET`]. Cheap: a
/// cached callsite check.
#[inline]
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TELEMETRY_TARGET, Level::TRACE)
}

/// The open operation spans by correlation id, so that an operation started
/// on another task or thread finds the span it runs inside.
///
/// Bounded: it keeps at most [`SpanIndex::CAPACITY`] open operations. One
/// that starts while it is full is traced but not indexed, so what it starts
/// falls back to the current span. An entry leaves when its operation ends,
/// however it ends (the future completes or is dropped).
pub(crate) struct SpanIndex {
    open: Mutex<Open>,
    capacity: usize,
}

type Spans = std::collections::HashMap<CorrelationId, Vec<Span>, foldhash::fast::RandomState>;

struct Open {
    /// Per id, the open spans in the order they opened.
    spans: Spans,
    len: usize,
}

impl SpanIndex {
    /// How many open operations the index keeps.
    pub(crate) const CAPACITY: usize = 4096;

    pub(crate) fn new() -> Self {
        Self::with_capacity(Self::CAPACITY)
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            open: Mutex::new(Open {
                spans: Spans::with_hasher(foldhash::fast::RandomState::default()),
                len: 0,
            }),
            capacity,
        }
    }

    /// The span an operation (or hook firing) with these ids runs inside:
    /// an open operation of `id`, else of `parent`; the current span when
    /// it is one of them, else the latest opened.
    pub(crate) fn enclosing(
        &self,
        id: &CorrelationId,
        parent: Option<&CorrelationId>,
    ) -> Option<Span> {
        let current = Span::current().id();
        let open = self.open.lock();
        let candidates = open
            .spans
            .get(id)
            .or_else(|| parent.and_then(|p| open.spans.get(p)))?;
        current
            .and_then(|c| candidates.iter().rev().find(|s| s.id() == Some(c.clone())))
            .or_else(|| candidates.last())
            .cloned()
    }

    /// Keeps `span` as an open operation of `id` until the returned guard
    /// drops; `None` when the index is full or the span is disabled.
    fn open(&self, id: &CorrelationId, span: &Span) -> Option<Opened<'_>> {
        let span_id = span.id()?;
        let mut open = self.open.lock();
        if open.len >= self.capacity {
            return None;
        }
        open.len += 1;
        open.spans.entry(id.clone()).or_default().push(span.clone());
        Some(Opened {
            index: self,
            id: id.clone(),
            span: span_id,
        })
    }

    /// How many operations are open in the index.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().len
    }
}

impl std::fmt::Debug for SpanIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanIndex")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// An operation's entry in the [`SpanIndex`], removed on drop.
struct Opened<'a> {
    index: &'a SpanIndex,
    id: CorrelationId,
    span: Id,
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        let removed = {
            let mut open = self.index.open.lock();
            let Some(list) = open.spans.get_mut(&self.id) else {
                return;
            };
            let Some(at) = list
                .iter()
                .position(|s| s.id().as_ref() == Some(&self.span))
            else {
                return;
            };
            let removed = list.remove(at);
            if list.is_empty() {
                open.spans.remove(&self.id);
            }
            open.len -= 1;
            removed
        };
        // Closing a span may export it: done outside the lock.
        drop(removed);
    }
}

/// The span of one guarded operation, open in the index while it runs.
pub(crate) struct OperationTrace<'a> {
    span: Span,
    _opened: Option<Opened<'a>>,
}

impl<'a> OperationTrace<'a> {
    /// Opens the span of an operation of `spec` with these ids (call only
    /// when [`enabled`]): fields `operation` (`tool`, `agent`, `workflow`,
    /// `workflow_step`, `llm`), `component.kind`, `component.name`,
    /// `component.part` (a step: `step.<name>`), `correlation_id`,
    /// `parent_id`; `outcome`, `attempts` and `error` are recorded at the end.
    pub(crate) fn start(
        index: &'a SpanIndex,
        spec: &GuardSpec,
        id: &CorrelationId,
        parent_id: Option<&CorrelationId>,
    ) -> Self {
        let enclosing = index.enclosing(id, parent_id);
        let parent = enclosing
            .as_ref()
            .map_or_else(|| Span::current().id(), Span::id);
        let span = tracing::span!(
            target: TELEMETRY_TARGET,
            parent: parent,
            Level::TRACE,
            "llmspell.operation",
            operation = spec.points.family(),
            component.kind = spec.component.kind.as_str(),
            component.name = &*spec.component.name,
            component.part = spec.part.as_deref(),
            correlation_id = %id,
            parent_id = parent_id.map(display),
            outcome = Empty,
            attempts = Empty,
            error = Empty,
            otel.status_code = Empty,
        );
        // The parent stays open until the child exists.
        drop(enclosing);
        let opened = index.open(id, &span);
        Self {
            span,
            _opened: opened,
        }
    }

    /// The span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Records how the operation ended, after `attempts`: `outcome` is
    /// `ok`, `cached`, `cancelled` or `error`; an error also sets `error`
    /// and, unless a hook cancelled, the span's error status. (Each field is
    /// recorded once: an exporter may keep every value recorded.)
    pub(crate) fn finish(self, result: &Result<GuardOutcome>, attempts: u32) {
        let span = &self.span;
        span.record("attempts", attempts);
        match result {
            Ok(outcome) => {
                let how = if outcome.cache_hit { "cached" } else { "ok" };
                span.record("outcome", how);
            }
            Err(e @ Error::Cancelled { .. }) => {
                span.record("outcome", "cancelled");
                span.record("error", display(e));
            }
            Err(e) => {
                span.record("outcome", "error");
                span.record("error", display(e));
                span.record("otel.status_code", "error");
            }
        }
    }
}

/// Opens the span of one hook firing (call only when [`enabled`]): fields
/// `hook`, `hook.id`, `hook.language`, `point`, `component.name`,
/// `correlation_id`; [`hook_ran`] records the rest.
pub(crate) fn hook_span(index: &SpanIndex, entry: &HookEntry, ctx: &HookContext) -> Span {
    let enclosing = index.enclosing(&ctx.correlation_id, None);
    let parent = enclosing
        .as_ref()
        .map_or_else(|| Span::current().id(), Span::id);
    tracing::span!(
        target: TELEMETRY_TARGET,
        parent: parent,
        Level::TRACE,
        "llmspell.hook",
        hook = entry.meta.name.as_str(),
        hook.id = %entry.id,
        hook.language = entry.meta.language.as_str(),
        point = %ctx.point,
        component.name = &*ctx.component.name,
        correlation_id = %ctx.correlation_id,
        action = Empty,
        latency_us = Empty,
        failed = Empty,
        skipped = Empty,
        error = Empty,
        otel.status_code = Empty,
    )
}

/// How a hook firing went.
pub(crate) struct HookRun<'a> {
    /// The action it returned; `None` when it gave no result.
    pub(crate) action: Option<HookAction>,
    /// Why it gave no result (it failed, or its breaker refused the call).
    pub(crate) error: Option<&'a str>,
    /// Whether the call ran and failed.
    pub(crate) failed: bool,
    /// Whether the point went on without it (fail-open).
    pub(crate) skipped: bool,
    pub(crate) elapsed: Duration,
}

/// Records how a hook firing went and closes its span.
pub(crate) fn hook_ran(span: Span, run: &HookRun<'_>) {
    if let Some(action) = run.action {
        span.record("action", action.as_str());
    }
    span.record(
        "latency_us",
        u64::try_from(run.elapsed.as_micros()).unwrap_or(u64::MAX),
    );
    span.record("failed", run.failed);
    span.record("skipped", run.skipped);
    if let Some(error) = run.error {
        span.record("error", error);
        span.record("otel.status_code", "error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_enabled_without_a_subscriber() {
        assert!(!enabled());
    }

    #[test]
    fn the_index_is_bounded_and_forgets_what_ends() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let index = SpanIndex::with_capacity(2);
            let id = CorrelationId::new_v7();
            let spans: Vec<Span> = (0..3)
                .map(|_| tracing::info_span!(target: TELEMETRY_TARGET, "s"))
                .collect();
            let first = index.open(&id, &spans[0]);
            let second = index.open(&id, &spans[1]);
            assert!(first.is_some() && second.is_some());
            assert!(index.open(&id, &spans[2]).is_none(), "full");
            assert_eq!(
                index.enclosing(&id, None).and_then(|s| s.id()),
                spans[1].id()
            );
            drop(second);
            assert_eq!(
                index.enclosing(&id, None).and_then(|s| s.id()),
                spans[0].id()
            );
            drop(first);
            assert_eq!(index.len(), 0);
            assert!(index.enclosing(&id, None).is_none());
        });
    }
}
