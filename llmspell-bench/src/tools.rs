//! The tool metrics of `llmspell bench`: guarded calls against direct calls.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use llmspell_core::{ExecutionContext, Tool};
use llmspell_hooks::{GuardedRunner, HookExecutor, HookPoint, HookRegistry};
use llmspell_tools::ToolRegistry;
use llmspell_tools::utility::Calculator;
use serde_json::{Value, json};

use crate::hooks::NoopHook;
use crate::{Measurement, Result, current_thread_runtime as runtime, median};

const RUNS: usize = 7;

fn params() -> Value {
    json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } })
}

/// Median ns per call of (direct `Tool::execute`, guarded `invoke`), the two
/// interleaved run by run so machine noise hits both alike.
fn measure(hooks: usize, iters: u32) -> Result<(f64, f64)> {
    let rt = runtime()?;
    let registry = HookRegistry::new();
    for i in 0..hooks {
        let point = if i % 2 == 0 {
            HookPoint::BeforeToolExecution
        } else {
            HookPoint::AfterToolExecution
        };
        registry.register(point, NoopHook).forget();
    }
    let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(registry)));
    let calculator = Arc::new(Calculator::new());
    tools.register(calculator.clone())?;
    let exec = ExecutionContext::native();
    let p = params();
    let mut direct = Vec::with_capacity(RUNS);
    let mut guarded = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                let out = calculator.execute(p.clone(), &exec).await;
                black_box(&out);
            }
        });
        direct.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                let out = tools.invoke("calculator", p.clone(), &exec).await;
                black_box(&out);
            }
        });
        guarded.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    Ok((median(&mut direct), median(&mut guarded)))
}

/// `tools.overhead_pct_no_hooks`: a guarded calculator call (registry lookup,
/// schema validation, security and size checks, counters, the eight points
/// with no hooks) against a direct `Tool::execute`. Target ≤ 1%.
///
/// # Errors
/// When no runtime can be started.
pub fn overhead_no_hooks(iters: u32) -> Result<Measurement> {
    let (direct, guarded) = measure(0, iters)?;
    let pct = (guarded / direct - 1.0) * 100.0;
    Ok(Measurement::new("tools.overhead_pct_no_hooks", pct, "pct")
        .with_baseline(direct)
        .with_target(
            format!("≤ 1% (direct {direct:.0} ns, guarded {guarded:.0} ns)"),
            pct <= 1.0,
        ))
}

/// `tools.overhead_pct_two_hooks`: as above with two no-op hooks (one Before,
/// one After). Target ≤ 5%.
///
/// # Errors
/// When no runtime can be started.
pub fn overhead_two_hooks(iters: u32) -> Result<Measurement> {
    let (direct, guarded) = measure(2, iters)?;
    let pct = (guarded / direct - 1.0) * 100.0;
    Ok(Measurement::new("tools.overhead_pct_two_hooks", pct, "pct")
        .with_baseline(direct)
        .with_target(
            format!("≤ 5% (direct {direct:.0} ns, guarded {guarded:.0} ns)"),
            pct <= 5.0,
        ))
}
