//! `llmspell bench`: the fixed performance suite of PERFORMANCE.md.

use std::process::ExitCode;
use std::time::Instant;

use llmspell_core::Measurement;

type Run = Box<dyn Fn() -> anyhow::Result<Measurement>>;

fn suite() -> Vec<(&'static str, Run)> {
    use llmspell_bridge::perf as scripts;
    use llmspell_events::perf as events;
    use llmspell_hooks::perf as hooks;
    use llmspell_tools::perf as tools;
    vec![
        (
            "hooks.empty_point_ns",
            Box::new(|| Ok(hooks::empty_point(2_000_000)?)),
        ),
        (
            "hooks.one_hook_ns",
            Box::new(|| Ok(hooks::one_hook(1_000_000)?)),
        ),
        (
            "hooks.ten_hooks_ns",
            Box::new(|| Ok(hooks::ten_hooks(200_000)?)),
        ),
        (
            "tools.overhead_pct_no_hooks",
            Box::new(|| Ok(tools::overhead_no_hooks(20_000)?)),
        ),
        (
            "tools.overhead_pct_two_hooks",
            Box::new(|| Ok(tools::overhead_two_hooks(20_000)?)),
        ),
        (
            "agents.lifecycle_overhead_pct",
            Box::new(|| Ok(llmspell_agents::perf::lifecycle_overhead()?)),
        ),
        ("hooks.register_ns", Box::new(|| Ok(hooks::register(2_000)))),
        (
            "events.publish_no_sub_per_s",
            Box::new(|| Ok(events::publish_no_sub(1_000_000)?)),
        ),
        (
            "events.one_sub_per_s",
            Box::new(|| Ok(events::one_sub(200_000)?)),
        ),
        (
            "events.four_sub_per_s",
            Box::new(|| Ok(events::four_sub(200_000)?)),
        ),
        (
            "events.route_1000_ns",
            Box::new(|| Ok(events::route_1000(500_000)?)),
        ),
        (
            "lua.hook_same_thread_ns",
            Box::new(|| Ok(scripts::lua_hook_same_thread(20_000)?)),
        ),
        (
            "lua.hook_cross_thread_p50_ns",
            Box::new(|| Ok(scripts::lua_hook_cross_thread(5_000)?)),
        ),
        (
            "lua.publish_callback_per_s",
            Box::new(|| Ok(scripts::lua_publish_callback(50_000)?)),
        ),
        (
            "js.hook_same_thread_ns",
            Box::new(|| Ok(scripts::js_hook_same_thread(5_000)?)),
        ),
        (
            "xlang.lua_to_js_per_s",
            Box::new(|| Ok(scripts::xlang_lua_to_js(20_000)?)),
        ),
        (
            "persist.sled_per_s",
            Box::new(|| Ok(events::persist_sled(100_000)?)),
        ),
        (
            "memory.stalled_sub_mb",
            Box::new(|| Ok(events::stalled_subscriber_memory(1_000_000)?)),
        ),
        (
            "hooks.breaker_trip_calls",
            Box::new(|| Ok(hooks::breaker_trip_calls()?)),
        ),
    ]
}

fn line(m: &Measurement) -> String {
    let ratio = m
        .ratio
        .map(|r| format!(" ratio {r:.2}"))
        .unwrap_or_default();
    let baseline = m
        .baseline
        .map(|b| format!(" baseline {b:.1}"))
        .unwrap_or_default();
    format!(
        "{:<30} {:>14.1} {:<6}{baseline}{ratio}  target {}  {}",
        m.metric,
        m.value,
        m.unit,
        m.target,
        if m.met { "met" } else { "NOT MET" }
    )
}

pub(crate) fn run(json: bool, only: &[String]) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!("llmspell bench: this is a debug build; figures mean little (use --release)");
    }
    let selected: Vec<_> = suite()
        .into_iter()
        .filter(|(id, _)| only.is_empty() || only.iter().any(|p| id.starts_with(p.as_str())))
        .collect();
    if selected.is_empty() {
        let ids: Vec<_> = suite().into_iter().map(|(id, _)| id).collect();
        anyhow::bail!(
            "no metric id starts with {}; the ids are: {}",
            only.join(" or "),
            ids.join(", ")
        );
    }
    let started = Instant::now();
    let mut results = Vec::new();
    for (id, run) in selected {
        let t = Instant::now();
        let m = match run() {
            Ok(m) => m,
            Err(e) => Measurement::new(id, f64::NAN, "ns")
                .with_target(format!("failed to run: {e:#}"), false),
        };
        eprintln!("[{:>5.1}s] {}", t.elapsed().as_secs_f64(), line(&m));
        results.push(m);
    }
    eprintln!(
        "{} of {} targets met in {:.1} s",
        results.iter().filter(|m| m.met).count(),
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if json {
        out!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for m in &results {
            out!("{}", line(m));
        }
    }
    Ok(ExitCode::SUCCESS)
}
