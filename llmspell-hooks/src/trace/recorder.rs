//! The in-memory recorder of recent traces, fed by the guarded runner (one
//! span per operation) and the executor (one firing per hook call).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llmspell_core::{CorrelationId, Error};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::model::{HookFiring, Span, SpanOutcome, Trace};
use crate::registry::HookEntry;
use crate::{GuardOutcome, GuardSpec, HookContext, HookResult};

tokio::task_local! {
    /// The span of the operation the current task runs, so that what it
    /// starts and the hooks it fires find their operation without a lookup
    /// by correlation id.
    static CURRENT: u64;
}

/// The default number of traces a recorder keeps.
pub const DEFAULT_TRACES: usize = 256;
/// The default number of operations kept per trace.
pub const DEFAULT_SPANS_PER_TRACE: usize = 10_000;
/// The default number of hook firings kept per operation.
pub const DEFAULT_FIRINGS_PER_SPAN: usize = 1_000;

/// A summary of one kept trace, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The trace id (the root operation's correlation id).
    pub id: CorrelationId,
    /// The first root operation's label (`agent:planner`).
    pub root: String,
    /// When it started.
    pub start: chrono::DateTime<chrono::Utc>,
    /// First start to last end, in microseconds.
    pub duration_us: u64,
    /// Operations in it.
    pub spans: usize,
    /// Hook firings in it.
    pub hooks: usize,
    /// The root operation's outcome.
    pub outcome: SpanOutcome,
}

/// Keeps the traces of recent operations in memory: for each guarded
/// operation a [`Span`] (what ran, when, for how long, how it ended) in the
/// tree of its trace, with the hook firings inside it.
///
/// Bounded three ways: at most `capacity` traces (the oldest started is
/// forgotten first), [`DEFAULT_SPANS_PER_TRACE`] operations per trace and
/// [`DEFAULT_FIRINGS_PER_SPAN`] firings per operation (what is past a limit
/// is counted in [`Trace::dropped_spans`], not kept). Give it to the
/// executor with [`HookExecutorBuilder::traces`](crate::HookExecutorBuilder::traces);
/// every clone shares one store.
///
/// Spans are placed by the ids operations carry: an operation runs inside
/// the operation the current task runs when that one has its correlation id
/// or parent id (a workflow's step, a tool an agent calls); else, for a
/// part of a component (a workflow's step), inside the latest running
/// operation with its correlation id; else inside the latest running
/// operation whose correlation id is its parent id; else it is a root (two
/// operations a caller runs side by side under one id are siblings). Its trace is its parent's, else the context's
/// [`trace_id`](HookContext::trace_id), so an operation started in another
/// process that passed the trace id along joins the same trace.
#[derive(Clone)]
pub struct TraceRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    max_spans: usize,
    max_firings: usize,
    /// Random high bits of this process's span ids.
    base: u64,
    next: AtomicU64,
    state: Mutex<State>,
}

/// The maps' hasher: foldhash, randomly seeded per process (ids are hashed on
/// every traced call; SipHash costs several times as much).
type Fast = foldhash::fast::RandomState;

#[derive(Default)]
struct State {
    traces: HashMap<CorrelationId, Kept, Fast>,
    /// Trace ids, oldest first.
    order: VecDeque<CorrelationId>,
    /// The running operations by span id.
    open: HashMap<u64, Open, Fast>,
    /// The running operations by correlation id, oldest first.
    by_corr: HashMap<CorrelationId, Vec<u64>, Fast>,
}

struct Kept {
    spans: Vec<Span>,
    dropped: u64,
}

struct Open {
    trace: CorrelationId,
    index: usize,
    correlation: CorrelationId,
    started: quanta::Instant,
}

