//! Persistence round trips on both backends: opt-in patterns, queries,
//! replay, retention, corrupt records, and what a crash can lose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_events::{
    CorrelationId, Error, EventBus, EventQuery, EventStore, PersistenceConfig, REPLAYED_TAG,
    Retention, Topic, UniversalEvent,
};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use serde_json::json;
use uuid::Uuid;

fn ev(topic: &str, data: serde_json::Value) -> UniversalEvent {
    UniversalEvent::new(Topic::new(topic).unwrap(), data)
}

async fn round_trip(backend: Arc<dyn StorageBackend>) {
    let bus = EventBus::new();
    let store = EventStore::new(backend.clone());
    let persistence = bus
        .persist(
            store.clone(),
            PersistenceConfig::new(["tool.**", "agent.*.failed"]).unwrap(),
        )
        .unwrap();
    let corr = CorrelationId::new_v7();
    let t0 = llmspell_core::clock::now_utc();
    for i in 0..20 {
        let mut e = ev(&format!("tool.t{}.completed", i % 3), json!({ "i": i }));
        if i % 2 == 0 {
            e = e.with_correlation_id(corr.clone());
        }
        bus.publish(e).await.unwrap();
    }
    bus.publish(ev("agent.w.failed", json!("boom")))
        .await
        .unwrap();
    bus.publish(ev("agent.w.started", json!("not persisted")))
        .await
        .unwrap();
    bus.publish(ev("other.topic", json!("not persisted")))
        .await
        .unwrap();
    persistence.flush().await.unwrap();
    assert_eq!(persistence.stats().written, 21);

    // Everything, oldest first, with the original ids and data.
    let all = store.query(&EventQuery::new()).await.unwrap();
    assert_eq!(all.len(), 21);
    assert!(all.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert_eq!(all[0].data, json!({ "i": 0 }));

    // By pattern, by correlation id, limits and order.
    let t1 = store
        .query(&EventQuery::new().pattern("tool.t1.*").unwrap())
        .await
        .unwrap();
    assert_eq!(
        t1.iter()
            .map(|e| e.data["i"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 4, 7, 10, 13, 16, 19]
    );
    let by_corr = store
        .query(&EventQuery::new().correlation_id(corr.clone()))
        .await
        .unwrap();
    assert_eq!(by_corr.len(), 10);
    assert!(
        by_corr
            .iter()
            .all(|e| e.data["i"].as_i64().unwrap() % 2 == 0)
    );
    let newest = store
        .query(&EventQuery::new().newest_first().limit(2))
        .await
        .unwrap();
    assert_eq!(newest[0].event_type.as_str(), "agent.w.failed");
    assert_eq!(newest[1].data, json!({ "i": 19 }));
    let corr_newest = store
        .query(
            &EventQuery::new()
                .correlation_id(corr.clone())
                .newest_first()
                .limit(1),
        )
        .await
        .unwrap();
    assert_eq!(corr_newest[0].data, json!({ "i": 18 }));

    // Time range.
    let later = llmspell_core::clock::now_utc();
    bus.publish(ev("tool.late.completed", json!("late")))
        .await
        .unwrap();
    persistence.flush().await.unwrap();
    let since = store.query(&EventQuery::new().since(later)).await.unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].data, json!("late"));
    let before = store
        .query(&EventQuery::new().since(t0).until(later))
        .await
        .unwrap();
    assert_eq!(before.len(), 21);

    // Replay into a bus: same ids, new sequence numbers, tagged, not re-stored.
    let replay_bus = EventBus::new();
    let mut seen = replay_bus.subscribe("tool.**").unwrap();
    let n = store
        .replay_into(
            &EventQuery::new().pattern("tool.t0.*").unwrap(),
            &replay_bus,
        )
        .await
        .unwrap();
    assert_eq!(n, 7);
    let first = seen.recv().await.unwrap();
    assert_eq!(first.id, all[0].id);
    assert!(first.has_tag(REPLAYED_TAG));
    assert_eq!(first.sequence, 1);
    let n = store
        .replay_into(&EventQuery::new().pattern("tool.t0.*").unwrap(), &bus)
        .await
        .unwrap();
    assert_eq!(n, 7);
    persistence.flush().await.unwrap();
    assert_eq!(
        store.count().await.unwrap(),
        22,
        "replayed events are not stored twice"
    );

    // Replay into a handler.
    let mut got = Vec::new();
    store
        .replay_with(&EventQuery::new().correlation_id(corr.clone()), |e| {
            got.push(e.id)
        })
        .await
        .unwrap();
    assert_eq!(got, by_corr.iter().map(|e| e.id).collect::<Vec<_>>());

    // Retention by count keeps the newest; its index entries go too.
    let deleted = store
        .apply_retention(&Retention::default().max_events(5))
        .await
        .unwrap();
    assert_eq!(deleted, 17);
    let kept = store.query(&EventQuery::new()).await.unwrap();
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[4].data, json!("late"));
    assert_eq!(
        store
            .query(&EventQuery::new().correlation_id(corr.clone()))
            .await
            .unwrap()
            .len(),
        1
    );
    // Retention by age.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let deleted = store
        .apply_retention(&Retention::default().max_age(Duration::from_millis(10)))
        .await
        .unwrap();
    assert_eq!(deleted, 5);
    assert_eq!(store.count().await.unwrap(), 0);
    persistence.shutdown().await.unwrap();
}

