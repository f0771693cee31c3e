//! What a trace is: operation spans in a tree, with the hook firings inside
//! each.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use serde::{Deserialize, Serialize};

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanOutcome {
    /// It has not ended yet.
    Running,
    /// It produced an output.
    Ok,
    /// A `Cache` hook served its output.
    Cached,
    /// A hook cancelled it.
    Cancelled,
    /// It failed.
    Error,
    /// Its caller stopped waiting for it (the future was dropped).
    Abandoned,
}

impl SpanOutcome {
    /// The lower-case name (`ok`, `cancelled`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SpanOutcome::Running => "running",
            SpanOutcome::Ok => "ok",
            SpanOutcome::Cached => "cached",
            SpanOutcome::Cancelled => "cancelled",
            SpanOutcome::Error => "error",
            SpanOutcome::Abandoned => "abandoned",
        }
    }
}

/// One hook firing inside an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookFiring {
    /// When it started, in microseconds after its operation started.
    pub offset_us: u64,
    /// The point it ran at (`BeforeToolExecution`, …).
    pub point: Cow<'static, str>,
    /// The hook's name.
    pub hook: Arc<str>,
    /// The language it is written in.
    pub language: Cow<'static, str>,
    /// What it returned (`continue`, `modified`, `cancel`, `redirect`,
    /// `replace`, `retry`, `fork`, `cache`, `skip`); `None` when it gave no
    /// result (it failed, or its breaker refused the call).
    pub action: Option<Cow<'static, str>>,
    /// What the action carried: a cancel's reason, a redirect's target, a
    /// retry's delay and limit, a cache key and time to live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How long the call took, in microseconds.
    pub latency_us: u64,
    /// The call failed (an error, a panic, a timeout, an invalid result).
    #[serde(default)]
    pub failed: bool,
    /// The point went on without it (a fail-open hook that failed or was
    /// refused by its breaker).
    #[serde(default)]
    pub skipped: bool,
    /// Why it gave no result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HookFiring {
    /// Whether it changed or stopped something: an action other than
    /// `continue`, or no result at all.
    pub fn decided(&self) -> bool {
        self.action.as_deref() != Some("continue")
    }
}

/// One guarded operation (an agent, an LLM call, a tool, a workflow, a
/// workflow step) in a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The span's id, unique in its process run and across runs in practice
    /// (a random per-process base plus a counter).
    pub id: u64,
    /// The span it runs inside, when it is not a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// The kind of operation: `tool`, `agent`, `workflow`, `workflow_step`,
    /// `llm` or `custom`.
    pub operation: Cow<'static, str>,
    /// The component's type (`tool`, `agent`, `workflow`, …).
    pub component_type: Cow<'static, str>,
    /// The component's name.
    pub component: Arc<str>,
    /// The part of the component it is (`step.fetch`), when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Arc<str>>,
    /// The operation's correlation id.
    pub correlation_id: CorrelationId,
    /// The correlation id of the operation that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<CorrelationId>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// How long it ran, in microseconds (so far, while it runs).
    pub duration_us: u64,
    /// How it ended.
    pub outcome: SpanOutcome,
    /// Attempts made (more than one after a retry).
    pub attempts: u32,
    /// The component that produced the output, when a redirect moved the
    /// call to another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// The error, when it failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The hook firings inside it, in the order they ran.
    #[serde(default)]
    pub hooks: Vec<HookFiring>,
}

impl Span {
    /// `type:name`, with the part after a dot when there is one
    /// (`workflow:etl.step.fetch`).
    pub fn label(&self) -> String {
        match &self.part {
            Some(part) => format!("{}:{}.{part}", self.component_type, self.component),
            None => format!("{}:{}", self.component_type, self.component),
        }
    }

    /// When it ended (its start plus its duration).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::microseconds(i64::try_from(self.duration_us).unwrap_or(0))
    }

    /// Microseconds from `origin` to its start (0 if before).
    pub fn offset_from(&self, origin: DateTime<Utc>) -> u64 {
        u64::try_from((self.start - origin).num_microseconds().unwrap_or(0)).unwrap_or(0)
    }
}

/// Among `earlier` spans of correlation id `pid`, the one a span starting
/// at `start` ran inside: the latest-started that was still running then,
/// else the latest-started.
fn adopter(earlier: &[Span], pid: &CorrelationId, start: DateTime<Utc>) -> Option<u64> {
    let candidates = earlier
        .iter()
        .filter(|s| &s.correlation_id == pid && s.start <= start);
    let mut running = None;
    let mut latest = None;
    for c in candidates {
        latest = Some(c.id);
        if c.end() >= start {
            running = Some(c.id);
        }
    }
    running.or(latest)
}

/// The operations and hook firings of one trace: a root operation and
/// everything it caused, in processes that passed its trace id along.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The trace id: the root operation's correlation id.
    pub id: CorrelationId,
    /// Its operations, in the order they started.
    pub spans: Vec<Span>,
    /// Operations not kept because the trace reached its span limit.
    #[serde(default)]
    pub dropped_spans: u64,
}

impl Trace {
    /// Assembles a trace from spans in any order (from memory, or from
    /// persisted events of one or several processes): sorts them by start,
    /// removes repeats of a span id (the last copy wins: it is the most
    /// complete), and links a span whose parent span is not known to the
    /// operation of its parent correlation id (the one running when it
    /// started, else the last to start before it), so that spans recorded
    /// by another process join the tree.
    pub fn assemble(id: CorrelationId, spans: impl IntoIterator<Item = Span>) -> Self {
        let mut by_id = std::collections::HashMap::new();
        for span in spans {
            by_id.insert(span.id, span);
        }
        let mut spans: Vec<Span> = by_id.into_values().collect();
        spans.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        let known: std::collections::HashSet<u64> = spans.iter().map(|s| s.id).collect();
        for i in 0..spans.len() {
            if spans[i].parent.is_some_and(|p| known.contains(&p)) {
                continue;
            }
            let parent = spans[i]
                .parent_id
                .as_ref()
                .and_then(|pid| adopter(&spans[..i], pid, spans[i].start));
            spans[i].parent = parent;
        }
        Self {
            id,
            spans,
            dropped_spans: 0,
        }
    }

    /// The spans without a parent in this trace, in start order.
    pub fn roots(&self) -> impl Iterator<Item = &Span> {
        self.spans.iter().filter(|s| s.parent.is_none())
    }

    /// The spans directly inside `id`, in start order.
    pub fn children(&self, id: u64) -> impl Iterator<Item = &Span> {
        self.spans.iter().filter(move |s| s.parent == Some(id))
    }

    /// The span with `id`.
    pub fn span(&self, id: u64) -> Option<&Span> {
        self.spans.iter().find(|s| s.id == id)
    }

    /// When the first operation started.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.spans.iter().map(|s| s.start).min()
    }

    /// Microseconds from the first start to the last end.
    pub fn duration_us(&self) -> u64 {
        let (Some(start), Some(end)) = (self.start(), self.spans.iter().map(Span::end).max())
        else {
            return 0;
        };
        u64::try_from((end - start).num_microseconds().unwrap_or(0)).unwrap_or(0)
    }

    /// Whether every operation has ended.
    pub fn complete(&self) -> bool {
        self.spans.iter().all(|s| s.outcome != SpanOutcome::Running)
    }

    /// The JSON form (`id`, `spans`, `dropped_spans`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
