//! The hook metrics of `llmspell bench`, each with its same-run baseline.
//!
//! The hooks are [`NoopHook`]s, native hooks that do nothing, so that the
//! figures are the executor's own cost: timing, the circuit breaker, the
//! latency histogram, the result.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llmspell_core::ComponentId;
use llmspell_hooks::{
    ExecutorConfig, Hook, HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry,
    HookResult, Priority, hook_fn,
};
use serde_json::json;

use crate::{Measurement, Result, current_thread_runtime as runtime, median};

const RUNS: usize = 5;

/// A native hook that does nothing: the unit of hook overhead.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopHook;

#[async_trait]
impl Hook for NoopHook {
    async fn execute(&self, _ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        Ok(HookResult::Continue)
    }
}

fn ctx() -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("bench"),
        json!({ "x": 1 }),
    )
}

/// Median ns per firing of `point` over `iters` firings, several runs.
fn firing_ns(rt: &tokio::runtime::Runtime, executor: &HookExecutor, iters: u32) -> f64 {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut c = ctx();
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                // Consumed as callers do (`?`, then the result): an error or
                // the deciding result is what a caller looks at.
                match executor.execute_point(&mut c).await {
                    Ok(outcome) => {
                        black_box(outcome.result());
                    }
                    Err(e) => {
                        black_box(&e);
                    }
                }
            }
        });
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    median(&mut samples)
}

/// Median ns for `calls` direct calls of `hook`, per `iters` round.
fn direct_ns(rt: &tokio::runtime::Runtime, hook: &dyn Hook, calls: usize, iters: u32) -> f64 {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut c = ctx();
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                for _ in 0..calls {
                    // Consumed the same way as the firings above.
                    match hook.execute(&mut c).await {
                        Ok(result) => {
                            black_box(&result);
                        }
                        Err(e) => {
                            black_box(&e);
                        }
                    }
                }
            }
        });
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    median(&mut samples)
}

/// Median ns of one direct call of a [`NoopHook`] (an async-trait call
/// with its boxed future), over `iters` calls: the unit other metrics state
/// their fixed costs in.
///
/// # Errors
/// When no runtime can be started.
#[cfg(feature = "tools")]
pub(crate) fn direct_call_ns(iters: u32) -> Result<f64> {
    let rt = runtime()?;
    Ok(direct_ns(&rt, &NoopHook, 1, iters))
}

/// A direct async-trait call (boxed future) on the reference machine of
/// `docs/technical/performance.md` ("Targets as ratios"): the unit the
/// nanosecond targets of [`one_hook`] and [`ten_hooks`] were set in.
pub const REFERENCE_DIRECT_CALL_NS: f64 = 14.0;

/// A firing measured against `calls` direct calls in the same run. The
/// target is checked as a ratio to that baseline:
/// `target_ns` on the reference machine, where `calls` direct calls take
/// `calls` × [`REFERENCE_DIRECT_CALL_NS`], allows the ratio
/// `target_ns / (calls × 14 ns)`. The absolute figures are reported beside it.
fn ratio_checked(
    metric: &str,
    value: f64,
    baseline: f64,
    target_ns: f64,
    calls: u32,
) -> Measurement {
    let allowed = target_ns / (f64::from(calls) * REFERENCE_DIRECT_CALL_NS);
    let ratio = value / baseline.max(f64::MIN_POSITIVE);
    let direct = if calls == 1 {
        "a direct call".to_owned()
    } else {
        format!("{calls} direct calls")
    };
    Measurement::new(metric, value, "ns")
        .with_baseline(baseline)
        .with_target(
            format!(
                "≤ {target_ns:.0} ns on the reference machine: ratio to {direct} ≤ {allowed:.1} \
                 (here {value:.0} ns, ratio {ratio:.2})"
            ),
            ratio <= allowed,
        )
}

/// `hooks.empty_point_ns`: firing a point with no hooks. Target ≤ 10 ns.
///
/// # Errors
/// When no runtime can be started.
pub fn empty_point(iters: u32) -> Result<Measurement> {
    let rt = runtime()?;
    let executor = HookExecutor::new(HookRegistry::new());
    let value = firing_ns(&rt, &executor, iters);
    Ok(Measurement::new("hooks.empty_point_ns", value, "ns").with_target("≤ 10 ns", value <= 10.0))
}

fn with_noops(n: usize) -> HookExecutor {
    let registry = HookRegistry::new();
    for _ in 0..n {
        registry
            .register(HookPoint::BeforeToolExecution, NoopHook)
            .forget();
    }
    HookExecutor::new(registry)
}

/// `hooks.one_hook_ns`: one no-op native hook through the executor (timing,
/// breaker and histogram included); baseline a direct call. Target ≤ 150 ns
/// on the reference machine, checked as a ratio ≤ 10.7 to the direct call.
///
/// # Errors
/// When no runtime can be started.
pub fn one_hook(iters: u32) -> Result<Measurement> {
    let rt = runtime()?;
    let value = firing_ns(&rt, &with_noops(1), iters);
    let baseline = direct_ns(&rt, &NoopHook, 1, iters);
    Ok(ratio_checked(
        "hooks.one_hook_ns",
        value,
        baseline,
        150.0,
        1,
    ))
}

/// `hooks.ten_hooks_ns`: ten no-op native hooks; baseline ten direct calls.
/// Target ≤ 1 µs on the reference machine, checked as a ratio ≤ 7.1 to the
/// ten direct calls.
///
/// # Errors
/// When no runtime can be started.
pub fn ten_hooks(iters: u32) -> Result<Measurement> {
    let rt = runtime()?;
    let value = firing_ns(&rt, &with_noops(10), iters);
    let baseline = direct_ns(&rt, &NoopHook, 10, iters);
    Ok(ratio_checked(
        "hooks.ten_hooks_ns",
        value,
        baseline,
        1000.0,
        10,
    ))
}

