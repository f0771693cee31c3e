//! Traces and their analysis as text, for terminals.

use std::fmt::Write as _;

use super::analysis::TraceAnalysis;
use super::model::{Span, Trace};

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

impl Trace {
    /// The trace as an indented tree: each operation with its outcome,
    /// start offset and duration, and under it the hook firings (point,
    /// hook, action, latency) and its child operations.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let hooks: usize = self.spans.iter().map(|s| s.hooks.len()).sum();
        let _ = writeln!(
            out,
            "trace {} · {} · {} operation(s) · {hooks} hook firing(s){}",
            self.id,
            ms(self.duration_us()),
            self.spans.len(),
            if self.complete() {
                ""
            } else {
                " · still running"
            }
        );
        if self.dropped_spans > 0 {
            let _ = writeln!(
                out,
                "({} operation(s) past the span limit not kept)",
                self.dropped_spans
            );
        }
        let origin = self.start().unwrap_or_default();
        let roots: Vec<&Span> = self.roots().collect();
        for (i, root) in roots.iter().enumerate() {
            self.render_span(&mut out, root, origin, "", i + 1 == roots.len());
        }
        out
    }

    fn render_span(
        &self,
        out: &mut String,
        span: &Span,
        origin: chrono::DateTime<chrono::Utc>,
        prefix: &str,
        last: bool,
    ) {
        let (branch, inner) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let mut line = format!(
            "{prefix}{branch}{} [{}] +{} {}",
            span.label(),
            span.outcome.as_str(),
            ms(span.offset_from(origin)),
            ms(span.duration_us)
        );
        if span.attempts > 1 {
            let _ = write!(line, " · {} attempts", span.attempts);
        }
        if let Some(to) = &span.redirected_to {
            let _ = write!(line, " · redirected to {to}");
        }
        if let Some(e) = &span.error {
            let _ = write!(line, " · {e}");
        }
        let _ = writeln!(out, "{line}");
        let child_prefix = format!("{prefix}{inner}");
        for h in &span.hooks {
            let action = h.action.as_deref().unwrap_or("no result");
            let mut l = format!(
                "{child_prefix}· {} {} → {action} ({})",
                h.point,
                h.hook,
                ms(h.latency_us)
            );
            if let Some(d) = &h.detail {
                let _ = write!(l, ": {d}");
            }
            if let Some(e) = &h.error {
                let _ = write!(l, ": {e}");
            }
            if h.skipped {
                l.push_str(" [skipped]");
            }
            let _ = writeln!(out, "{l}");
        }
        let children: Vec<&Span> = self.children(span.id).collect();
        for (i, c) in children.iter().enumerate() {
            self.render_span(out, c, origin, &child_prefix, i + 1 == children.len());
        }
    }
}

impl TraceAnalysis {
    /// The analysis as text: critical path, slowest operations and hooks
    /// with their shares, decisions in order, retries and redirects.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let path: Vec<String> = self
            .critical_path
            .iter()
            .map(|p| format!("{} ({})", p.label, ms(p.duration_us)))
            .collect();
        let _ = writeln!(out, "critical path: {}", path.join(" → "));
        let _ = writeln!(
            out,
            "slowest operations (self time, share of {}):",
            ms(self.total_us)
        );
        for o in &self.slowest_operations {
            let _ = writeln!(
                out,
                "  {:<40} {:>12}  {:>6}",
                o.label,
                ms(o.self_us),
                pct(o.share)
            );
        }
        if !self.slowest_hooks.is_empty() {
            let _ = writeln!(out, "slowest hooks:");
            for h in &self.slowest_hooks {
                let _ = writeln!(
                    out,
                    "  {:<40} {:>12}  {:>6}",
                    format!("{} {} on {}", h.point, h.hook, h.operation),
                    ms(h.latency_us),
                    pct(h.share)
                );
            }
        }
        if self.decisions.is_empty() {
            let _ = writeln!(out, "decisions: none (every hook returned continue)");
        } else {
            let _ = writeln!(out, "decisions:");
            for d in &self.decisions {
                let mut l = format!(
                    "  +{} {} {} on {} → {}",
                    ms(d.at_us),
                    d.point,
                    d.hook,
                    d.operation,
                    d.action.as_deref().unwrap_or("no result")
                );
                if let Some(x) = d.detail.as_ref().or(d.error.as_ref()) {
                    let _ = write!(l, ": {x}");
                }
                let _ = writeln!(out, "{l}");
            }
        }
        for r in &self.retries {
            let by = if r.by.is_empty() {
                String::new()
            } else {
                format!(" (retry by {})", r.by.join(", "))
            };
            let _ = writeln!(out, "retried: {} · {} attempts{by}", r.label, r.attempts);
        }
        for r in &self.redirects {
            let by = if r.by.is_empty() {
                String::new()
            } else {
                format!(" (by {})", r.by.join(", "))
            };
            let _ = writeln!(out, "redirected: {} → {}{by}", r.label, r.to);
        }
        out
    }
}
