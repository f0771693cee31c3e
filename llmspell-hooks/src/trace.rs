//! Correlation traces: every guarded operation of one trace (an agent, its
//! LLM calls, the tools it calls, a workflow and its steps) as a tree of
//! spans with the hook firings inside each, kept in memory for recent runs
//! and rebuilt from persisted events for older ones, with an analysis
//! (critical path, where the time went, what the hooks decided).
//!
//! - `model.rs`: [`Trace`], [`Span`], [`HookFiring`];
//! - `recorder.rs`: [`TraceRecorder`], fed by the runner and the executor;
//! - `analysis.rs`: [`TraceAnalysis`];
//! - `persisted.rs`: spans as events on [`TRACE_TOPIC`], [`Trace::load`];
//! - `render.rs`: both as text.

mod analysis;
mod model;
mod persisted;
mod recorder;
mod render;

pub use analysis::{
    Decision, HookShare, OperationShare, PathStep, Redirected, Retried, TraceAnalysis,
};
pub use model::{HookFiring, Span, SpanOutcome, Trace};
pub use persisted::TRACE_TOPIC;
pub(crate) use persisted::span_event;
pub(crate) use recorder::HookCall;
pub use recorder::{
    DEFAULT_FIRINGS_PER_SPAN, DEFAULT_SPANS_PER_TRACE, DEFAULT_TRACES, TraceRecorder, TraceSummary,
};