/// `hooks.one_hook_fn_ns`: one no-op hook written with `hook_fn`, the
/// documented way, per firing; baseline a direct call of the same closure
/// (with its `Arc<HookContext>`). Target ≤ 150 ns, checked as a ratio ≤ 25
/// to the direct call.
///
/// # Errors
/// When no runtime can be started.
pub fn one_hook_fn(iters: u32) -> Result<Measurement> {
    let rt = runtime()?;
    let noop = |_ctx: Arc<HookContext>| async { Ok(HookResult::Continue) };
    let registry = HookRegistry::new();
    registry
        .register(HookPoint::BeforeToolExecution, hook_fn(noop))
        .forget();
    let value = firing_ns(&rt, &HookExecutor::new(registry), iters);
    let shared = Arc::new(ctx());
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                let result: llmspell_core::Result<HookResult> =
                    black_box(noop)(black_box(&shared).clone()).await;
                black_box(&result);
            }
        });
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    let baseline = median(&mut samples);
    let ratio = value / baseline.max(f64::MIN_POSITIVE);
    Ok(Measurement::new("hooks.one_hook_fn_ns", value, "ns")
        .with_baseline(baseline)
        .with_target(
            format!(
                "≤ 150 ns, ratio to a direct call of the closure ≤ 25 \
                 (here {value:.0} ns, direct {baseline:.1} ns, ratio {ratio:.1})"
            ),
            ratio <= 25.0,
        ))
}

/// `hooks.register_ns`: registering a hook when 1,000 are registered, all on
/// the same point (the worst case: every registration copies that point's
/// list). Target ≤ 5 µs.
pub fn register(extra: u32) -> Measurement {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let registry = HookRegistry::new();
        for _ in 0..1000 {
            registry
                .register(HookPoint::BeforeToolExecution, NoopHook)
                .forget();
        }
        let hook: Arc<dyn Hook> = Arc::new(NoopHook);
        let started = Instant::now();
        for i in 0..extra {
            let options = HookOptions::new().priority(Priority((i % 7) as i32));
            if let Ok(h) =
                registry.register_with(HookPoint::BeforeToolExecution, hook.clone(), options)
            {
                h.forget();
            }
        }
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(extra.max(1)));
    }
    let value = median(&mut samples);
    Measurement::new("hooks.register_ns", value, "ns").with_target(
        "≤ 5000 ns with 1,000 hooks on the same point",
        value <= 5000.0,
    )
}

/// A hook that becomes slow when told to.
struct TurnsSlow(Arc<std::sync::atomic::AtomicBool>);

#[async_trait]
impl Hook for TurnsSlow {
    async fn execute(&self, _ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        Ok(HookResult::Continue)
    }
}

/// `hooks.breaker_trip_calls`: with default breaker settings, the calls a
/// hook that turned slow (over its point's budget) still receives before it
/// is skipped. Target ≤ 20.
///
/// # Errors
/// When no runtime can be started.
pub fn breaker_trip_calls() -> Result<Measurement> {
    let rt = runtime()?;
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let registry = HookRegistry::new();
    let handle = registry.register(HookPoint::BeforeToolExecution, TurnsSlow(slow.clone()));
    let executor = HookExecutor::builder(registry.clone())
        .config(
            ExecutorConfig::default()
                .budget(HookPoint::BeforeToolExecution, Duration::from_millis(1)),
        )
        .build();
    let mut c = ctx();
    let calls = rt.block_on(async {
        for _ in 0..100 {
            let _ = executor.execute_point(&mut c).await;
        }
        slow.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut calls = 0u32;
        while calls < 1000 {
            let before = executor
                .monitor()
                .hook(handle.id())
                .map_or(0, |p| p.latency.calls);
            let _ = executor.execute_point(&mut c).await;
            let after = executor
                .monitor()
                .hook(handle.id())
                .map_or(0, |p| p.latency.calls);
            if after == before {
                break;
            }
            calls += 1;
        }
        calls
    });
    let value = f64::from(calls);
    Ok(Measurement::new("hooks.breaker_trip_calls", value, "calls")
        .with_target("≤ 20 calls", value <= 20.0))
}

#[cfg(test)]
mod ratio_tests {
    use super::*;

    #[test]
    fn the_target_follows_the_ratio_to_the_same_run_baseline() {
        // 150 ns over a 14 ns direct call allows a ratio of 10.7.
        let fast_machine = ratio_checked("m", 140.0, 14.0, 150.0, 1);
        assert!(fast_machine.met);
        // A slower machine: both figures doubled, the ratio unchanged.
        let slow_machine = ratio_checked("m", 280.0, 28.0, 150.0, 1);
        assert!(slow_machine.met, "{}", slow_machine.target);
        assert!(
            slow_machine.target.contains("280 ns"),
            "{}",
            slow_machine.target
        );
        // Under the absolute figure but too slow against its own baseline.
        let costly = ratio_checked("m", 140.0, 10.0, 150.0, 1);
        assert!(!costly.met, "{}", costly.target);
        // Ten calls: 1000 ns over 10 × 14 ns allows 7.1.
        assert!(ratio_checked("m", 700.0, 140.0, 1000.0, 10).met);
        assert!(!ratio_checked("m", 1100.0, 140.0, 1000.0, 10).met);
    }
}
