//! Counts and latency percentiles per hook point and component, exportable
//! in the Prometheus text format.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hdrhistogram::Histogram;
use llmspell_core::ComponentType;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use super::{PointPhase, invalid};
use crate::{Hook, HookContext, HookMetadata, HookPoint, HookResult, Priority};

/// The component name that series beyond [`max_series`](MetricsHookBuilder::max_series) are folded into.
const OVERFLOW: &str = "__other__";
/// Latencies are kept in nanoseconds from 1 ns to one hour, at 2 significant
/// digits with `u32` counts: about 18 KiB per series.
const MAX_NANOS: u64 = 3_600_000_000_000;
const RESERVED_LABELS: [&str; 4] = ["point", "component", "component_type", "quantile"];

/// Records, per hook point and component: how often the point fired, how
/// many operations failed (firings of Error points) and the operations'
/// latency (`ctx.elapsed` at After and Error points) in a histogram with
/// percentiles.
///
/// Register it (one shared `Arc`) at every point to observe, read it with
/// [`snapshot`](MetricsHook::snapshot) or
/// [`export_prometheus`](MetricsHook::export_prometheus). It always returns
/// `Continue`. The number of series is bounded by
/// [`max_series`](MetricsHookBuilder::max_series): once reached, new
/// components of a point are counted under the component `__other__`.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_hooks::builtin::MetricsHook;
/// use llmspell_hooks::{HookPoint, HookRegistry};
///
/// let metrics = Arc::new(MetricsHook::builder().namespace("myapp").const_label("host", "a1").build()?);
/// let registry = HookRegistry::new();
/// for p in [HookPoint::BeforeToolExecution, HookPoint::AfterToolExecution, HookPoint::ToolError] {
///     registry.register(p, metrics.clone()).forget();
/// }
/// assert!(metrics.export_prometheus().is_empty());
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct MetricsHook {
    namespace: String,
    const_labels: Vec<(String, String)>,
    quantiles: Vec<f64>,
    max_series: usize,
    series: RwLock<HashMap<SeriesKey, Arc<Series>>>,
    metadata: HookMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    point: HookPoint,
    kind: ComponentType,
    component: Arc<str>,
}

#[derive(Default)]
struct Series {
    inner: Mutex<Counted>,
}

#[derive(Default)]
struct Counted {
    calls: u64,
    errors: u64,
    sum_nanos: u128,
    latency: Option<Histogram<u32>>,
}

/// Builds a [`MetricsHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MetricsHookBuilder {
    namespace: String,
    const_labels: Vec<(String, String)>,
    quantiles: Vec<f64>,
    max_series: usize,
    name: String,
    priority: Priority,
}

impl Default for MetricsHookBuilder {
    fn default() -> Self {
        Self {
            namespace: "llmspell".to_owned(),
            const_labels: Vec::new(),
            quantiles: vec![0.5, 0.95, 0.99],
            max_series: 1_000,
            name: "builtin.metrics".to_owned(),
            priority: Priority::LOWEST,
        }
    }
}

impl MetricsHookBuilder {
    /// The prefix of every metric name (`<namespace>_hook_calls_total`).
    /// Default `llmspell`; must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// A label added to every exported sample (`instance`, `host`, …). Its
    /// name must match `[a-zA-Z_][a-zA-Z0-9_]*`, must not start with `__` and
    /// must not be `point`, `component`, `component_type` or `quantile`.
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// The quantiles exported for latency summaries, each in (0, 1).
    /// Default 0.5, 0.95, 0.99.
    pub fn quantiles(mut self, quantiles: impl IntoIterator<Item = f64>) -> Self {
        self.quantiles = quantiles.into_iter().collect();
        self
    }

