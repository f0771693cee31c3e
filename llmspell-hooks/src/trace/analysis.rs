//! What a trace says: its critical path, where the time went, and what the
//! hooks decided.

use serde::{Deserialize, Serialize};

use super::model::{Span, Trace};

/// One operation on the critical path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    /// The span id.
    pub span: u64,
    /// `type:name` (with the part).
    pub label: String,
    /// Its duration, in microseconds.
    pub duration_us: u64,
    /// Its time outside its child operations, in microseconds.
    pub self_us: u64,
}

/// An operation and its share of the trace's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationShare {
    /// The span id.
    pub span: u64,
    /// `type:name` (with the part).
    pub label: String,
    /// Its duration, in microseconds.
    pub duration_us: u64,
    /// Its time outside its child operations, in microseconds: what it cost
    /// itself, its hooks included.
    pub self_us: u64,
    /// `self_us` as a fraction of the trace's duration (0 to 1).
    pub share: f64,
}

/// A hook firing and its share of the trace's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookShare {
    /// The span it ran in.
    pub span: u64,
    /// That operation's label.
    pub operation: String,
    /// The point.
    pub point: String,
    /// The hook.
    pub hook: String,
    /// Its latency, in microseconds.
    pub latency_us: u64,
    /// `latency_us` as a fraction of the trace's duration (0 to 1).
    pub share: f64,
}

/// A hook firing that changed or stopped something: an action other than
/// `continue`, or no result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// When it ran, in microseconds after the trace started.
    pub at_us: u64,
    /// The span it ran in.
    pub span: u64,
    /// That operation's label.
    pub operation: String,
    /// The point.
    pub point: String,
    /// The hook.
    pub hook: String,
    /// What it returned; `None` when it gave no result.
    pub action: Option<String>,
    /// What the action carried (a reason, a target, a delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why it gave no result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An operation that ran more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retried {
    /// The span id.
    pub span: u64,
    /// Its label.
    pub label: String,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// The hooks that asked for a retry in it.
    pub by: Vec<String>,
}

/// An operation whose call moved to another component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redirected {
    /// The span id.
    pub span: u64,
    /// Its label.
    pub label: String,
    /// The component that produced the output.
    pub to: String,
    /// The hooks that redirected it.
    pub by: Vec<String>,
}

/// The analysis of a trace (see [`Trace::analyse`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceAnalysis {
    /// First start to last end, in microseconds.
    pub total_us: u64,
    /// The chain of operations that set the trace's duration, outermost
    /// first: from the root, each step is the child whose end the parent
    /// waited for last, then the child before it, and so on.
    pub critical_path: Vec<PathStep>,
    /// The operations with the most self time, slowest first.
    pub slowest_operations: Vec<OperationShare>,
    /// The slowest hook firings, slowest first.
    pub slowest_hooks: Vec<HookShare>,
    /// Every firing that changed or stopped something, in the order they ran.
    pub decisions: Vec<Decision>,
    /// Operations that ran more than once.
    pub retries: Vec<Retried>,
    /// Operations that a hook redirected.
    pub redirects: Vec<Redirected>,
}

