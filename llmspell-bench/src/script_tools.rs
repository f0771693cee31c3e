//! The script tool metrics of `llmspell bench`: `Tool.invoke` from Lua and
//! JavaScript against the tool called directly, what a Lua hook adds to
//! such a call, and how much CPU a loop of calls burns per second of wall
//! time.
//!
//! - `lua.tool_invoke_us`: Lua `Tool.invoke("calculator", …)`, wall time
//!   per call; target ≤ 2× the direct `Tool::execute` + 2 µs.
//! - `lua.tool_invoke_cpu_ratio`: process CPU time over wall time across
//!   the same loops; target ≤ 1.2 (no second core spinning).
//! - `lua.tool_hook_added_us`: wall time a Lua hook adds to a Lua
//!   `Tool.invoke`; target ≤ 3 µs per hook.
//! - `js.tool_invoke_us`: JavaScript `await Tool.invoke("calculator", …)`;
//!   target ≤ 3× the direct call + 5 µs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use llmspell_bridge::{RuntimeConfig, ScriptRuntime};
use llmspell_core::{ExecutionContext, Language, Tool};
use llmspell_tools::utility::Calculator;
use serde_json::json;

use crate::{Measurement, Result, current_thread_runtime, median};

const RUNS: usize = 5;

/// The Lua loop of `calls` calculator calls.
fn lua_loop(calls: u32) -> String {
    format!(
        "local p = {{ expression = '2 + 2 * x', variables = {{ x = 3 }} }} \
         for i = 1, {calls} do Tool.invoke('calculator', p) end"
    )
}

/// The JavaScript loop of `calls` calculator calls.
fn js_loop(calls: u32) -> String {
    format!(
        "const p = {{ expression: '2 + 2 * x', variables: {{ x: 3 }} }}; \
         for (let i = 0; i < {calls}; i++) await Tool.invoke('calculator', p);"
    )
}

/// The median µs per call of a direct `Calculator::execute` with the
/// parameters of the loops, over `calls` calls.
fn direct_us(calls: u32) -> Result<f64> {
    let rt = current_thread_runtime()?;
    let tool = Calculator::new();
    let params = json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } });
    let exec = ExecutionContext::native();
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..calls {
                black_box(tool.execute(params.clone(), &exec).await.is_ok());
            }
        });
        samples.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(calls));
    }
    Ok(median(&mut samples))
}

/// One timed run of `source`: (µs per call, CPU time, wall time).
fn timed(
    rt: &ScriptRuntime,
    language: Language,
    source: &str,
    calls: u32,
) -> Result<(f64, Duration, Duration)> {
    let cpu = crate::cpu::process();
    let started = Instant::now();
    rt.run_source(language, "bench_tools", source)?;
    let wall = started.elapsed();
    let cpu = crate::cpu::process().saturating_sub(cpu);
    Ok((wall.as_secs_f64() * 1e6 / f64::from(calls), cpu, wall))
}

/// The hooks on the measured calls.
#[derive(Clone, Copy, PartialEq)]
enum Hooks {
    None,
    /// A no-op Lua hook at `BeforeToolExecution` and one at
    /// `AfterToolExecution`: called on the Lua engine's own thread.
    Lua,
    /// A no-op JavaScript hook at `BeforeToolExecution`: every call crosses
    /// to the JavaScript engine's thread and back.
    Js,
}

/// A runtime with the default configuration and `hooks`.
fn lua_runtime(hooks: Hooks) -> Result<ScriptRuntime> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    match hooks {
        Hooks::None => {}
        Hooks::Lua => rt.run_source(
            Language::Lua,
            "bench_setup.lua",
            "Hook.register('BeforeToolExecution', function(ctx) return nil end) \
             Hook.register('AfterToolExecution', function(ctx) return nil end)",
        )?,
        Hooks::Js => rt.run_source(
            Language::Javascript,
            "bench_setup.js",
            "Hook.register('BeforeToolExecution', (ctx) => undefined);",
        )?,
    }
    Ok(rt)
}

/// `lua.tool_invoke_us`: wall µs per Lua `Tool.invoke("calculator", …)`
/// with no hooks; baseline a direct `Tool::execute` with the same
/// parameters, in the same run. Target ≤ 2× direct + 2 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_tool_invoke(calls: u32) -> Result<Measurement> {
    let rt = lua_runtime(Hooks::None)?;
    against_direct(
        &rt,
        Language::Lua,
        &lua_loop(calls),
        calls,
        ("lua.tool_invoke_us", 2.0, 2.0),
    )
}

