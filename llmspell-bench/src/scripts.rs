//! The script metrics of `llmspell bench`: Lua and JavaScript hooks and
//! callbacks in a [`ScriptRuntime`], and events from Lua to JavaScript.

use std::time::{Duration, Instant};

use llmspell_bridge::{RuntimeConfig, ScriptRuntime};
use llmspell_core::{ComponentId, Language};
use llmspell_hooks::{HookContext, HookPoint};
use serde_json::json;

use crate::{Error, Measurement, Result, current_thread_runtime as local_runtime, median};

/// Medians of ns per iteration of `fire` and of `direct` (the baseline),
/// interleaved over five runs in `language`; each script runs `iterations`
/// times.
fn same_thread(
    rt: &ScriptRuntime,
    language: Language,
    fire: &str,
    direct: &str,
    iterations: u32,
) -> Result<(f64, f64)> {
    let per_iteration = |source: &str| -> Result<f64> {
        let started = Instant::now();
        rt.run_source(language, "bench", source)?;
        Ok(started.elapsed().as_nanos() as f64 / f64::from(iterations))
    };
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for _ in 0..5 {
        ours.push(per_iteration(fire)?);
        base.push(per_iteration(direct)?);
    }
    Ok((median(&mut ours), median(&mut base)))
}

/// `lua.hook_same_thread_ns`: a Lua hook fired by an operation (`Hook.fire`)
/// started in the same Lua script; baseline a direct Lua call of the same
/// function with the same table. Target ≤ 3 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_hook_same_thread(iterations: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    rt.run_source(
        Language::Lua,
        "bench_setup.lua",
        r#"
        bench_hook = function(ctx) return nil end
        Hook.register("custom:bench", bench_hook, { name = "bench" })
        bench_data = { x = 1, name = "bench" }
        "#,
    )?;
    let (value, baseline) = same_thread(
        &rt,
        Language::Lua,
        &format!("for i = 1, {iterations} do Hook.fire('custom:bench', bench_data) end"),
        &format!(
            "local f, t = bench_hook, {{ data = bench_data }} for i = 1, {iterations} do f(t) end"
        ),
        iterations,
    )?;
    Ok(Measurement::new("lua.hook_same_thread_ns", value, "ns")
        .with_baseline(baseline)
        .with_target("≤ 3000 ns (direct Lua call as baseline)", value <= 3000.0))
}

/// `lua.hook_cross_thread_p50_ns`: the median latency of firing a point
/// from a Rust thread when its hook is a Lua function. Target p50 ≤ 50 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_hook_cross_thread(calls: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    rt.run_source(
        Language::Lua,
        "bench_setup.lua",
        r#"Hook.register("custom:bench", function(ctx) return nil end)"#,
    )?;
    let executor = llmspell_hooks::HookExecutor::new(rt.hooks().clone());
    let point = HookPoint::custom("bench")?;
    let local = local_runtime()?;
    let mut samples = Vec::with_capacity(calls as usize);
    local.block_on(async {
        for _ in 0..calls {
            let mut ctx =
                HookContext::new(point.clone(), ComponentId::tool("bench"), json!({ "x": 1 }));
            let started = Instant::now();
            let _ = executor.execute_point(&mut ctx).await;
            samples.push(started.elapsed().as_nanos() as f64);
        }
    });
    let value = median(&mut samples);
    Ok(
        Measurement::new("lua.hook_cross_thread_p50_ns", value, "ns")
            .with_target("p50 ≤ 50000 ns", value <= 50_000.0),
    )
}