impl Trace {
    /// Analyses the trace, listing at most `top` slowest operations and
    /// hooks.
    pub fn analyse(&self, top: usize) -> TraceAnalysis {
        let total = self.duration_us();
        let origin = self.start().unwrap_or_default();
        let share = |us: u64| {
            if total == 0 {
                0.0
            } else {
                us as f64 / total as f64
            }
        };
        let mut slowest: Vec<OperationShare> = self
            .spans
            .iter()
            .map(|s| {
                let self_us = self.self_us(s);
                OperationShare {
                    span: s.id,
                    label: s.label(),
                    duration_us: s.duration_us,
                    self_us,
                    share: share(self_us),
                }
            })
            .collect();
        slowest.sort_by(|a, b| b.self_us.cmp(&a.self_us).then(a.span.cmp(&b.span)));
        slowest.truncate(top);
        let mut hooks: Vec<HookShare> = self
            .spans
            .iter()
            .flat_map(|s| {
                s.hooks.iter().map(move |h| HookShare {
                    span: s.id,
                    operation: s.label(),
                    point: h.point.to_string(),
                    hook: h.hook.to_string(),
                    latency_us: h.latency_us,
                    share: 0.0,
                })
            })
            .collect();
        hooks.sort_by_key(|h| std::cmp::Reverse(h.latency_us));
        hooks.truncate(top);
        for h in &mut hooks {
            h.share = share(h.latency_us);
        }
        let mut decisions: Vec<Decision> = self
            .spans
            .iter()
            .flat_map(|s| {
                let base = s.offset_from(origin);
                s.hooks
                    .iter()
                    .filter(|h| h.decided())
                    .map(move |h| Decision {
                        at_us: base + h.offset_us,
                        span: s.id,
                        operation: s.label(),
                        point: h.point.to_string(),
                        hook: h.hook.to_string(),
                        action: h.action.as_deref().map(str::to_owned),
                        detail: h.detail.clone(),
                        error: h.error.clone(),
                    })
            })
            .collect();
        decisions.sort_by_key(|d| d.at_us);
        let by = |s: &Span, action: &str| -> Vec<String> {
            let mut names: Vec<String> = s
                .hooks
                .iter()
                .filter(|h| h.action.as_deref() == Some(action))
                .map(|h| h.hook.to_string())
                .collect();
            names.dedup();
            names
        };
        let retries = self
            .spans
            .iter()
            .filter(|s| s.attempts > 1)
            .map(|s| Retried {
                span: s.id,
                label: s.label(),
                attempts: s.attempts,
                by: by(s, "retry"),
            })
            .collect();
        let redirects = self
            .spans
            .iter()
            .filter_map(|s| {
                s.redirected_to.as_ref().map(|to| Redirected {
                    span: s.id,
                    label: s.label(),
                    to: to.clone(),
                    by: by(s, "redirect"),
                })
            })
            .collect();
        TraceAnalysis {
            total_us: total,
            critical_path: self.critical_path(),
            slowest_operations: slowest,
            slowest_hooks: hooks,
            decisions,
            retries,
            redirects,
        }
    }

    /// `span`'s duration minus the time its children cover (overlapping
    /// children counted once).
    fn self_us(&self, span: &Span) -> u64 {
        let start = span.start;
        let mut covered: Vec<(u64, u64)> = self
            .children(span.id)
            .map(|c| {
                let from = c.offset_from(start).min(span.duration_us);
                (from, (from + c.duration_us).min(span.duration_us))
            })
            .collect();
        covered.sort_unstable();
        let mut sum = 0;
        let mut reach = 0;
        for (from, to) in covered {
            let from = from.max(reach);
            if to > from {
                sum += to - from;
                reach = to;
            }
        }
        span.duration_us.saturating_sub(sum)
    }

    /// The critical path from the root that ended last.
    fn critical_path(&self) -> Vec<PathStep> {
        let mut path = Vec::new();
        if let Some(root) = self.roots().max_by_key(|s| s.end()) {
            self.walk(root, &mut path);
        }
        path
    }

    /// Adds `span` and, recursively, the children it waited for: the child
    /// that ended last, then the one that ended last before that child
    /// started, and so on (appended outermost first, each level in time
    /// order).
    fn walk(&self, span: &Span, path: &mut Vec<PathStep>) {
        path.push(PathStep {
            span: span.id,
            label: span.label(),
            duration_us: span.duration_us,
            self_us: self.self_us(span),
        });
        let mut chain: Vec<&Span> = Vec::new();
        // The first pick is the child that ended last, even if clock
        // rounding puts its end a microsecond past the parent's.
        let mut until = None;
        loop {
            let next = self
                .children(span.id)
                .filter(|c| until.is_none_or(|u| c.end() <= u))
                .filter(|c| !chain.iter().any(|p| p.id == c.id))
                .max_by_key(|c| c.end());
            let Some(child) = next else { break };
            chain.push(child);
            until = Some(child.start);
        }
        for child in chain.into_iter().rev() {
            self.walk(child, path);
        }
    }
}
