//! Delivery semantics: ordering, isolation of stalled subscribers,
//! unsubscribe on drop, handlers, ttl, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llmspell_events::{
    Error, EventBus, OverflowPolicy, SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use parking_lot::Mutex;
use serde_json::json;

fn ev(topic: &str, data: serde_json::Value) -> UniversalEvent {
    UniversalEvent::new(Topic::new(topic).unwrap(), data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_sees_sequence_order_under_concurrent_publishers() {
    const PUBLISHERS: u64 = 4;
    const EACH: u64 = 5_000;
    let bus = EventBus::new();
    let opts = SubscriptionOptions::new()
        .capacity(1024)
        .overflow(OverflowPolicy::Block {
            timeout: Duration::from_secs(30),
        });
    let mut readers = Vec::new();
    for pattern in ["load.**", "load.*", "*.p*"] {
        let mut sub = bus
            .subscribe_with(TopicPattern::new(pattern).unwrap(), opts.clone())
            .unwrap();
        readers.push(tokio::spawn(async move {
            let mut last_seq = 0;
            let mut last_per_publisher = [None::<u64>; PUBLISHERS as usize];
            for _ in 0..PUBLISHERS * EACH {
                let e = sub.recv().await.expect("no event may be lost");
                assert!(
                    e.sequence > last_seq,
                    "sequence went back: {} after {last_seq}",
                    e.sequence
                );
                last_seq = e.sequence;
                let p = e.data["p"].as_u64().unwrap() as usize;
                let i = e.data["i"].as_u64().unwrap();
                if let Some(prev) = last_per_publisher[p] {
                    assert_eq!(i, prev + 1, "publisher {p} order broken");
                }
                last_per_publisher[p] = Some(i);
            }
            assert!(sub.try_recv().is_none(), "no extra events");
        }));
    }
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let bus = bus.clone();
        publishers.push(tokio::spawn(async move {
            for i in 0..EACH {
                bus.publish(ev(&format!("load.p{p}"), json!({"p": p, "i": i})))
                    .await
                    .unwrap();
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
    for r in readers {
        r.await.unwrap();
    }
    // Lagging reports (`bus.subscriber.lagging`) may add to the totals.
    assert!(bus.stats().published >= PUBLISHERS * EACH);
    assert!(bus.stats().delivered >= 3 * PUBLISHERS * EACH);
    assert_eq!(bus.metrics().unwrap().count("load.p0"), EACH);
}

/// Receives the next event, failing if the consumer is not woken within 5 s.
/// The timer is looked at first, so an event that was queued without waking
/// the consumer fails the test instead of being found when the timer fires.
async fn recv_or_panic(
    sub: &mut llmspell_events::Subscription,
    what: impl Fn() -> String,
) -> Arc<UniversalEvent> {
    tokio::select! {
        biased;
        () = tokio::time::sleep(Duration::from_secs(5)) => panic!("{} never woke the consumer", what()),
        e = sub.recv() => e.expect("subscription open"),
    }
}

/// A consumer that empties its queue sleeps; the next publish must wake it.
/// Publisher and consumer run on different threads and alternate (one event,
/// then wait for the answer), so the consumer goes to sleep on an empty
/// queue before almost every event; then both run flat out with bursts of
/// random length. A lost wake-up shows as a receive that times out.
#[test]
fn a_sleeping_consumer_is_woken_by_every_kind_of_queue() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for overflow in [
        OverflowPolicy::DropOldest,
        OverflowPolicy::DropNewest,
        OverflowPolicy::Reject,
        OverflowPolicy::Block {
            timeout: Duration::from_secs(30),
        },
    ] {
        runtime.block_on(async move {
            const ROUNDS: u64 = 3_000;
            const BURSTS: u64 = 3_000;
            let bus = EventBus::new();
            let opts = SubscriptionOptions::new().capacity(64).overflow(overflow);
            let mut sub = bus
                .subscribe_with(TopicPattern::new("wake.*").unwrap(), opts)
                .unwrap();
            let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
            let consumer = tokio::spawn(async move {
                for i in 0..ROUNDS {
                    let e = recv_or_panic(&mut sub, || format!("{overflow:?}: event {i}")).await;
                    assert_eq!(e.data["i"], i);
                    ack_tx.send(()).unwrap();
                }
                let mut n = 0;
                let mut last = None;
                while n < BURSTS {
                    let e =
                        recv_or_panic(&mut sub, || format!("{overflow:?}: burst event {n}")).await;
                    let i = e.data["i"].as_u64().unwrap();
                    assert!(last.is_none_or(|l| i > l), "{overflow:?}: order broken");
                    last = Some(i);
                    n += 1;
                    if i + 1 == BURSTS {
                        break;
                    }
                }
                n
            });
            for i in 0..ROUNDS {
                bus.publish(ev("wake.ping", json!({ "i": i })))
                    .await
                    .unwrap();
                ack_rx.recv().await.expect("consumer alive");
            }
            let mut i = 0;
            let mut seed = 0x2545_f491_4f6c_dd1d_u64;
            while i < BURSTS {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                for _ in 0..(seed % 8 + 1) {
                    if i == BURSTS {
                        break;
                    }
                    // Drop and reject policies may refuse events under load; the
                    // last one is retried until it is queued, so the consumer
                    // always has an end to reach.
                    loop {
                        let receipt = bus.publish(ev("wake.burst", json!({ "i": i }))).await;
                        if i + 1 < BURSTS || matches!(receipt, Ok(r) if r.delivered == 1) {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                    i += 1;
                }
                if seed.is_multiple_of(3) {
                    tokio::task::yield_now().await;
                }
            }
            let received = consumer.await.unwrap();
            assert!(received >= 1, "{overflow:?}");
            if matches!(overflow, OverflowPolicy::Block { .. }) {
                assert_eq!(received, BURSTS, "Block loses nothing");
            }
        });
    }
}

/// Routing collects each subscription once. With at most one `**` per
/// pattern there is only one way to match (the bus then skips the
/// de-duplication pass); two `**` in one pattern can match along several
/// paths and are de-duplicated.
#[tokio::test]
async fn every_matching_subscription_gets_an_event_exactly_once() {
    let cases: [(&[&str], &[&str]); 2] = [
        (
            &[
                "**", "a.**", "**.b", "a.**.b", "**.b.b", "a.*.**", "*.**", ">",
            ],
            &["a.b.b", "a.b", "a.b.b.b", "a"],
        ),
        (
            &["a.**.b.**", "**.**", "**.b.**", "a.**"],
            &["a.b.b", "a.b", "b.b.b", "a"],
        ),
    ];
    for (patterns, topics) in cases {
        let bus = EventBus::new();
        let mut subs: Vec<_> = patterns.iter().map(|p| bus.subscribe(p).unwrap()).collect();
        for t in topics {
            bus.publish(ev(t, json!(null))).await.unwrap();
            for (p, s) in patterns.iter().zip(subs.iter_mut()) {
                let want = TopicPattern::new(p)
                    .unwrap()
                    .matches(&Topic::new(t).unwrap());
                let mut got = 0;
                while s.try_recv().is_some() {
                    got += 1;
                }
                assert_eq!(got, usize::from(want), "pattern {p} topic {t}");
            }
        }
    }
}

#[tokio::test]
async fn a_stalled_subscriber_never_blocks_the_others() {
    let bus = EventBus::new();
    let stalled = bus
        .subscribe_with(
            TopicPattern::new("s.**").unwrap(),
            SubscriptionOptions::new().capacity(8),
        )
        .unwrap();
    let mut active = bus
        .subscribe_with(
            TopicPattern::new("s.**").unwrap(),
            SubscriptionOptions::new().capacity(20_000),
        )
        .unwrap();
    let publish = async {
        for i in 0..10_000 {
            bus.publish(ev("s.x", json!(i))).await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(10), publish)
        .await
        .expect("publish must not stall");
    for i in 0..10_000 {
        assert_eq!(active.try_recv().unwrap().data, json!(i));
    }
    let s = stalled.stats();
    assert_eq!((s.queued, s.dropped), (8, 10_000 - 8));
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes() {
    let bus = EventBus::new();
    let sub = bus.subscribe("a.*").unwrap();
    let id = sub.id();
    assert!(bus.has_subscribers("a.b"));
    assert_eq!(bus.stats().subscriptions, 1);
    drop(sub);
    assert!(!bus.has_subscribers("a.b"));
    assert_eq!(bus.stats().subscriptions, 0);
    assert_eq!(bus.publish(ev("a.b", json!(1))).await.unwrap().delivered, 0);
    assert!(!bus.unsubscribe(id), "already gone");
}

#[tokio::test]
async fn explicit_unsubscribe_lets_the_subscriber_drain_then_ends_the_stream() {
    let bus = EventBus::new();
    let mut sub = bus.subscribe("a.*").unwrap();
    bus.publish(ev("a.b", json!(1))).await.unwrap();
    assert!(sub.unsubscribe());
    assert!(!sub.unsubscribe());
    bus.publish(ev("a.b", json!(2))).await.unwrap();
    assert_eq!(sub.recv().await.unwrap().data, json!(1));
    assert!(sub.recv().await.is_none(), "stream ends after unsubscribe");
}

#[tokio::test]
async fn sync_and_async_handlers_run_in_order_and_survive_panics() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sync = bus
        .subscribe_handler("h.**", SubscriptionOptions::new(), move |e| {
            let i = e.data.as_i64().unwrap();
            if i == 3 {
                panic!("handler bug on {i}");
            }
            s.lock().push(i);
        })
        .unwrap();
    let total = Arc::new(AtomicU64::new(0));
    let t = total.clone();
    let asynchronous = bus
        .subscribe_async_handler("h.**", SubscriptionOptions::new(), move |e| {
            let t = t.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                t.fetch_add(e.data.as_u64().unwrap(), Ordering::SeqCst);
            }
        })
        .unwrap();
    for i in 0..6 {
        bus.publish(ev("h.x", json!(i))).await.unwrap();
    }
    sync.close().await;
    asynchronous.close().await;
    assert_eq!(
        *seen.lock(),
        vec![0, 1, 2, 4, 5],
        "events after a panic are still handled"
    );
    assert_eq!(total.load(Ordering::SeqCst), 15);
}

#[tokio::test]
async fn handler_panics_are_counted() {
    let bus = EventBus::new();
    let h = bus
        .subscribe_handler("p", SubscriptionOptions::new(), |_| panic!("always"))
        .unwrap();
    for _ in 0..3 {
        bus.publish(ev("p", json!(null))).await.unwrap();
    }
    for _ in 0..100 {
        if h.handled() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!((h.handled(), h.panics()), (3, 3));
}

#[test]
fn handler_subscriptions_outside_a_runtime_are_a_clear_error() {
    let bus = EventBus::new();
    let err = bus
        .subscribe_handler("a", SubscriptionOptions::new(), |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    assert_eq!(bus.stats().subscriptions, 0, "no subscription may leak");
}

#[tokio::test]
async fn expired_events_are_skipped_at_delivery() {
    let bus = EventBus::new();
    let mut sub = bus.subscribe("t").unwrap();
    bus.publish(ev("t", json!("old")).with_ttl(Duration::from_millis(1)))
        .await
        .unwrap();
    bus.publish(ev("t", json!("fresh"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(sub.recv().await.unwrap().data, json!("fresh"));
    assert_eq!(sub.stats().expired, 1);
}

#[tokio::test]
async fn bad_patterns_and_options_are_rejected_with_clear_errors() {
    let bus = EventBus::new();
    let err = bus.subscribe("tool..x").unwrap_err();
    assert!(
        matches!(err, Error::InvalidPattern { position: 2, .. }),
        "{err:?}"
    );
    let err = bus.subscribe("tool.x$").unwrap_err().to_string();
    assert!(err.contains("\"x$\"") && err.contains("'$'"), "{err}");
    let err = bus
        .subscribe_with(
            TopicPattern::new("a").unwrap(),
            SubscriptionOptions::new().capacity(0),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("capacity must be between 1"),
        "{err}"
    );
    assert_eq!(bus.stats().subscriptions, 0);
}

#[tokio::test]
async fn events_carry_sequence_and_metadata_to_subscribers() {
    let bus = EventBus::new();
    let mut sub = bus.subscribe("**").unwrap();
    let corr = uuid::Uuid::now_v7();
    let r1 = bus
        .publish(ev("a", json!(1)).with_correlation_id(corr))
        .await
        .unwrap();
    let r2 = bus.publish(ev("b", json!(2))).await.unwrap();
    assert_eq!((r1.sequence, r2.sequence), (1, 2));
    let e1 = sub.recv().await.unwrap();
    assert_eq!(e1.id, r1.id);
    assert_eq!(e1.metadata.correlation_id, Some(corr.into()));
    assert_eq!(sub.recv().await.unwrap().sequence, 2);
    assert_eq!(bus.last_sequence(), 2);
}

#[tokio::test]
async fn metrics_count_by_prefix() {
    let bus = EventBus::new();
    for t in [
        "tool.calc.started",
        "tool.calc.completed",
        "agent.w.state_changed",
    ] {
        bus.publish(ev(t, json!(null))).await.unwrap();
    }
    let m = bus.metrics().unwrap();
    assert_eq!(m.count("tool.calc"), 2);
    assert_eq!(m.count("agent.w"), 1);
    assert_eq!(m.current_second(), 3);
}
