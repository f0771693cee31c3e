//! Per-hook performance counters and latency histograms.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use histogram::AtomicHistogram;
use serde::Serialize;

use crate::{BreakerState, HookId, HookPoint};

/// Histogram buckets: 2^6 per power of two (relative error under 1.6%),
/// values up to 2^40 ns (about 18 minutes, beyond any hook timeout).
const GROUPING_POWER: u8 = 6;
const MAX_VALUE_POWER: u8 = 40;
const MAX_NS: u64 = (1 << MAX_VALUE_POWER) - 1;

/// Counters and a latency histogram for one registered hook, all atomic: a
/// call's common case (it succeeded) costs one relaxed increment of its
/// histogram bucket, so hooks fired from many threads never wait on a lock.
/// The number of calls is the histogram's total.
pub(crate) struct HookStats {
    /// Allocated on the first call, so registering stays cheap.
    latency: OnceLock<Option<AtomicHistogram>>,
    errors: AtomicU64,
    timeouts: AtomicU64,
    skips: AtomicU64,
    max_ns: AtomicU64,
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
            latency: OnceLock::new(),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            skips: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }

    fn histogram(&self) -> Option<&AtomicHistogram> {
        self.latency
            .get_or_init(|| AtomicHistogram::new(GROUPING_POWER, MAX_VALUE_POWER).ok())
            .as_ref()
    }

    pub(crate) fn record(&self, elapsed: Duration, how: Recorded) {
        let ns = u64::try_from(elapsed.as_nanos())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_NS);
        if let Some(h) = self.histogram() {
            // In range by the clamp above.
            let _ = h.increment(ns);
        }
        if ns > self.max_ns.load(Ordering::Relaxed) {
            self.max_ns.fetch_max(ns, Ordering::Relaxed);
        }
        match how {
            Recorded::Ok => {}
            Recorded::Error => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            Recorded::Timeout => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn skip(&self) {
        self.skips.fetch_add(1, Ordering::Relaxed);
    }

    /// The figures so far. Percentiles and the mean are read from the
    /// histogram (each within its bucket's width, under 1.6%; never above the
    /// slowest call); the slowest call is exact up to 2^40 ns (about 18
    /// minutes), where durations are clamped.
    pub(crate) fn snapshot(&self) -> LatencySnapshot {
        let max_ns = self.max_ns.load(Ordering::Relaxed);
        let mut calls = 0u64;
        let mut weighted = 0f64;
        let mut quantiles = [None, None, None];
        if let Some(h) = self.latency.get().and_then(Option::as_ref) {
            let loaded = h.load();
            for bucket in loaded.iter().filter(|b| b.count() > 0) {
                calls += bucket.count();
                let mid = (bucket.start() as f64 + bucket.end() as f64) / 2.0;
                weighted += mid * bucket.count() as f64;
            }
            if calls > 0 {
                let _ = loaded.quantile_buckets_into(&[0.50, 0.95, 0.99], &mut quantiles);
            }
        }
        let at = |q: &Option<histogram::Bucket>| q.as_ref().map_or(0, |b| b.end().min(max_ns));
        LatencySnapshot {
            calls,
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            skips: self.skips.load(Ordering::Relaxed),
            p50_ns: at(&quantiles[0]),
            p95_ns: at(&quantiles[1]),
            p99_ns: at(&quantiles[2]),
            max_ns,
            mean_ns: if calls == 0 {
                0.0
            } else {
                (weighted / calls as f64).min(max_ns as f64)
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles_follow_the_recorded_calls() {
        let stats = HookStats::new();
        assert_eq!(stats.snapshot().calls, 0);
        // 90 calls of 1 µs, 9 of 100 µs, one of 10 ms that timed out.
        for _ in 0..90 {
            stats.record(Duration::from_micros(1), Recorded::Ok);
        }
        for _ in 0..9 {
            stats.record(Duration::from_micros(100), Recorded::Error);
        }
        stats.record(Duration::from_millis(10), Recorded::Timeout);
        stats.skip();
        let s = stats.snapshot();
        assert_eq!((s.calls, s.errors, s.timeouts, s.skips), (100, 10, 1, 1));
        let near = |v: u64, want: u64| v.abs_diff(want) * 50 <= want;
        assert!(near(s.p50_ns, 1_000), "p50 {}", s.p50_ns);
        assert!(near(s.p95_ns, 100_000), "p95 {}", s.p95_ns);
        assert!(near(s.p99_ns, 100_000), "p99 {}", s.p99_ns);
        assert_eq!(s.max_ns, 10_000_000);
        let mean = (90.0 * 1e3 + 9.0 * 1e5 + 1e7) / 100.0;
        assert!((s.mean_ns - mean).abs() / mean < 0.02, "mean {}", s.mean_ns);
    }

    #[test]
    fn a_zero_or_huge_duration_is_recorded_not_lost() {
        let stats = HookStats::new();
        stats.record(Duration::ZERO, Recorded::Ok);
        stats.record(Duration::from_secs(86_400), Recorded::Ok);
        let s = stats.snapshot();
        assert_eq!(s.calls, 2);
        assert_eq!(s.max_ns, MAX_NS);
        assert!(s.p50_ns >= 1);
    }

    #[test]
    fn calls_from_many_threads_are_all_counted() {
        let stats = std::sync::Arc::new(HookStats::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let stats = stats.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        stats.record(Duration::from_nanos(100 + i), Recorded::Ok);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = stats.snapshot();
        assert_eq!(s.calls, 4000);
        assert_eq!(s.max_ns, 1099);
    }
}
