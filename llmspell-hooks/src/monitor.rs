//! Per-hook performance counters and latency histograms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

use crate::{BreakerState, HookId, HookPoint};

/// Counters and a latency histogram for one registered hook. Calls, errors
/// and timeouts are updated with the histogram under one lock; skips (which
/// happen while the breaker is open, on the hot path) are atomic.
pub(crate) struct HookStats {
    skips: AtomicU64,
    inner: Mutex<Counted>,
}

#[derive(Default)]
struct Counted {
    calls: u64,
    errors: u64,
    timeouts: u64,
    latency: Option<Histogram<u32>>,
}

/// How a call ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    Ok,
    Error,
    Timeout,
}

impl HookStats {
    pub(crate) fn new() -> Self {
        Self {
            skips: AtomicU64::new(0),
            // The histogram is allocated on the first call, so registering stays cheap.
            inner: Mutex::new(Counted::default()),
        }
    }

    pub(crate) fn record(&self, elapsed: Duration, how: Recorded) {
        let mut c = self.inner.lock();
        c.calls += 1;
        match how {
            Recorded::Ok => {}
            Recorded::Error => c.errors += 1,
            Recorded::Timeout => {
                c.errors += 1;
                c.timeouts += 1;
            }
        }
        if c.latency.is_none() {
            // 1 ns .. 10 min at 2 significant digits, u32 counts (~20 KiB).
            c.latency = Histogram::new_with_bounds(1, 600_000_000_000, 2).ok();
        }
        if let Some(h) = c.latency.as_mut() {
            h.saturating_record(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1));
        }
    }

    pub(crate) fn skip(&self) {
        self.skips.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LatencySnapshot {
        let c = self.inner.lock();
        let (p50, p95, p99, max, mean) = match c.latency.as_ref() {
            Some(h) if !h.is_empty() => (
                h.value_at_quantile(0.50),
                h.value_at_quantile(0.95),
                h.value_at_quantile(0.99),
                h.max(),
                h.mean(),
            ),
            _ => (0, 0, 0, 0, 0.0),
        };
        LatencySnapshot {
            calls: c.calls,
            errors: c.errors,
            timeouts: c.timeouts,
            skips: self.skips.load(Ordering::Relaxed),
            p50_ns: p50,
            p95_ns: p95,
            p99_ns: p99,
            max_ns: max,
            mean_ns: mean,
        }
    }
}

/// Counters and latency percentiles of one hook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySnapshot {
    /// Calls made (skips excluded).
    pub calls: u64,
    /// Calls that failed (errors, panics, malformed results, timeouts).
    pub errors: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls skipped because the breaker was open.
    pub skips: u64,
    /// Median latency in ns.
    pub p50_ns: u64,
    /// 95th percentile in ns.
    pub p95_ns: u64,
    /// 99th percentile in ns.
    pub p99_ns: u64,
    /// Slowest call in ns.
    pub max_ns: u64,
    /// Mean latency in ns.
    pub mean_ns: f64,
}

/// One hook's performance, as reported by [`PerformanceMonitor`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookPerformance {
    /// The hook's id.
    pub id: HookId,
    /// Its name.
    pub name: String,
    /// Its point.
    pub point: HookPoint,
    /// Its breaker's state.
    pub breaker: BreakerState,
    /// Counters and percentiles.
    #[serde(flatten)]
    pub latency: LatencySnapshot,
}

/// Reads the per-hook counters and histograms the executor keeps.
#[derive(Debug, Clone)]
pub struct PerformanceMonitor {
    registry: crate::HookRegistry,
}

impl PerformanceMonitor {
    pub(crate) fn new(registry: crate::HookRegistry) -> Self {
        Self { registry }
    }

    /// Every registered hook's figures, in registration order.
    pub fn report(&self) -> Vec<HookPerformance> {
        self.registry
            .entries()
            .iter()
            .map(|e| e.performance())
            .collect()
    }

    /// One hook's figures.
    pub fn hook(&self, id: HookId) -> Option<HookPerformance> {
        self.registry.entry(id).map(|e| e.performance())
    }
}
