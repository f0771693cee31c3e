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
