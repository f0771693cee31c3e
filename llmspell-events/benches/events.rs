//! Event bus benchmarks. Each group carries its same-run baseline.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use llmspell_bench::events::thousand_patterns;
use llmspell_events::{
    EventBus, EventStore, SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use llmspell_storage::SledBackend;

fn topic() -> Topic {
    Topic::new("tool.calculator.completed").unwrap()
}

fn publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("events/publish");
    let t = topic();
    let bus = EventBus::new();
    g.bench_function("no_subscriber", |b| {
        b.iter(|| {
            black_box(
                bus.try_publish(UniversalEvent::new(t.clone(), 1.into()))
                    .unwrap(),
            )
        })
    });
    let bus = EventBus::new();
    let mut sub = bus.subscribe("tool.*.completed").unwrap();
    g.bench_function("one_subscriber_publish_and_receive", |b| {
        b.iter(|| {
            bus.try_publish(UniversalEvent::new(t.clone(), 1.into()))
                .unwrap();
            black_box(sub.try_recv().unwrap())
        })
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    g.bench_function("baseline_tokio_mpsc_send_and_receive", |b| {
        b.iter(|| {
            tx.try_send(UniversalEvent::new(t.clone(), 1.into()))
                .unwrap();
            black_box(rx.try_recv().unwrap())
        })
    });
    let bus = EventBus::new();
    let mut subs: Vec<_> = (0..4).map(|_| bus.subscribe("tool.**").unwrap()).collect();
    g.bench_function("four_subscribers_publish_and_receive", |b| {
        b.iter(|| {
            bus.try_publish(UniversalEvent::new(t.clone(), 1.into()))
                .unwrap();
            for s in &mut subs {
                black_box(s.try_recv().unwrap());
            }
        })
    });
    g.finish();
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("events/route_1000_patterns");
    let bus = EventBus::builder()
        .metrics(false)
        .lagging_events(false)
        .build()
        .unwrap();
    let _subs: Vec<_> = thousand_patterns()
        .iter()
        .map(|p| {
            bus.subscribe_with(
                TopicPattern::new(p).unwrap(),
                SubscriptionOptions::new().capacity(1),
            )
            .unwrap()
        })
        .collect();
    let topics: Vec<String> = (0..1000)
        .map(|i| format!("tenant{}.tool.t{i}.completed", i % 50))
        .collect();
    let mut i = 0;
    g.bench_function("has_subscribers", |b| {
        b.iter(|| {
            i = (i + 1) % topics.len();
            black_box(bus.has_subscribers(&topics[i]))
        })
    });
    let exact: HashMap<&str, usize> = topics.iter().map(String::as_str).zip(0..).collect();
    g.bench_function("baseline_exact_hash_lookup", |b| {
        b.iter(|| {
            i = (i + 1) % topics.len();
            black_box(exact.get(topics[i].as_str()))
        })
    });
    g.finish();
}

fn persistence(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::new(Arc::new(SledBackend::open(dir.path().join("db")).unwrap()));
    let mut g = c.benchmark_group("events/persist");
    g.bench_function("sled_append_batch_of_256", |b| {
        b.iter_batched(
            || {
                (0..256)
                    .map(|i| Arc::new(UniversalEvent::new(topic(), i.into())))
                    .collect::<Vec<_>>()
            },
            |batch| rt.block_on(store.append(&batch)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, publish, routing, persistence);
criterion_main!(benches);
