//! The `llmspell bench` agent metric runs and reports its id, unit and
//! baseline (tiny counts; the figure is judged by `llmspell bench`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_bench::agents;

#[test]
fn the_metric_has_its_id_unit_and_baseline() {
    let m = agents::lifecycle_overhead_with(50).unwrap();
    assert_eq!(m.metric, "agents.lifecycle_overhead_pct");
    assert_eq!(m.unit, "pct");
    assert!(m.baseline.is_some_and(|b| b > 0.0));
    assert!(m.value.is_finite());
    assert!(m.target.contains("direct handler"), "{}", m.target);
}

#[test]
fn the_llm_metric_calls_a_loopback_server_through_the_agent_and_the_provider() {
    let m = llmspell_bench::llm::llm_overhead(3).unwrap();
    assert_eq!(m.metric, "agents.llm_overhead_pct");
    assert_eq!(m.unit, "pct");
    // Both sides made real HTTP calls: each takes at least a microsecond.
    assert!(m.baseline.is_some_and(|b| b > 1000.0), "{m:?}");
    assert!(m.value.is_finite());
    assert!(m.target.contains("provider call"), "{}", m.target);
}
