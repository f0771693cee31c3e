//! Pattern matching agrees with a simple reference matcher, for single
//! patterns and for the bus's trie routing among many.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use llmspell_events::{EventBus, Topic, TopicPattern, UniversalEvent};
use proptest::prelude::*;

/// Reference: dynamic programming over segments; a glob segment is compiled
/// to an anchored regex. Independent of the crate's recursive matcher and trie.
fn reference(pattern: &str, topic: &str) -> bool {
    let mut p: Vec<&str> = pattern.split('.').collect();
    // NATS: a trailing `>` is one or more segments.
    if p.last() == Some(&">") {
        *p.last_mut().unwrap() = "*";
        p.push("**");
    }
    let t: Vec<&str> = topic.split('.').collect();
    let seg_matches = |ps: &str, ts: &str| -> bool {
        if ps == "*" {
            return true;
        }
        thread_local! {
            static CACHE: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
                Default::default();
        }
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let re = c.entry(ps.to_owned()).or_insert_with(|| {
                let src = format!(
                    "^{}$",
                    ps.split('*')
                        .map(regex::escape)
                        .collect::<Vec<_>>()
                        .join("[^.]*")
                );
                regex::Regex::new(&src).unwrap()
            });
            re.is_match(ts)
        })
    };
    // dp[i][j]: p[i..] matches t[j..]
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[p.len()][t.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=t.len()).rev() {
            dp[i][j] = if p[i].chars().all(|c| c == '*') && p[i].len() >= 2 {
                dp[i + 1][j] || (j < t.len() && dp[i][j + 1])
            } else {
                j < t.len() && seg_matches(p[i], t[j]) && dp[i + 1][j + 1]
            };
        }
    }
    dp[0][0]
}

fn topic_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("ab".to_owned()),
        Just("tool".to_owned()),
        Just("calc".to_owned()),
        Just("calculator".to_owned()),
        Just("x-1".to_owned()),
        Just("agent:w".to_owned()),
    ]
}

fn pattern_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => topic_segment(),
        2 => Just("*".to_owned()),
        2 => Just("**".to_owned()),
        1 => Just("a*".to_owned()),
        1 => Just("*b".to_owned()),
        1 => Just("calc*".to_owned()),
        1 => Just("*c*".to_owned()),
        1 => Just("agent:*".to_owned()),
    ]
}

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(topic_segment(), 1..6).prop_map(|v| v.join("."))
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(pattern_segment(), 1..5),
        any::<bool>(),
    )
        .prop_map(|(v, nats)| {
            let mut p = v.join(".");
            if nats {
                p.push_str(".>");
            }
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn single_pattern_agrees_with_reference(p in pattern(), t in topic()) {
        let compiled = TopicPattern::new(&p).unwrap();
        let topic = Topic::new(&t).unwrap();
        prop_assert_eq!(compiled.matches(&topic), reference(&p, &t), "pattern {} topic {}", p, t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn bus_routing_delivers_exactly_to_matching_patterns(
        patterns in prop::collection::vec(pattern(), 1..24),
        topics in prop::collection::vec(topic(), 1..8),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let bus = EventBus::new();
            let mut subs: Vec<_> = patterns.iter().map(|p| bus.subscribe(p).unwrap()).collect();
            for t in &topics {
                let receipt = bus
                    .publish(UniversalEvent::new(Topic::new(t).unwrap(), serde_json::Value::Null))
                    .await
                    .unwrap();
                let mut got = BTreeSet::new();
                for (i, s) in subs.iter_mut().enumerate() {
                    while let Some(ev) = s.try_recv() {
                        assert_eq!(ev.event_type.as_str(), t);
                        assert!(got.insert(i), "subscription {i} got the event twice");
                    }
                }
                let want: BTreeSet<usize> = patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| reference(p, t))
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(got, want, "topic {t} patterns {patterns:?}");
                assert_eq!(receipt.delivered, want.len());
                assert_eq!(bus.has_subscribers(t), !want.is_empty());
                assert_eq!(bus.subscriber_count(t), want.len());
            }
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// The routing table is changed in place of being rebuilt: after some
    /// subscriptions end (duplicates and shared prefixes included), exactly
    /// the remaining ones still match.
    #[test]
    fn routing_stays_exact_as_subscriptions_end(
        patterns in prop::collection::vec(pattern(), 1..24),
        ending in prop::collection::vec(any::<bool>(), 24),
        topics in prop::collection::vec(topic(), 1..8),
    ) {
        let bus = EventBus::new();
        let mut subs: Vec<_> = patterns.iter().map(|p| Some(bus.subscribe(p).unwrap())).collect();
        for (sub, end) in subs.iter_mut().zip(&ending) {
            if *end {
                *sub = None;
            }
        }
        for t in &topics {
            let want = patterns
                .iter()
                .zip(&subs)
                .filter(|(p, s)| s.is_some() && reference(p, t))
                .count();
            prop_assert_eq!(bus.subscriber_count(t), want, "topic {} patterns {:?}", t, patterns);
            prop_assert_eq!(bus.has_subscribers(t), want > 0);
        }
        drop(subs);
        for t in &topics {
            prop_assert_eq!(bus.subscriber_count(t), 0);
        }
    }
}

#[test]
fn reference_agrees_with_the_documented_examples() {
    assert!(reference("tool.*.completed", "tool.calculator.completed"));
    assert!(!reference("tool.*.completed", "tool.a.b.completed"));
    assert!(reference("tool.**", "tool"));
    assert!(reference(
        "tool.calc*.completed",
        "tool.calculator.completed"
    ));
    assert!(reference("agent:*", "agent:writer"));
    assert!(reference("a.>", "a.b.c"));
    assert!(!reference("a.>", "a"));
}