impl TraceRecorder {
    /// A recorder keeping the `capacity` most recent traces (at least one).
    pub fn new(capacity: usize) -> Self {
        let base = uuid::Uuid::new_v4().as_u64_pair().0 & 0xffff_ffff_0000_0000;
        Self {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                max_spans: DEFAULT_SPANS_PER_TRACE,
                max_firings: DEFAULT_FIRINGS_PER_SPAN,
                base,
                next: AtomicU64::new(1),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// How many traces it keeps.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// How many traces it holds now.
    pub fn len(&self) -> usize {
        self.inner.state.lock().traces.len()
    }

    /// Whether it holds no trace.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The trace `id`: the trace with that id, or the one containing an
    /// operation with that correlation id. Running operations are included
    /// with their duration so far.
    pub fn trace(&self, id: &CorrelationId) -> Option<Trace> {
        let state = self.inner.state.lock();
        let (trace_id, kept) = match state.traces.get_key_value(id) {
            Some(found) => found,
            None => state
                .traces
                .iter()
                .find(|(_, k)| k.spans.iter().any(|s| &s.correlation_id == id))?,
        };
        let mut spans = kept.spans.clone();
        for open in state.open.values().filter(|o| &o.trace == trace_id) {
            if let Some(span) = spans.get_mut(open.index) {
                span.duration_us = micros(llmspell_core::clock::since(open.started));
            }
        }
        let mut trace = Trace::assemble(trace_id.clone(), spans);
        trace.dropped_spans = kept.dropped;
        Some(trace)
    }

    /// Summaries of the kept traces, newest first, at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<TraceSummary> {
        let state = self.inner.state.lock();
        state
            .order
            .iter()
            .rev()
            .filter_map(|id| state.traces.get(id).map(|k| (id, k)))
            .take(limit)
            .map(|(id, kept)| summary(id, &kept.spans))
            .collect()
    }

    fn next_id(&self) -> u64 {
        self.inner.base | (self.inner.next.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff)
    }

    /// Opens the span of an operation of `spec` run with `ctx`; the guard
    /// finishes it (or marks it abandoned when dropped unfinished).
    pub(crate) fn begin(&self, spec: &GuardSpec, ctx: &HookContext) -> SpanGuard {
        let id = self.next_id();
        let started = llmspell_core::clock::instant();
        let current = CURRENT.try_with(|c| *c).ok();
        let mut state = self.inner.state.lock();
        let parent = current
            .filter(|c| {
                state.open.get(c).is_some_and(|o| {
                    o.correlation == ctx.correlation_id
                        || ctx.parent_id.as_ref() == Some(&o.correlation)
                })
            })
            // A part (a workflow's step) runs under its component's id.
            .or_else(|| {
                spec.part
                    .as_ref()
                    .and_then(|_| latest_open(&state, &ctx.correlation_id))
            })
            .or_else(|| ctx.parent_id.as_ref().and_then(|p| latest_open(&state, p)));
        let trace = parent
            .and_then(|p| state.open.get(&p))
            .map_or_else(|| ctx.trace_id().clone(), |o| o.trace.clone());
        let span = Span {
            id,
            parent,
            operation: spec.points.family().into(),
            component_type: spec.component.kind.as_str().into(),
            component: spec.component.name.clone(),
            part: spec.part.clone(),
            correlation_id: ctx.correlation_id.clone(),
            parent_id: ctx.parent_id.clone(),
            start: llmspell_core::clock::now_utc(),
            duration_us: 0,
            outcome: SpanOutcome::Running,
            attempts: 0,
            redirected_to: None,
            error: None,
            hooks: Vec::new(),
        };
        if !state.traces.contains_key(&trace) {
            while state.order.len() >= self.inner.capacity {
                let Some(old) = state.order.pop_front() else {
                    break;
                };
                state.traces.remove(&old);
            }
            state.order.push_back(trace.clone());
            state.traces.insert(
                trace.clone(),
                Kept {
                    spans: Vec::new(),
                    dropped: 0,
                },
            );
        }
        let max_spans = self.inner.max_spans;
        let Some(kept) = state.traces.get_mut(&trace) else {
            return SpanGuard::none();
        };
        if kept.spans.len() >= max_spans {
            kept.dropped += 1;
            return SpanGuard::none();
        }
        let index = kept.spans.len();
        kept.spans.push(span);
        state.open.insert(
            id,
            Open {
                trace,
                index,
                correlation: ctx.correlation_id.clone(),
                started,
            },
        );
        state
            .by_corr
            .entry(ctx.correlation_id.clone())
            .or_default()
            .push(id);
        SpanGuard {
            recorder: Some(self.clone()),
            id,
        }
    }

    /// Records one hook call made with `ctx` (started at `started`, taking
    /// `elapsed`) in the operation it belongs to; one outside any running
    /// operation is not kept.
    pub(crate) fn hook(&self, entry: &HookEntry, ctx: &HookContext, call: HookCall<'_>) {
        let current = CURRENT.try_with(|c| *c).ok();
        let mut state = self.inner.state.lock();
        let Some(id) = current
            .filter(|c| {
                state
                    .open
                    .get(c)
                    .is_some_and(|o| o.correlation == ctx.correlation_id)
            })
            .or_else(|| latest_open(&state, &ctx.correlation_id))
        else {
            return;
        };
        let Some(open) = state.open.get(&id) else {
            return;
        };
        let offset_us = micros(call.started.saturating_duration_since(open.started));
        let (trace, index) = (open.trace.clone(), open.index);
        let max = self.inner.max_firings;
        let Some(span) = state
            .traces
            .get_mut(&trace)
            .and_then(|k| k.spans.get_mut(index))
        else {
            return;
        };
        if span.hooks.len() >= max {
            return;
        }
        let (action, detail) = match call.result {
            Some(r) => (Some(r.action().as_str().into()), detail(r)),
            None => (None, None),
        };
        span.hooks.push(HookFiring {
            offset_us,
            point: ctx.point.name(),
            hook: entry.trace_name.clone(),
            language: entry.meta.language.as_str().into(),
            action,
            detail,
            latency_us: micros(call.elapsed),
            failed: call.failed,
            skipped: call.skipped,
            error: call.error,
        });
    }

    /// Ends span `id`: its duration, outcome, attempts, redirect and error;
    /// its trace id and a copy of the finished span when `copy`.
    fn finish(&self, id: u64, end: End<'_>, copy: bool) -> Option<(CorrelationId, Span)> {
        let mut state = self.inner.state.lock();
        let open = state.open.remove(&id)?;
        if let Some(ids) = state.by_corr.get_mut(&open.correlation) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                state.by_corr.remove(&open.correlation);
            }
        }
        let span = state
            .traces
            .get_mut(&open.trace)?
            .spans
            .get_mut(open.index)?;
        span.duration_us = micros(llmspell_core::clock::since(open.started));
        match end {
            End::Result(result, attempts) => {
                span.attempts = attempts.max(1);
                match result {
                    Ok(outcome) => {
                        span.outcome = if outcome.cache_hit {
                            SpanOutcome::Cached
                        } else {
                            SpanOutcome::Ok
                        };
                        if *outcome.target != *span.component {
                            span.redirected_to = Some(outcome.target.to_string());
                        }
                    }
                    Err(e @ Error::Cancelled { .. }) => {
                        span.outcome = SpanOutcome::Cancelled;
                        span.error = Some(e.to_string());
                    }
                    Err(e) => {
                        span.outcome = SpanOutcome::Error;
                        span.error = Some(e.to_string());
                    }
                }
            }
            End::Abandoned => span.outcome = SpanOutcome::Abandoned,
        }
        copy.then(|| (open.trace, span.clone()))
    }
}

