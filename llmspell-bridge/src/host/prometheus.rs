//! The runtime's figures in the Prometheus text format: every metrics hook
//! in use, the event bus's counters and each hook's calls, failures and
//! latency as the executor keeps them.

use std::fmt::Write;

use serde_json::Value;

use super::Host;

impl Host {
    /// The Prometheus text of the runtime: the series of each `metrics`
    /// built-in hook in use, then `llmspell_bus_*` (published, delivered,
    /// dropped, rate limited, subscriptions) and `llmspell_executor_hook_*` (calls,
    /// errors, timeouts, breaker skips and latency quantiles per hook, with
    /// labels `hook`, `id` and `point`).
    pub async fn prometheus(&self) -> String {
        let metrics: Vec<_> = self
            .inner
            .builtins
            .lock()
            .iter()
            .filter(|u| u.hook.kind() == "metrics")
            .map(|u| u.hook.clone())
            .collect();
        let mut out = String::new();
        for hook in metrics {
            if let Some(Value::String(text)) = hook.report().await.get("prometheus") {
                out.push_str(text);
            }
        }
        let bus = self.inner.bus.stats();
        for (name, kind, help, value) in [
            ("published", "counter", "Events published.", bus.published),
            (
                "delivered",
                "counter",
                "Event copies queued to subscribers.",
                bus.delivered,
            ),
            (
                "dropped",
                "counter",
                "Event copies dropped by full queues.",
                bus.dropped,
            ),
            (
                "rate_limited",
                "counter",
                "Publishes refused by the rate limit.",
                bus.rate_limited,
            ),
            (
                "subscriptions",
                "gauge",
                "Live subscriptions.",
                bus.subscriptions as u64,
            ),
        ] {
            let suffix = if kind == "counter" { "_total" } else { "" };
            let _ = writeln!(out, "# HELP llmspell_bus_{name}{suffix} {help}");
            let _ = writeln!(out, "# TYPE llmspell_bus_{name}{suffix} {kind}");
            let _ = writeln!(out, "llmspell_bus_{name}{suffix} {value}");
        }
        let components = self.inner.tools.runner().component_hook_stats();
        let _ = writeln!(
            out,
            "# HELP llmspell_component_hook_seconds_total Hook time of guarded calls, per component (name \"*\": the kind's total)."
        );
        let _ = writeln!(out, "# TYPE llmspell_component_hook_seconds_total counter");
        for c in &components {
            let _ = writeln!(
                out,
                "llmspell_component_hook_seconds_total{{component_type=\"{}\",component=\"{}\"}} {}",
                c.kind.as_str(),
                c.name.replace('\\', "\\\\").replace('"', "\\\""),
                c.hook_ns as f64 / 1e9
            );
        }
        let hooks = self.inner.executor.monitor().report();
        let series: [(&str, &str, &str); 4] = [
            ("calls_total", "counter", "Hook calls made."),
            ("errors_total", "counter", "Hook calls that failed."),
            ("timeouts_total", "counter", "Hook calls that timed out."),
            (
                "breaker_skips_total",
                "counter",
                "Hook calls skipped by an open breaker.",
            ),
        ];
        for (i, (name, kind, help)) in series.iter().enumerate() {
            let _ = writeln!(out, "# HELP llmspell_executor_hook_{name} {help}");
            let _ = writeln!(out, "# TYPE llmspell_executor_hook_{name} {kind}");
            for h in &hooks {
                let l = &h.latency;
                let v = [l.calls, l.errors, l.timeouts, l.skips][i];
                let _ = writeln!(out, "llmspell_executor_hook_{name}{{{}}} {v}", labels(h));
            }
        }
        let _ = writeln!(
            out,
            "# HELP llmspell_executor_hook_latency_seconds Hook call latency."
        );
        let _ = writeln!(out, "# TYPE llmspell_executor_hook_latency_seconds summary");
        for h in &hooks {
            let l = &h.latency;
            for (q, ns) in [("0.5", l.p50_ns), ("0.95", l.p95_ns), ("0.99", l.p99_ns)] {
                let _ = writeln!(
                    out,
                    "llmspell_executor_hook_latency_seconds{{{},quantile=\"{q}\"}} {}",
                    labels(h),
                    ns as f64 / 1e9
                );
            }
            let _ = writeln!(
                out,
                "llmspell_executor_hook_latency_seconds_count{{{}}} {}",
                labels(h),
                l.calls
            );
        }
        out
    }
}

/// `hook="…",id="…",point="…"`, escaped.
fn labels(h: &llmspell_hooks::HookPerformance) -> String {
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    format!(
        "hook=\"{}\",id=\"{}\",point=\"{}\"",
        esc(&h.name),
        h.id,
        esc(&h.point.to_string())
    )
}
