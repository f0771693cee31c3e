//! The `llmspell bench` tool metrics run and report the documented ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn tool_metrics_run_at_small_sizes() {
    let a = llmspell_bench::tools::overhead_no_hooks(200).unwrap();
    let b = llmspell_bench::tools::overhead_two_hooks(200).unwrap();
    assert_eq!(a.metric, "tools.overhead_pct_no_hooks");
    assert_eq!(b.metric, "tools.overhead_pct_two_hooks");
    assert!(a.value.is_finite() && b.value.is_finite());
    assert!(a.baseline.unwrap() > 0.0);
}