impl std::fmt::Debug for TraceRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceRecorder")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

/// One hook call, as the executor saw it.
pub(crate) struct HookCall<'a> {
    pub(crate) started: quanta::Instant,
    pub(crate) elapsed: Duration,
    /// What it returned; `None` when it gave none.
    pub(crate) result: Option<&'a HookResult>,
    pub(crate) failed: bool,
    pub(crate) skipped: bool,
    pub(crate) error: Option<String>,
}

enum End<'a> {
    Result(&'a llmspell_core::Result<GuardOutcome>, u32),
    Abandoned,
}

/// A running operation's span; finishing it records how it ended, dropping
/// it unfinished records it as abandoned.
pub(crate) struct SpanGuard {
    recorder: Option<TraceRecorder>,
    id: u64,
}

impl SpanGuard {
    fn none() -> Self {
        Self {
            recorder: None,
            id: 0,
        }
    }

    /// Runs `fut` as the operation of this span: what it starts on this
    /// task finds its parent here.
    pub(crate) async fn scope<F: Future>(&self, fut: F) -> F::Output {
        if self.recorder.is_none() {
            return fut.await;
        }
        CURRENT.scope(self.id, fut).await
    }

    /// Records how the operation ended after `attempts`; with `copy`, its
    /// trace id and a copy of the finished span (to publish).
    pub(crate) fn finish(
        mut self,
        result: &llmspell_core::Result<GuardOutcome>,
        attempts: u32,
        copy: bool,
    ) -> Option<(CorrelationId, Span)> {
        let recorder = self.recorder.take()?;
        recorder.finish(self.id, End::Result(result, attempts), copy)
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            recorder.finish(self.id, End::Abandoned, false);
        }
    }
}

fn latest_open(state: &State, corr: &CorrelationId) -> Option<u64> {
    state.by_corr.get(corr).and_then(|ids| ids.last().copied())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What an action carried, in words.
fn detail(result: &HookResult) -> Option<String> {
    match result {
        HookResult::Cancel(reason) => Some(reason.clone()),
        HookResult::Redirect(target) => Some(format!("to {target}")),
        HookResult::Retry {
            delay,
            max_attempts,
        } => Some(format!(
            "after {} ms, up to {max_attempts} attempts",
            delay.as_millis()
        )),
        HookResult::Fork { operations } => Some(format!(
            "{} operation(s): {}",
            operations.len(),
            operations
                .iter()
                .map(|o| o.target.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        HookResult::Cache { key, ttl } => Some(format!("key {key}, ttl {} s", ttl.as_secs())),
        HookResult::Skipped(reason) => Some(reason.clone()),
        HookResult::Continue | HookResult::Modified(_) | HookResult::Replace(_) => None,
    }
}

fn summary(id: &CorrelationId, spans: &[Span]) -> TraceSummary {
    let root = spans.iter().find(|s| s.parent.is_none()).or(spans.first());
    let start = spans.iter().map(|s| s.start).min().unwrap_or_default();
    let end = spans.iter().map(Span::end).max().unwrap_or(start);
    TraceSummary {
        id: id.clone(),
        root: root.map(Span::label).unwrap_or_default(),
        start,
        duration_us: u64::try_from((end - start).num_microseconds().unwrap_or(0)).unwrap_or(0),
        spans: spans.len(),
        hooks: spans.iter().map(|s| s.hooks.len()).sum(),
        outcome: root.map_or(SpanOutcome::Running, |r| r.outcome),
    }
}
