//! Script hooks and cross-language events: a hook fired by an operation
//! started in the same script (Lua and JavaScript, each against a direct
//! call of the same function in the same language), and Lua → JavaScript
//! event delivery.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bridge::{RuntimeConfig, ScriptRuntime};
use llmspell_core::Language;

fn timed(rt: &ScriptRuntime, language: Language, source: &str) -> Duration {
    let started = Instant::now();
    rt.run_source(language, "bench", source).unwrap();
    started.elapsed()
}

fn same_thread_hooks(c: &mut Criterion) {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    rt.run_source(
        Language::Lua,
        "setup.lua",
        r#"lua_hook = function(ctx) return nil end
        Hook.register("custom:lua_bench", lua_hook)
        lua_data = { x = 1, name = "bench" }"#,
    )
    .unwrap();
    rt.run_source(
        Language::Javascript,
        "setup.js",
        r#"globalThis.jsHook = (ctx) => undefined;
        Hook.register("custom:js_bench", jsHook);
        globalThis.jsData = { x: 1, name: "bench" };"#,
    )
    .unwrap();
    let mut g = c.benchmark_group("same_thread_hook");
    g.bench_function("lua_direct_call", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                Language::Lua,
                &format!("local f, t = lua_hook, {{ data = lua_data }} for i = 1, {n} do f(t) end"),
            )
        })
    });
    g.bench_function("lua_hook_fire", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                Language::Lua,
                &format!("for i = 1, {n} do Hook.fire('custom:lua_bench', lua_data) end"),
            )
        })
    });
    g.bench_function("js_direct_call", |b| {
        b.iter_custom(|n| {
            timed(&rt, Language::Javascript, &format!("const f = jsHook, t = {{ data: jsData }}; for (let i = 0; i < {n}; i++) await f(t);"))
        })
    });
    g.bench_function("js_hook_fire", |b| {
        b.iter_custom(|n| {
            timed(
                &rt,
                Language::Javascript,
                &format!(
                    "for (let i = 0; i < {n}; i++) await Hook.fire('custom:js_bench', jsData);"
                ),
            )
        })
    });
    g.finish();
}

fn lua_to_js_events(c: &mut Criterion) {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    rt.run_source(
        Language::Javascript,
        "setup.js",
        r#"Event.subscribe("bench.xlang", (ev) => {}, { capacity: 100000, overflow: "block" });"#,
    )
    .unwrap();
    c.bench_function("lua_to_js_event", |b| {
        b.iter_custom(|n| {
            let started = Instant::now();
            rt.run_source(
                Language::Lua,
                "p.lua",
                &format!("for i = 1, {n} do Event.publish('bench.xlang', i) end"),
            )
            .unwrap();
            rt.wait_quiescent(Some(Duration::from_secs(60)));
            started.elapsed()
        })
    });
}

criterion_group!(benches, same_thread_hooks, lua_to_js_events);
criterion_main!(benches);
