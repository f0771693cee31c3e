//! Every overflow policy, water-mark notices, lagging events, rate limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use llmspell_events::{
    BackpressureKind, Error, EventBus, OverflowPolicy, RateLimit, RateLimitMode,
    SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use serde_json::json;

fn ev(i: i64) -> UniversalEvent {
    UniversalEvent::new(Topic::new("f.x").unwrap(), json!(i))
}

fn sub_opts(capacity: usize, overflow: OverflowPolicy) -> SubscriptionOptions {
    SubscriptionOptions::new()
        .capacity(capacity)
        .overflow(overflow)
}

fn pattern() -> TopicPattern {
    TopicPattern::new("f.*").unwrap()
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_events() {
    let bus = EventBus::new();
    let mut s = bus
        .subscribe_with(pattern(), sub_opts(4, OverflowPolicy::DropOldest))
        .unwrap();
    for i in 0..10 {
        assert_eq!(bus.publish(ev(i)).await.unwrap().delivered, 1);
    }
    let got: Vec<i64> = std::iter::from_fn(|| s.try_recv())
        .map(|e| e.data.as_i64().unwrap())
        .collect();
    assert_eq!(got, [6, 7, 8, 9]);
    assert_eq!(s.stats().dropped, 6);
    assert_eq!(
        bus.stats().dropped,
        6,
        "evictions count in the bus totals too"
    );
}

#[tokio::test]
async fn drop_newest_keeps_the_first_events() {
    let bus = EventBus::new();
    let mut s = bus
        .subscribe_with(pattern(), sub_opts(4, OverflowPolicy::DropNewest))
        .unwrap();
    for i in 0..10 {
        let r = bus.publish(ev(i)).await.unwrap();
        assert_eq!(r.delivered, usize::from(i < 4));
    }
    let got: Vec<i64> = std::iter::from_fn(|| s.try_recv())
        .map(|e| e.data.as_i64().unwrap())
        .collect();
    assert_eq!(got, [0, 1, 2, 3]);
    assert_eq!(bus.stats().dropped, 6);
}

#[tokio::test]
async fn reject_fails_the_publish_naming_the_subscription_and_others_still_receive() {
    let bus = EventBus::new();
    let full = bus
        .subscribe_with(pattern(), sub_opts(2, OverflowPolicy::Reject).name("audit"))
        .unwrap();
    let mut other = bus
        .subscribe_with(pattern(), sub_opts(100, OverflowPolicy::DropOldest))
        .unwrap();
    bus.publish(ev(0)).await.unwrap();
    bus.publish(ev(1)).await.unwrap();
    let err = bus.publish(ev(2)).await.unwrap_err();
    let rejected_sequence = match &err {
        Error::SubscriberFull {
            subscription,
            pattern,
            capacity,
            delivered,
            sequence,
            ..
        } => {
            assert_eq!(*subscription, full.id());
            assert_eq!((pattern.as_str(), *capacity, *delivered), ("f.*", 2, 1));
            *sequence
        }
        other => panic!("expected SubscriberFull, got {other:?}"),
    };
    assert!(
        err.to_string()
            .contains(&format!("subscription {}", full.id())),
        "{err}"
    );
    let got: Vec<_> = std::iter::from_fn(|| other.try_recv()).collect();
    let data: Vec<i64> = got.iter().map(|e| e.data.as_i64().unwrap()).collect();
    assert_eq!(
        data,
        [0, 1, 2],
        "subscriptions with room still get the event"
    );
    assert_eq!(got[2].sequence, rejected_sequence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_makes_publish_wait_for_the_consumer_and_loses_nothing() {
    let bus = EventBus::new();
    let mut s = bus
        .subscribe_with(
            pattern(),
            sub_opts(
                2,
                OverflowPolicy::Block {
                    timeout: Duration::from_secs(10),
                },
            ),
        )
        .unwrap();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                bus.publish(ev(i)).await.unwrap();
            }
        })
    };
    // Wait (on a loaded machine, as long as it takes) for the publisher to
    // fill the queue, then give it time to run past it if it could.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.stats().queued < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !publisher.is_finished(),
        "publish must wait while the queue is full"
    );
    assert_eq!(s.stats().queued, 2);
    for i in 0..50 {
        assert_eq!(s.recv().await.unwrap().data, json!(i));
    }
    publisher.await.unwrap();
    assert_eq!(s.stats().dropped, 0);
}

