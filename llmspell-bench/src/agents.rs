//! The agent metric of `llmspell bench`: what the lifecycle's hook points
//! cost when no-op hooks sit on every one of them.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use llmspell_agents::{AgentConfig, AgentRuntime, BasicAgent, handler_fn};
use llmspell_core::ExecutionContext;
use llmspell_hooks::{GuardedRunner, HookExecutor, HookPoint, HookRegistry};
use llmspell_tools::ToolRegistry;
use llmspell_tools::utility::Calculator;
use serde_json::{Value, json};

use crate::hooks::NoopHook;
use crate::{Measurement, Result, current_thread_runtime, median};

const RUNS: usize = 7;
const ITERS: u32 = 20_000;

/// The ten agent hook points.
pub const AGENT_POINTS: [HookPoint; 10] = [
    HookPoint::BeforeAgentInit,
    HookPoint::AfterAgentInit,
    HookPoint::BeforeAgentExecution,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentPaused,
    HookPoint::AgentResumed,
    HookPoint::AgentError,
    HookPoint::AgentRecovering,
    HookPoint::BeforeAgentShutdown,
    HookPoint::AfterAgentShutdown,
];

/// The input every measured call gets.
pub fn input() -> Value {
    json!({ "text": "hello" })
}

/// The trivial work measured: the input back, as the handler of
/// [`trivial_agent`] returns it.
pub fn trivial_work(input: Value) -> BoxFuture<'static, llmspell_core::Result<Value>> {
    Box::pin(async move { Ok(input) })
}

/// A runtime whose hook registry holds one no-op hook on each agent point
/// when `hooked`, none otherwise; the `calculator` tool; no event bus.
pub fn runtime(hooked: bool) -> AgentRuntime {
    let hooks = HookRegistry::new();
    if hooked {
        for p in AGENT_POINTS {
            hooks.register(p, NoopHook).forget();
        }
    }
    let runner = GuardedRunner::new(HookExecutor::new(hooks));
    let tools = ToolRegistry::new(runner.clone());
    if let Err(e) = tools.register(Arc::new(Calculator::new())) {
        tracing::warn!(error = %e, "the calculator tool could not be registered");
    }
    // The tools run over the same runner, so this builds.
    AgentRuntime::builder()
        .runner(runner)
        .tools(tools)
        .build()
        .unwrap_or_default()
}

/// A basic agent named `calc` whose handler makes one `calculator` call
/// (`2 + 2 * x`, x = 3) through its context: a small piece of real work.
///
/// # Errors
/// Only if the runtime already holds a live agent named `calc`.
pub fn tool_agent(runtime: &AgentRuntime) -> llmspell_agents::Result<BasicAgent> {
    runtime.basic(
        AgentConfig::basic("calc"),
        handler_fn(|_input, cx| async move {
            cx.invoke_tool(
                "calculator",
                json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } }),
            )
            .await
        }),
    )
}

/// A basic agent named `bench` whose handler is [`trivial_work`].
///
/// # Errors
/// Only if the runtime already holds a live agent named `bench`.
pub fn trivial_agent(runtime: &AgentRuntime) -> llmspell_agents::Result<BasicAgent> {
    runtime.basic(
        AgentConfig::basic("bench"),
        handler_fn(|input, _cx| trivial_work(input)),
    )
}

/// Median ns per call of the direct work, the invocation with no hooks and
/// the invocation with no-op hooks on every agent point; interleaved run by
/// run so machine noise hits all three alike.
///
/// # Errors
/// When no runtime can be started or an invocation fails.
pub fn measure(iters: u32) -> Result<(f64, f64, f64)> {
    let rt = current_thread_runtime()?;
    let exec = ExecutionContext::native();
    let plain_rt = runtime(false);
    let hooked_rt = runtime(true);
    let plain = trivial_agent(&plain_rt)?;
    let hooked = trivial_agent(&hooked_rt)?;
    let work: Arc<dyn Fn(Value) -> BoxFuture<'static, llmspell_core::Result<Value>> + Send + Sync> =
        Arc::new(trivial_work);
    let p = input();
    rt.block_on(async {
        plain.initialize(&exec).await?;
        hooked.initialize(&exec).await?;
        Ok::<_, llmspell_agents::Error>(())
    })?;
    let time = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let started = Instant::now();
        f()?;
        Ok(started.elapsed().as_nanos() as f64 / f64::from(iters.max(1)))
    };
    let (mut direct, mut bare, mut noop) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        direct.push(time(&|| {
            rt.block_on(async {
                for _ in 0..iters {
                    black_box(work(p.clone()).await?);
                }
                Ok(())
            })
        })?);
        bare.push(time(&|| {
            rt.block_on(async {
                for _ in 0..iters {
                    black_box(plain.invoke(p.clone(), &exec).await?);
                }
                Ok(())
            })
        })?);
        noop.push(time(&|| {
            rt.block_on(async {
                for _ in 0..iters {
                    black_box(hooked.invoke(p.clone(), &exec).await?);
                }
                Ok(())
            })
        })?);
    }
    Ok((median(&mut direct), median(&mut bare), median(&mut noop)))
}

/// `agents.lifecycle_overhead_pct`: a basic agent with a trivial handler
/// (it returns its input) invoked through the lifecycle with a no-op hook
/// on each of the ten agent points, against the same invocation with no
/// hooks registered (the baseline, in ns). Reported only: a handler that
/// does nothing makes any guard look large; `agents.llm_overhead_pct`
/// judges the lifecycle on a model call.
///
/// With a trivial handler the ratio is dominated by the fixed cost of the
/// two hook points an invocation fires (`BeforeAgentExecution`,
/// `AfterAgentExecution`); the target text also reports the direct handler
/// call, so the absolute cost per invocation can be read off.
///
/// # Errors
/// When no runtime can be started or an invocation fails.
pub fn lifecycle_overhead() -> Result<Measurement> {
    lifecycle_overhead_with(ITERS)
}

/// [`lifecycle_overhead`] with `iters` calls per run.
///
/// # Errors
/// As [`lifecycle_overhead`].
pub fn lifecycle_overhead_with(iters: u32) -> Result<Measurement> {
    let (direct, bare, noop) = measure(iters)?;
    let pct = (noop / bare - 1.0) * 100.0;
    Ok(
        Measurement::new("agents.lifecycle_overhead_pct", pct, "pct")
            .with_baseline(bare)
            .with_target(
                format!(
                    "report only (no hooks {bare:.0} ns, no-op hooks on every agent point \
                     {noop:.0} ns, direct handler {direct:.0} ns); judged by \
                     agents.llm_overhead_pct"
                ),
                true,
            ),
    )
}