#[tokio::test]
async fn round_trip_on_memory() {
    round_trip(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn round_trip_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(Arc::new(SledBackend::open(dir.path().join("db")).unwrap())).await;
}

/// Events published with chosen (text) correlation ids, including ids with
/// `/` and `%` and one that spells another's escaped form, are stored and
/// queried back by id, each id selecting exactly its own events.
async fn chosen_correlation_ids(backend: Arc<dyn StorageBackend>) {
    let bus = EventBus::new();
    let store = EventStore::new(backend.clone());
    let persistence = bus
        .persist(store.clone(), PersistenceConfig::new(["**"]).unwrap())
        .unwrap();
    let ids = [
        CorrelationId::new("req-42").unwrap(),
        CorrelationId::new("req-42/retry").unwrap(),
        CorrelationId::new("req-42%2Fretry").unwrap(),
        CorrelationId::new_v7(),
    ];
    let parent = CorrelationId::new("upstream-7").unwrap();
    for i in 0..12 {
        let e = ev("job.step", json!(i))
            .with_correlation_id(ids[i % 4].clone())
            .with_parent_id(parent.clone());
        bus.publish(e).await.unwrap();
    }
    persistence.flush().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 12);

    for (k, id) in ids.iter().enumerate() {
        let got = store
            .query(&EventQuery::new().correlation_id(id.clone()))
            .await
            .unwrap();
        let data: Vec<_> = got.iter().map(|e| e.data.clone()).collect();
        assert_eq!(data, [json!(k), json!(k + 4), json!(k + 8)], "{id}");
        for e in &got {
            assert_eq!(e.metadata.correlation_id.as_ref(), Some(id));
            assert_eq!(e.metadata.parent_id.as_ref().unwrap(), "upstream-7");
        }
        let newest = store
            .query(
                &EventQuery::new()
                    .correlation_id(id.clone())
                    .newest_first()
                    .limit(1),
            )
            .await
            .unwrap();
        assert_eq!(newest[0].data, json!(k + 8));
    }
    // Parsed from a string, as the command line does.
    let parsed: CorrelationId = "req-42".parse().unwrap();
    let got = store
        .query(&EventQuery::new().correlation_id(parsed))
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].to_json()["correlation_id"], "req-42");

    // Retention removes the index entries of text ids too.
    let index = llmspell_storage::Scan::prefix("events/c/");
    assert_eq!(backend.scan_keys(&index).await.unwrap().len(), 12);
    let deleted = store
        .apply_retention(&Retention::default().max_events(6))
        .await
        .unwrap();
    assert_eq!(deleted, 6);
    assert_eq!(backend.scan_keys(&index).await.unwrap().len(), 6);
    let got = store
        .query(&EventQuery::new().correlation_id(ids[1].clone()))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, json!(9));
    persistence.shutdown().await.unwrap();
}

