//! The `llmspell bench` event metrics run and report the documented ids.
//! (Figures are checked by `llmspell bench`, not here: debug builds on shared
//! machines say nothing about speed.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_bench::events;

#[test]
fn every_event_metric_runs_at_small_sizes() {
    let results = [
        events::publish_no_sub(1_000).unwrap(),
        events::one_sub(1_000).unwrap(),
        events::four_sub(1_000).unwrap(),
        events::route_1000(1_000).unwrap(),
        events::persist_sled(1_000).unwrap(),
        events::stalled_subscriber_memory(10_000).unwrap(),
    ];
    let ids: Vec<&str> = results.iter().map(|m| m.metric.as_str()).collect();
    assert_eq!(
        ids,
        [
            "events.publish_no_sub_per_s",
            "events.one_sub_per_s",
            "events.four_sub_per_s",
            "events.route_1000_ns",
            "persist.sled_per_s",
            "memory.stalled_sub_mb",
        ]
    );
    for m in &results[..5] {
        assert!(m.value.is_finite() && m.value > 0.0, "{m:?}");
        assert!(!m.target.is_empty());
    }
    assert!(results[1].baseline.unwrap() > 0.0 && results[1].ratio.is_some());
}