    /// The most (point, component) series kept. Default 1,000; at least 1.
    /// Each series with latencies holds a histogram of about 18 KiB.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// The hook's name. Default `builtin.metrics`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `LOWEST`, so it runs after hooks that
    /// may cancel or decide.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an invalid
    /// namespace, label name or quantile, or `max_series` of 0.
    pub fn build(self) -> crate::Result<MetricsHook> {
        if !valid_metric_name(&self.namespace) {
            return Err(invalid(
                "namespace",
                format!(
                    "{:?} is not a metric name prefix; use [a-zA-Z_:][a-zA-Z0-9_:]*",
                    self.namespace
                ),
            ));
        }
        for (name, _) in &self.const_labels {
            if !valid_label_name(name) || RESERVED_LABELS.contains(&name.as_str()) {
                return Err(invalid(
                    "const_label",
                    format!(
                        "{name:?} is not a usable label name; use [a-zA-Z_][a-zA-Z0-9_]*, not \
                         starting with __, and not one of {RESERVED_LABELS:?}"
                    ),
                ));
            }
        }
        if let Some(q) = self
            .quantiles
            .iter()
            .find(|q| !(q.is_finite() && **q > 0.0 && **q < 1.0))
        {
            return Err(invalid(
                "quantiles",
                format!("{q} is not a quantile; each must be in (0, 1)"),
            ));
        }
        if self.max_series == 0 {
            return Err(invalid("max_series", "must be at least 1"));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        Ok(MetricsHook {
            namespace: self.namespace,
            const_labels: self.const_labels,
            quantiles: self.quantiles,
            max_series: self.max_series,
            series: RwLock::new(HashMap::new()),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("counts and latency percentiles per point and component"),
        })
    }
}

fn valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    !s.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`,
/// newline → `\n`.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Latency statistics of one series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Latencies recorded.
    pub count: u64,
    /// Their sum.
    pub sum: Duration,
    /// The smallest.
    pub min: Duration,
    /// The largest.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// The counters of one (point, component) series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSnapshot {
    /// The hook point's name.
    pub point: String,
    /// The component kind (`tool`, `agent`, …).
    pub component_type: String,
    /// The component name (`__other__` for series beyond the bound).
    pub component: String,
    /// Times the point fired.
    pub calls: u64,
    /// Times it fired as an Error point.
    pub errors: u64,
    /// Operation latencies seen at this point (After and Error points).
    pub latency: Option<LatencyStats>,
}

/// Every series, sorted by point, then component kind and name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// The series.
    pub series: Vec<SeriesSnapshot>,
}

impl MetricsSnapshot {
    /// The series of `point` and component `name`, if any.
    pub fn get(&self, point: &HookPoint, name: &str) -> Option<&SeriesSnapshot> {
        let point = point.name();
        self.series
            .iter()
            .find(|s| s.point == point && s.component == name)
    }
}

impl MetricsHook {
    /// A builder with the defaults.
    pub fn builder() -> MetricsHookBuilder {
        MetricsHookBuilder::default()
    }

    fn series_for(&self, ctx: &HookContext) -> Arc<Series> {
        let key = SeriesKey {
            point: ctx.point.clone(),
            kind: ctx.component.kind,
            component: ctx.component.name.clone(),
        };
        if let Some(s) = self.series.read().get(&key) {
            return s.clone();
        }
        let mut map = self.series.write();
        if let Some(s) = map.get(&key) {
            return s.clone();
        }
        let key = if map.len() >= self.max_series {
            SeriesKey {
                component: Arc::from(OVERFLOW),
                ..key
            }
        } else {
            key
        };
        map.entry(key).or_default().clone()
    }

    /// Records one firing of `ctx.point`.
    pub fn record(&self, ctx: &HookContext) {
        let phase = PointPhase::of(&ctx.point);
        let series = self.series_for(ctx);
        let mut c = series.inner.lock();
        c.calls += 1;
        if phase == PointPhase::Error {
            c.errors += 1;
        }
        if let (PointPhase::After | PointPhase::Error, Some(elapsed)) = (phase, ctx.elapsed) {
            let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            c.sum_nanos += u128::from(nanos);
            if c.latency.is_none() {
                c.latency = Histogram::new_with_bounds(1, MAX_NANOS, 2).ok();
            }
            if let Some(h) = c.latency.as_mut() {
                h.saturating_record(nanos.clamp(1, MAX_NANOS));
            }
        }
    }

    /// Forgets every series.
    pub fn reset(&self) {
        self.series.write().clear();
    }

    /// A copy of every series.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut series: Vec<SeriesSnapshot> = self
            .series
            .read()
            .iter()
            .map(|(k, s)| {
                let c = s.inner.lock();
                let latency = c.latency.as_ref().filter(|h| !h.is_empty()).map(|h| {
                    let count = h.len();
                    let sum = Duration::from_nanos(u64::try_from(c.sum_nanos).unwrap_or(u64::MAX));
                    LatencyStats {
                        count,
                        sum,
                        min: Duration::from_nanos(h.min()),
                        max: Duration::from_nanos(h.max()),
                        mean: sum / u32::try_from(count.max(1)).unwrap_or(u32::MAX),
                        p50: Duration::from_nanos(h.value_at_quantile(0.5)),
                        p95: Duration::from_nanos(h.value_at_quantile(0.95)),
                        p99: Duration::from_nanos(h.value_at_quantile(0.99)),
                    }
                });
                SeriesSnapshot {
                    point: k.point.name().into_owned(),
                    component_type: k.kind.as_str().to_owned(),
                    component: k.component.to_string(),
                    calls: c.calls,
                    errors: c.errors,
                    latency,
                }
            })
            .collect();
        series.sort_by(|a, b| {
            (&a.point, &a.component_type, &a.component).cmp(&(
                &b.point,
                &b.component_type,
                &b.component,
            ))
        });
        MetricsSnapshot { series }
    }

    /// Every series in the Prometheus text exposition format (version
    /// 0.0.4): `<ns>_hook_calls_total` and `<ns>_operation_errors_total`
    /// (counters) and `<ns>_operation_duration_seconds` (a summary with the
    /// configured quantiles, `_sum` and `_count`), each with `# HELP` and
    /// `# TYPE` lines and the labels `point`, `component_type`, `component`
    /// plus the constant labels. Empty when nothing was recorded.
    pub fn export_prometheus(&self) -> String {
        let mut rows: Vec<(String, Counted)> = Vec::new();
        {
            let map = self.series.read();
            for (k, s) in map.iter() {
                let c = s.inner.lock();
                let mut labels = format!(
                    "point=\"{}\",component_type=\"{}\",component=\"{}\"",
                    escape_label(&k.point.name()),
                    escape_label(k.kind.as_str()),
                    escape_label(&k.component)
                );
                for (n, v) in &self.const_labels {
                    let _ = write!(labels, ",{n}=\"{}\"", escape_label(v));
                }
                rows.push((
                    labels,
                    Counted {
                        calls: c.calls,
                        errors: c.errors,
                        sum_nanos: c.sum_nanos,
                        latency: c.latency.clone(),
                    },
                ));
            }
        }
        if rows.is_empty() {
            return String::new();
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let ns = &self.namespace;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP {ns}_hook_calls_total Times a hook point fired, per point and component."
        );
        let _ = writeln!(out, "# TYPE {ns}_hook_calls_total counter");
        for (labels, c) in &rows {
            let _ = writeln!(out, "{ns}_hook_calls_total{{{labels}}} {}", c.calls);
        }
        let _ = writeln!(
            out,
            "# HELP {ns}_operation_errors_total Failed operations (Error point firings), per point and component."
        );
        let _ = writeln!(out, "# TYPE {ns}_operation_errors_total counter");
        for (labels, c) in &rows {
            let _ = writeln!(out, "{ns}_operation_errors_total{{{labels}}} {}", c.errors);
        }
        let timed: Vec<_> = rows
            .iter()
            .filter_map(|(l, c)| {
                c.latency
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .map(|h| (l, c, h))
            })
            .collect();
        if !timed.is_empty() {
            let name = format!("{ns}_operation_duration_seconds");
            let _ = writeln!(
                out,
                "# HELP {name} Operation latency seen at After and Error points, per point and component."
            );
            let _ = writeln!(out, "# TYPE {name} summary");
            for (labels, c, h) in timed {
                for q in &self.quantiles {
                    let v = h.value_at_quantile(*q) as f64 / 1e9;
                    let _ = writeln!(out, "{name}{{{labels},quantile=\"{q}\"}} {v}");
                }
                let _ = writeln!(out, "{name}_sum{{{labels}}} {}", c.sum_nanos as f64 / 1e9);
                let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.len());
            }
        }
        out
    }
}

