//! The `llmspell bench` hook metrics run and report the documented ids.
//! (Figures are judged by `llmspell bench` on release builds, not here.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_bench::hooks;

#[test]
fn every_hook_metric_runs_at_small_sizes() {
    let results = [
        hooks::empty_point(1_000).unwrap(),
        hooks::one_hook(1_000).unwrap(),
        hooks::ten_hooks(1_000).unwrap(),
        hooks::register(50),
        hooks::breaker_trip_calls().unwrap(),
    ];
    let ids: Vec<&str> = results.iter().map(|m| m.metric.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hooks.empty_point_ns",
            "hooks.one_hook_ns",
            "hooks.ten_hooks_ns",
            "hooks.register_ns",
            "hooks.breaker_trip_calls"
        ]
    );
    assert!(results.iter().all(|m| m.value.is_finite() && m.value > 0.0));
    assert!(
        results[4].value <= 20.0,
        "the breaker logic itself is not a timing question"
    );
}
