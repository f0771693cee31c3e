//! Batched, filtered and throttled event streams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use llmspell_events::{EventBus, EventStreamExt, Topic, UniversalEvent};
use serde_json::json;

fn ev(i: i64) -> UniversalEvent {
    UniversalEvent::new(Topic::new("s.x").unwrap(), json!(i))
}

#[tokio::test]
async fn batched_streams_emit_full_and_timed_out_batches() {
    let bus = EventBus::new();
    let mut batches = bus
        .subscribe("s.*")
        .unwrap()
        .batched(4, Duration::from_millis(30));
    for i in 0..10 {
        bus.publish(ev(i)).await.unwrap();
    }
    let sizes: Vec<usize> = vec![
        batches.next().await.unwrap().len(),
        batches.next().await.unwrap().len(),
        batches.next().await.unwrap().len(),
    ];
    assert_eq!(
        sizes,
        [4, 4, 2],
        "the last, partial batch comes after the timeout"
    );
}

#[tokio::test]
async fn filtered_streams_keep_only_matching_events() {
    let bus = EventBus::new();
    let mut evens = bus
        .subscribe("s.*")
        .unwrap()
        .filtered(|e| e.data.as_i64().unwrap() % 2 == 0);
    for i in 0..6 {
        bus.publish(ev(i)).await.unwrap();
    }
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(evens.next().await.unwrap().data.as_i64().unwrap());
    }
    assert_eq!(out, [0, 2, 4]);
}

#[tokio::test]
async fn throttled_streams_space_out_events_without_losing_them() {
    let bus = EventBus::new();
    let mut slow = bus
        .subscribe("s.*")
        .unwrap()
        .throttled(Duration::from_millis(20));
    for i in 0..4 {
        bus.publish(ev(i)).await.unwrap();
    }
    let started = Instant::now();
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push(slow.next().await.unwrap().data.as_i64().unwrap());
    }
    assert_eq!(out, [0, 1, 2, 3]);
    assert!(
        started.elapsed() >= Duration::from_millis(55),
        "{:?}",
        started.elapsed()
    );
}
