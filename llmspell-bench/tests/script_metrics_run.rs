//! The script metrics of `llmspell bench` run end to end (tiny counts; the
//! figures themselves are checked by the bench command, not here).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_bench::scripts;

fn check(m: &llmspell_bench::Measurement, metric: &str) {
    assert_eq!(m.metric, metric);
    assert!(
        m.value.is_finite() && m.value > 0.0,
        "{metric}: {}",
        m.value
    );
}

#[test]
fn every_script_metric_runs_and_reports_a_value() {
    check(
        &scripts::lua_hook_same_thread(50).unwrap(),
        "lua.hook_same_thread_ns",
    );
    check(
        &scripts::lua_hook_cross_thread(50).unwrap(),
        "lua.hook_cross_thread_p50_ns",
    );
    check(
        &scripts::lua_publish_callback(200).unwrap(),
        "lua.publish_callback_per_s",
    );
    let js = scripts::js_hook_same_thread(50).unwrap();
    check(&js, "js.hook_same_thread_ns");
    assert!(js.baseline.is_some_and(|b| b > 0.0));
    let x = scripts::xlang_lua_to_js(200).unwrap();
    check(&x, "xlang.lua_to_js_per_s");
    assert!(x.target.contains("measured p50"), "{}", x.target);
}

#[test]
fn the_script_tool_metrics_run_and_report_their_baselines() {
    use llmspell_bench::script_tools;
    let lua = script_tools::lua_tool_invoke(200).unwrap();
    check(&lua, "lua.tool_invoke_us");
    assert!(lua.baseline.is_some_and(|b| b > 0.0));
    let js = script_tools::js_tool_invoke(50).unwrap();
    check(&js, "js.tool_invoke_us");
    assert!(js.baseline.is_some_and(|b| b > 0.0));
    // Tiny loops: the figures are noise, but each must be measured.
    let cpu = script_tools::lua_tool_invoke_cpu(200).unwrap();
    assert_eq!(cpu.metric, "lua.tool_invoke_cpu_ratio");
    assert!(cpu.value.is_finite(), "{cpu:?}");
    assert!(
        cpu.target.contains("a JavaScript hook before"),
        "{}",
        cpu.target
    );
    let added = script_tools::lua_tool_hook_added(200).unwrap();
    assert_eq!(added.metric, "lua.tool_hook_added_us");
    assert!(added.value.is_finite() && added.baseline.is_some_and(|b| b > 0.0));
}