/// Wall µs per call of `source` (a loop of `calls` calculator calls in
/// `language`) against a direct `Tool::execute`, interleaved run by run;
/// met when the calls take at most `factor` × direct + `slack` µs.
fn against_direct(
    rt: &ScriptRuntime,
    language: Language,
    source: &str,
    calls: u32,
    (metric, factor, slack): (&'static str, f64, f64),
) -> Result<Measurement> {
    let mut samples = Vec::with_capacity(RUNS);
    let mut direct = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        samples.push(timed(rt, language, source, calls)?.0);
        direct.push(direct_us(calls)?);
    }
    let value = median(&mut samples);
    let direct = median(&mut direct);
    let allowed = factor * direct + slack;
    Ok(Measurement::new(metric, value, "us")
        .with_baseline(direct)
        .with_target(
            format!(
                "≤ {factor}× direct + {slack} µs ({allowed:.1} µs here; direct {direct:.2} µs)"
            ),
            value <= allowed,
        ))
}

/// `lua.tool_invoke_cpu_ratio`: the process's CPU time over wall time
/// across loops of Lua `Tool.invoke`: with no hooks, with a Lua hook before
/// and after, and with a JavaScript hook before (each call crosses threads
/// twice); the largest of the three. Target ≤ 1.2.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_tool_invoke_cpu(calls: u32) -> Result<Measurement> {
    let mut ratios = Vec::new();
    for hooks in [Hooks::None, Hooks::Lua, Hooks::Js] {
        let rt = lua_runtime(hooks)?;
        // Calls that cross threads are slower; a fifth as many take as long.
        let calls = if hooks == Hooks::Js { calls / 5 } else { calls };
        let source = lua_loop(calls);
        // One run unmeasured: the engine and its allocator warm up.
        timed(&rt, Language::Lua, &source, calls)?;
        let mut cpu = Duration::ZERO;
        let mut wall = Duration::ZERO;
        for _ in 0..RUNS {
            let (_, c, w) = timed(&rt, Language::Lua, &source, calls)?;
            cpu += c;
            wall += w;
        }
        ratios.push(cpu.as_secs_f64() / wall.as_secs_f64());
    }
    let value = ratios.iter().copied().fold(0.0, f64::max);
    Ok(
        Measurement::new("lua.tool_invoke_cpu_ratio", value, "ratio").with_target(
            format!(
                "≤ 1.2 (no hooks {:.2}, a Lua hook before and after {:.2}, a JavaScript \
                 hook before {:.2})",
                ratios[0], ratios[1], ratios[2]
            ),
            value <= 1.2,
        ),
    )
}

/// `lua.tool_hook_added_us`: the wall µs a Lua hook adds to a Lua
/// `Tool.invoke`, from loops with a no-op Lua hook before and after the
/// call against loops with none, interleaved; the added time over two.
/// Target ≤ 3 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_tool_hook_added(calls: u32) -> Result<Measurement> {
    let bare = lua_runtime(Hooks::None)?;
    let hooked = lua_runtime(Hooks::Lua)?;
    let source = lua_loop(calls);
    let mut added = Vec::with_capacity(RUNS);
    let mut base = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let without = timed(&bare, Language::Lua, &source, calls)?.0;
        let with = timed(&hooked, Language::Lua, &source, calls)?.0;
        added.push((with - without) / 2.0);
        base.push(without);
    }
    let value = median(&mut added);
    let base = median(&mut base);
    Ok(Measurement::new("lua.tool_hook_added_us", value, "us")
        .with_baseline(base)
        .with_target(
            format!("≤ 3 µs per hook (no hooks {base:.2} µs per call)"),
            value <= 3.0,
        ))
}

/// `js.tool_invoke_us`: wall µs per JavaScript
/// `await Tool.invoke("calculator", …)` with no hooks; baseline a direct
/// `Tool::execute`. Target ≤ 3× direct + 5 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn js_tool_invoke(calls: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    against_direct(
        &rt,
        Language::Javascript,
        &js_loop(calls),
        calls,
        ("js.tool_invoke_us", 3.0, 5.0),
    )
}