#[tokio::test]
async fn chosen_correlation_ids_on_memory() {
    chosen_correlation_ids(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn chosen_correlation_ids_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    chosen_correlation_ids(Arc::new(SledBackend::open(dir.path().join("db")).unwrap())).await;
}

#[tokio::test]
async fn chosen_correlation_ids_survive_reopening_sled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let id = CorrelationId::new("req-42").unwrap();
    {
        let bus = EventBus::new();
        let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
        let p = bus
            .persist(store, PersistenceConfig::new(["**"]).unwrap())
            .unwrap();
        bus.publish(ev("a.b", json!(1)).with_correlation_id(id.clone()))
            .await
            .unwrap();
        bus.publish(ev("a.b", json!(2))).await.unwrap();
        p.shutdown().await.unwrap();
    }
    let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
    let got = store
        .query(&EventQuery::new().correlation_id(id.clone()))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].metadata.correlation_id, Some(id));
}

#[tokio::test]
async fn events_stored_with_uuid_ids_before_text_ids_still_load_and_query() {
    // A record and index entry exactly as stores wrote them when correlation
    // ids were always UUIDs.
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let uuid = Uuid::parse_str("0190d7a4-0000-7000-8000-00000000000a").unwrap();
    let suffix = format!("{:016x}{}", 1_767_225_600_000_000u64, Uuid::nil().simple());
    let json = format!(
        "{{\"id\":\"{}\",\"type\":\"a.b\",\"data\":1,\"language\":\"lua\",\"sequence\":3,\
         \"timestamp\":\"2026-01-01T00:00:00.000000Z\",\"correlation_id\":\"{uuid}\",\
         \"parent_id\":null,\"source\":null,\"tags\":[],\"ttl_ms\":null}}",
        Uuid::nil()
    );
    backend
        .put(&format!("events/e/{suffix}"), json.into_bytes())
        .await
        .unwrap();
    backend
        .put(&format!("events/c/{}/{suffix}", uuid.simple()), Vec::new())
        .await
        .unwrap();
    let store = EventStore::new(backend);
    let got = store
        .query(&EventQuery::new().correlation_id(uuid))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].metadata.correlation_id,
        Some(CorrelationId::from(uuid))
    );
    assert_eq!(got[0].to_json()["correlation_id"], uuid.to_string());
}

#[tokio::test]
async fn sled_history_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let ids: Vec<Uuid> = {
        let bus = EventBus::new();
        let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
        let p = bus
            .persist(store, PersistenceConfig::new(["**"]).unwrap())
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..50 {
            ids.push(bus.publish(ev("a.b", json!(i))).await.unwrap().id);
        }
        p.shutdown().await.unwrap();
        ids
    };
    let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
    let back: Vec<Uuid> = store
        .query(&EventQuery::new())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(back, ids);
}