impl std::fmt::Debug for MetricsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHook")
            .field("namespace", &self.namespace)
            .field("series", &self.series.read().len())
            .finish()
    }
}

#[async_trait]
impl Hook for MetricsHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        self.record(ctx);
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_core::ComponentId;
    use serde_json::json;

    fn ctx(point: HookPoint, name: &str, ms: Option<u64>) -> HookContext {
        let mut c = HookContext::new(point, ComponentId::tool(name), json!({}));
        c.elapsed = ms.map(Duration::from_millis);
        c
    }

    #[test]
    fn labels_are_escaped_and_validated() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert!(MetricsHook::builder().namespace("9x").build().is_err());
        assert!(
            MetricsHook::builder()
                .const_label("point", "x")
                .build()
                .is_err()
        );
        assert!(
            MetricsHook::builder()
                .const_label("__x", "x")
                .build()
                .is_err()
        );
        assert!(MetricsHook::builder().quantiles([1.0]).build().is_err());
        assert!(MetricsHook::builder().max_series(0).build().is_err());
    }

    #[test]
    fn series_beyond_the_bound_are_folded() {
        let m = MetricsHook::builder().max_series(2).build().unwrap();
        for name in ["a", "b", "c", "d"] {
            m.record(&ctx(HookPoint::BeforeToolExecution, name, None));
        }
        let s = m.snapshot();
        assert_eq!(s.series.len(), 3, "{s:?}");
        assert_eq!(
            s.get(&HookPoint::BeforeToolExecution, OVERFLOW)
                .unwrap()
                .calls,
            2
        );
    }

    #[test]
    fn latency_is_taken_only_where_elapsed_means_the_operation() {
        let m = MetricsHook::builder().build().unwrap();
        m.record(&ctx(HookPoint::BeforeToolExecution, "t", Some(5)));
        m.record(&ctx(HookPoint::AfterToolExecution, "t", Some(10)));
        let s = m.snapshot();
        assert!(
            s.get(&HookPoint::BeforeToolExecution, "t")
                .unwrap()
                .latency
                .is_none()
        );
        let l = s
            .get(&HookPoint::AfterToolExecution, "t")
            .unwrap()
            .latency
            .unwrap();
        assert_eq!(l.count, 1);
        assert!(l.p50 >= Duration::from_millis(9) && l.p50 <= Duration::from_millis(11));
    }
}