/// `lua.publish_callback_per_s`: Lua `Event.publish` → a Lua callback in the
/// same engine, every event delivered. Target ≥ 200 K/s.
///
/// # Errors
/// When the runtime or the script fails.
pub fn lua_publish_callback(events: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    rt.run_source(
        Language::Lua,
        "bench_setup.lua",
        &format!(r#"received = 0
        Event.subscribe("bench.tick", function(ev) received = received + 1 end, {{ capacity = {events}, overflow = "block" }})"#),
    )?;
    let mut samples = delivery_rates(
        &rt,
        &format!("for i = 1, {events} do Event.publish('bench.tick', i) end"),
        events,
        |total| {
            (
                Language::Lua,
                format!("assert(received == {total}, 'received ' .. received)"),
            )
        },
    )?;
    let value = median(&mut samples);
    Ok(
        Measurement::new("lua.publish_callback_per_s", value, "per_s")
            .with_target("≥ 200 K/s", value >= 200_000.0),
    )
}

/// Events per second delivered in three rounds of `publish` (a Lua
/// script publishing `events` events), each round waiting until the runtime
/// is quiet and checking the total received with `check(total)`.
fn delivery_rates(
    rt: &ScriptRuntime,
    publish: &str,
    events: u32,
    check: impl Fn(u32) -> (Language, String),
) -> Result<Vec<f64>> {
    let mut rates = Vec::new();
    for round in 1..=3u32 {
        let started = Instant::now();
        rt.run_source(Language::Lua, "bench_publish.lua", publish)?;
        rt.wait_quiescent(Some(Duration::from_secs(60)));
        let elapsed = started.elapsed();
        let (language, source) = check(events * round);
        rt.run_source(language, "bench_check", &source)?;
        rates.push(f64::from(events) / elapsed.as_secs_f64());
    }
    Ok(rates)
}

/// `js.hook_same_thread_ns`: a JavaScript hook fired by an operation
/// (`await Hook.fire(..)`) started in the same JavaScript script; baseline a
/// direct call of the same function with the same object in the same loop.
/// Target ≤ 10 µs.
///
/// # Errors
/// When the runtime or the script fails.
pub fn js_hook_same_thread(iterations: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    rt.run_source(
        Language::Javascript,
        "bench_setup.js",
        r#"
        globalThis.benchHook = (ctx) => undefined;
        Hook.register("custom:bench", benchHook, { name: "bench" });
        globalThis.benchData = { x: 1, name: "bench" };
        "#,
    )?;
    let (value, baseline) = same_thread(
        &rt,
        Language::Javascript,
        &format!(
            "for (let i = 0; i < {iterations}; i++) await Hook.fire('custom:bench', benchData);"
        ),
        &format!(
            "const f = benchHook, t = {{ data: benchData }}; for (let i = 0; i < {iterations}; i++) await f(t);"
        ),
        iterations,
    )?;
    Ok(Measurement::new("js.hook_same_thread_ns", value, "ns")
        .with_baseline(baseline)
        .with_target(
            "≤ 10000 ns (direct boa call as baseline)",
            value <= 10_000.0,
        ))
}

/// `xlang.lua_to_js_per_s`: events published by a Lua script delivered to
/// a JavaScript subscriber, counted once all have arrived; plus the median
/// latency of a Lua → JavaScript hop, measured as Lua publish → JS callback
/// → JS publish → host receive (an upper bound of the one-way hop). Target
/// ≥ 50 K/s with p50 ≤ 1 ms.
///
/// # Errors
/// When the runtime or the script fails.
pub fn xlang_lua_to_js(events: u32) -> Result<Measurement> {
    let rt = ScriptRuntime::new(RuntimeConfig::default())?;
    rt.run_source(
        Language::Javascript,
        "bench_setup.js",
        &format!(
            r#"
            globalThis.received = 0;
            Event.subscribe("bench.xlang", (ev) => {{ received++; }}, {{ capacity: {events}, overflow: "block" }});
            Event.subscribe("bench.ping", (ev) => Event.publish("bench.pong", {{ sent: ev.timestamp }}));
            "#
        ),
    )?;
    let mut rates = delivery_rates(
        &rt,
        &format!("for i = 1, {events} do Event.publish('bench.xlang', i) end"),
        events,
        |total| {
            (
                Language::Javascript,
                format!("if (received !== {total}) throw new Error('received ' + received);"),
            )
        },
    )?;
    let value = median(&mut rates);
    let latency = xlang_latency(&rt, 200)?;
    let met = value >= 50_000.0 && latency <= 1_000_000.0;
    Ok(
        Measurement::new("xlang.lua_to_js_per_s", value, "per_s").with_target(
            format!(
                "≥ 50 K/s and p50 latency ≤ 1 ms (measured p50 {:.0} µs)",
                latency / 1000.0
            ),
            met,
        ),
    )
}

/// The median of `samples` Lua → JS → host hops, in nanoseconds.
fn xlang_latency(rt: &ScriptRuntime, samples: u32) -> Result<f64> {
    let bus = rt.bus().clone();
    let local = local_runtime()?;
    let mut sub = {
        let _guard = local.enter();
        bus.subscribe("bench.pong")
            .map_err(|e| Error::Workload(format!("cannot subscribe to bench.pong: {e}")))?
    };
    let mut hops = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        rt.run_source(
            Language::Lua,
            "bench_ping.lua",
            "Event.publish('bench.ping', 1)",
        )?;
        let pong = local.block_on(sub.recv_timeout(Duration::from_secs(5)));
        let Some(pong) = pong else { continue };
        let sent = pong
            .data
            .get("sent")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        if let Some(sent) = sent {
            let hop = llmspell_core::clock::now_utc().signed_duration_since(sent);
            hops.push(hop.num_nanoseconds().unwrap_or(i64::MAX) as f64);
        }
    }
    if hops.is_empty() {
        return Err(Error::Workload(
            "no pong arrived from the JavaScript subscriber".into(),
        ));
    }
    Ok(median(&mut hops))
}