#[tokio::test]
async fn periodic_retention_runs_in_the_writer() {
    let bus = EventBus::new();
    let store = EventStore::new(Arc::new(MemoryBackend::new()));
    let config = PersistenceConfig::new(["**"]).unwrap().retention(
        Retention::default().max_events(3),
        Duration::from_millis(20),
    );
    let p = bus.persist(store.clone(), config).unwrap();
    for i in 0..10 {
        bus.publish(ev("r", json!(i))).await.unwrap();
    }
    p.flush().await.unwrap();
    for _ in 0..100 {
        if store.count().await.unwrap() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kept: Vec<_> = store
        .query(&EventQuery::new())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect();
    assert_eq!(kept, [json!(7), json!(8), json!(9)]);
    assert_eq!(p.stats().expired, 7);
}

#[tokio::test]
async fn a_corrupt_record_is_an_error_naming_its_key() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let store = EventStore::new(backend.clone());
    store.append(&[Arc::new(ev("a", json!(1)))]).await.unwrap();
    let key = backend
        .scan_keys(&llmspell_storage::Scan::prefix("events/e/"))
        .await
        .unwrap()[0]
        .clone();
    backend.put(&key, b"{\"id\": 12".to_vec()).await.unwrap();
    match store.query(&EventQuery::new()).await.unwrap_err() {
        Error::CorruptEvent { key: k, .. } => assert_eq!(format!("events/{k}"), key),
        other => panic!("expected CorruptEvent, got {other:?}"),
    }
    // Retention still removes it, so one bad record cannot wedge the store.
    assert_eq!(
        store
            .apply_retention(&Retention::default().max_events(0))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn bad_persistence_config_is_rejected() {
    let bus = EventBus::new();
    let store = EventStore::new(Arc::new(MemoryBackend::new()));
    let err = bus
        .persist(
            store.clone(),
            PersistenceConfig::new(Vec::<&str>::new()).unwrap(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("at least one topic pattern"),
        "{err}"
    );
    assert!(PersistenceConfig::new(["ok.*", "bad..x"]).is_err());
    let err = bus
        .persist(store, PersistenceConfig::new(["a"]).unwrap().batch_size(0))
        .unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
    assert_eq!(bus.stats().subscriptions, 0);
}

/// The niceness of this process's thread named `name`, read from /proc.
#[cfg(target_os = "linux")]
fn niceness_of_thread(name: &str) -> Option<i64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Fields after the parenthesised name: state is field 3, nice is 19.
            let rest = &stat[stat.rfind(')')? + 2..];
            return rest.split_whitespace().nth(16)?.parse().ok();
        }
    }
    None
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_runs_on_its_own_thread_at_lower_priority_unless_told_not_to() {
    // In a child process running only this test, so that no other test's
    // writer thread is in sight.
    const CHILD: &str = "LLMSPELL_EVENTS_PRIORITY_CHILD";
    if std::env::var(CHILD).is_err() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "the_writer_runs_on_its_own_thread_at_lower_priority_unless_told_not_to",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return;
    }
    // No runtime here: the writer brings its own.
    let bus = EventBus::new();
    let store = EventStore::new(Arc::new(MemoryBackend::new()));
    let persistence = bus
        .persist(store.clone(), PersistenceConfig::new(["a.**"]).unwrap())
        .unwrap();
    bus.try_publish(ev("a.b", json!(1))).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(persistence.flush()).unwrap();
    assert_eq!(persistence.stats().written, 1);
    let nice = niceness_of_thread("llmspell-writer").expect("the writer thread exists");
    assert!(nice > 0, "writer niceness {nice}");
    rt.block_on(persistence.shutdown()).unwrap();
    // The thread exits right after it reports done.
    let gone = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        niceness_of_thread("llmspell-writer").is_none()
    });
    assert!(gone, "the writer thread ended");

    let normal = bus
        .persist(
            store,
            PersistenceConfig::new(["a.**"])
                .unwrap()
                .low_priority(false),
        )
        .unwrap();
    // A flush answers only once the writer thread runs (and has set its priority).
    rt.block_on(normal.flush()).unwrap();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let ours: i64 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap();
    let nice = niceness_of_thread("llmspell-writer").expect("the writer thread exists");
    assert_eq!(nice, ours, "the process's own niceness");
    rt.block_on(normal.shutdown()).unwrap();
}

/// A child process persists events, flushes, publishes more, then aborts
/// without any shutdown. Everything before the flush must be there; what came
/// after may be lost (that is the documented promise), and nothing stored may
/// be damaged.
#[test]
fn a_crash_loses_at_most_what_came_after_the_last_flush() {
    const CHILD: &str = "LLMSPELL_EVENTS_CRASH_CHILD";
    if let Ok(path) = std::env::var(CHILD) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let bus = EventBus::new();
            let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
            let p = bus
                .persist(store, PersistenceConfig::new(["**"]).unwrap())
                .unwrap();
            for i in 0..500 {
                bus.publish(ev("before.flush", json!(i))).await.unwrap();
            }
            p.flush().await.unwrap();
            for i in 0..500 {
                bus.publish(ev("after.flush", json!(i))).await.unwrap();
            }
            std::process::abort();
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_crash_loses_at_most_what_came_after_the_last_flush",
            "--nocapture",
        ])
        .env(CHILD, &path)
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have crashed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = EventStore::new(Arc::new(SledBackend::open(&path).unwrap()));
        let before = store
            .query(&EventQuery::new().pattern("before.flush").unwrap())
            .await
            .unwrap();
        let data: Vec<i64> = before.iter().map(|e| e.data.as_i64().unwrap()).collect();
        assert_eq!(
            data,
            (0..500).collect::<Vec<_>>(),
            "flushed events must survive a crash"
        );
        let after = store
            .query(&EventQuery::new().pattern("after.flush").unwrap())
            .await
            .unwrap();
        assert!(after.len() <= 500);
        // Whatever survived of the unflushed tail is intact and in order.
        let tail: Vec<i64> = after.iter().map(|e| e.data.as_i64().unwrap()).collect();
        assert!(tail.windows(2).all(|w| w[0] < w[1]));
    });
}
