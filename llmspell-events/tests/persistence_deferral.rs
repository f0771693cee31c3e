//! The writer holds writes back while the bus keeps publishing, within its
//! limits: the oldest event's age, a half-full queue, and `flush`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_events::{
    EventBus, EventStore, Persistence, PersistenceConfig, Topic, UniversalEvent,
};
use llmspell_storage::MemoryBackend;
use serde_json::json;

fn ev(i: u64) -> UniversalEvent {
    UniversalEvent::new(Topic::new("audit.step").unwrap(), json!(i))
}

fn start(bus: &EventBus, config: PersistenceConfig) -> (EventStore, Persistence) {
    let store = EventStore::new(Arc::new(MemoryBackend::new()));
    let p = bus.persist(store.clone(), config).unwrap();
    (store, p)
}

/// Waits up to `limit` for the writer to have written `n` events.
async fn written_within(p: &Persistence, n: u64, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if p.stats().written >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// Flushes, failing (rather than hanging) if the flush waits on a deferral.
async fn flush(p: &Persistence) {
    tokio::time::timeout(Duration::from_secs(20), p.flush())
        .await
        .expect("flush does not wait for the bus to go quiet")
        .unwrap();
}

#[tokio::test]
async fn a_burst_is_written_after_it_not_during_it() {
    const BURST: u64 = 20_000;
    let bus = EventBus::new();
    let config = PersistenceConfig::new(["audit.**"])
        .unwrap()
        .queue_capacity(100_000)
        .defer_while_busy(Some(Duration::from_secs(60)))
        .quiet_window(Duration::from_secs(2));
    let (store, p) = start(&bus, config);
    for i in 0..BURST {
        bus.publish(ev(i)).await.unwrap();
    }
    assert_eq!(
        p.stats().written,
        0,
        "nothing is written while the bus is publishing"
    );
    // No flush: two quiet seconds later the writer writes on its own.
    assert!(
        written_within(&p, BURST, Duration::from_secs(30)).await,
        "the burst was written once the bus went quiet ({} of {BURST})",
        p.stats().written
    );
    assert_eq!(store.count().await.unwrap(), BURST as usize);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_busy_bus_is_still_written_within_the_deferral_limit() {
    let bus = EventBus::new();
    // The bus never counts as quiet here: only the age limit can end the wait.
    let config = PersistenceConfig::new(["audit.**"])
        .unwrap()
        .defer_while_busy(Some(Duration::from_millis(200)))
        .quiet_window(Duration::from_secs(3600));
    let (_store, p) = start(&bus, config);
    let until = Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    while p.stats().written == 0 && Instant::now() < until {
        bus.publish(ev(i)).await.unwrap();
        i += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        p.stats().written > 0,
        "a busy bus held every write back past the deferral limit ({i} published)"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_half_full_queue_is_written_at_once_and_flush_never_waits() {
    let bus = EventBus::new();
    let config = PersistenceConfig::new(["audit.**"])
        .unwrap()
        .queue_capacity(1_000)
        .batch_size(100)
        .defer_while_busy(Some(Duration::from_secs(3600)))
        .quiet_window(Duration::from_secs(3600));
    let (store, p) = start(&bus, config);
    // One batch of 100 in the writer's hands, 600 left queued: over half.
    for i in 0..700 {
        bus.publish(ev(i)).await.unwrap();
    }
    assert!(
        written_within(&p, 100, Duration::from_secs(20)).await,
        "a half-full queue must end the wait"
    );
    flush(&p).await;
    assert_eq!(store.count().await.unwrap(), 700);
    // A flush writes a held-back batch at once.
    bus.publish(ev(700)).await.unwrap();
    flush(&p).await;
    assert_eq!(store.count().await.unwrap(), 701);
    p.shutdown().await.unwrap();
}