#[tokio::test]
async fn block_gives_up_after_its_timeout_and_only_that_subscriber_misses_the_event() {
    let bus = EventBus::new();
    let blocked = bus
        .subscribe_with(
            pattern(),
            sub_opts(
                1,
                OverflowPolicy::Block {
                    timeout: Duration::from_millis(40),
                },
            ),
        )
        .unwrap();
    let mut other = bus
        .subscribe_with(pattern(), sub_opts(10, OverflowPolicy::DropOldest))
        .unwrap();
    bus.publish(ev(0)).await.unwrap();
    let started = Instant::now();
    let err = bus.publish(ev(1)).await.unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "publish waited the timeout"
    );
    assert!(
        matches!(err, Error::BlockTimeout { subscription, .. } if subscription == blocked.id()),
        "{err:?}"
    );
    assert_eq!(other.try_recv().unwrap().data, json!(0));
    assert_eq!(other.try_recv().unwrap().data, json!(1));
    assert_eq!(blocked.stats().dropped, 1);
}

#[tokio::test]
async fn try_publish_never_waits_on_block_subscribers() {
    let bus = EventBus::new();
    let blocked = bus
        .subscribe_with(
            pattern(),
            sub_opts(
                1,
                OverflowPolicy::Block {
                    timeout: Duration::from_secs(60),
                },
            ),
        )
        .unwrap();
    bus.try_publish(ev(0)).unwrap();
    let err = bus.try_publish(ev(1)).unwrap_err();
    assert!(
        matches!(err, Error::WouldBlock { subscription, .. } if subscription == blocked.id()),
        "{err:?}"
    );
}

#[tokio::test]
async fn water_marks_raise_warning_critical_dropped_and_recovered() {
    let bus = EventBus::new();
    let mut notices = bus.backpressure();
    let mut lagging = bus.subscribe("bus.subscriber.lagging").unwrap();
    let mut s = bus
        .subscribe_with(
            pattern(),
            sub_opts(10, OverflowPolicy::DropNewest).water_marks(0.8, 0.5),
        )
        .unwrap();
    let mut kinds = Vec::new();
    for i in 0..8 {
        bus.publish(ev(i)).await.unwrap();
    }
    kinds.push(notices.try_recv().unwrap().kind);
    for i in 8..12 {
        bus.publish(ev(i)).await.unwrap();
    }
    while let Ok(n) = notices.try_recv() {
        assert_eq!(n.subscription, s.id());
        kinds.push(n.kind);
    }
    assert_eq!(
        kinds,
        [
            BackpressureKind::Warning,
            BackpressureKind::Critical,
            BackpressureKind::Dropped
        ]
    );
    for _ in 0..4 {
        s.try_recv().unwrap();
    }
    assert!(
        notices.try_recv().is_err(),
        "6 queued is above the low water mark"
    );
    s.try_recv().unwrap();
    let n = notices.try_recv().unwrap();
    assert_eq!((n.kind, n.queued), (BackpressureKind::Recovered, 5));
    // The bus reported each worsening as an event too.
    let reported: Vec<String> = std::iter::from_fn(|| lagging.try_recv())
        .map(|e| e.data["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reported, ["warning", "critical", "dropped"]);
}

#[tokio::test]
async fn rate_limit_rejects_beyond_the_burst() {
    let bus = EventBus::builder()
        .rate_limit(
            RateLimit::per_second(10)
                .burst(5)
                .mode(RateLimitMode::Reject),
        )
        .build()
        .unwrap();
    for i in 0..5 {
        bus.publish(ev(i)).await.unwrap();
    }
    match bus.publish(ev(5)).await.unwrap_err() {
        Error::RateLimited { retry_after } => assert!(retry_after > Duration::ZERO),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(bus.stats().rate_limited, 1);
    assert_eq!(bus.stats().published, 5);
}

#[tokio::test]
async fn rate_limit_in_wait_mode_paces_publishers() {
    let bus = EventBus::builder()
        .rate_limit(RateLimit::per_second(20).burst(2))
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..6 {
        bus.publish(ev(i)).await.unwrap();
    }
    // 2 from the burst, then 4 more at 50 ms each.
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bus.stats().published, 6);
    assert!(
        bus.try_publish(ev(7)).is_err(),
        "try_publish fails fast at the limit"
    );
}

#[test]
fn invalid_rate_limits_are_rejected_when_building() {
    let err = EventBus::builder()
        .rate_limit(RateLimit::per_second(0))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("rate_limit.per_second"), "{err}");
}
