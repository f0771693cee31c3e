//! The event metrics of `llmspell bench`, each with its same-run baseline.
//!
//! Each function builds what it needs (runtime, bus, temporary store), runs
//! a fixed workload several times and reports the median as a
//! [`Measurement`] against its target (`docs/technical/performance.md`).
//! Run them from a release build; they take well under a second each at the
//! default sizes.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_events::{
    EventBus, EventStore, OverflowPolicy, PersistenceConfig, SubscriptionOptions, Topic,
    TopicPattern, UniversalEvent,
};
use llmspell_storage::SledBackend;

use crate::{Error, Measurement, Result, median};

const RUNS: usize = 5;

fn runtime(workers: usize) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| Error::Workload(format!("cannot start a tokio runtime: {e}")))
}

fn topic() -> Result<Topic> {
    Ok(Topic::new("tool.calculator.completed")?)
}

/// The event data of the throughput metrics: a number, so that the figures
/// measure the bus (ids, timestamps, routing, queues) rather than JSON
/// allocation, which baseline and bus would pay alike.
fn payload(i: usize) -> serde_json::Value {
    serde_json::Value::from(i)
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// `events.publish_no_sub_per_s`: publishes (event built in the loop) with no
/// subscriber. Target ≥ 10 M/s.
pub fn publish_no_sub(events: usize) -> Result<Measurement> {
    let bus = EventBus::new();
    let topic = topic()?;
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        for i in 0..events {
            let ev = UniversalEvent::new(topic.clone(), serde_json::Value::from(i));
            black_box(bus.try_publish(ev).ok());
        }
        samples.push(per_sec(events, start.elapsed()));
    }
    let value = median(&mut samples);
    Ok(
        Measurement::new("events.publish_no_sub_per_s", value, "per_s")
            .with_target("≥ 10 M/s", value >= 10e6),
    )
}

/// `events.one_sub_per_s`: publish → one subscriber on another task, every
/// event received; baseline a raw tokio mpsc channel of the same capacity
/// carrying the same event. Target ≥ 2 M/s and ratio ≥ 0.3.
pub fn one_sub(events: usize) -> Result<Measurement> {
    let rt = runtime(2)?;
    let mut ours = Vec::with_capacity(RUNS);
    let mut base = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        ours.push(rt.block_on(fan_out(events, 1))?);
        base.push(rt.block_on(mpsc_baseline(events))?);
    }
    let value = median(&mut ours);
    let baseline = median(&mut base);
    let m = Measurement::new("events.one_sub_per_s", value, "per_s").with_baseline(baseline);
    let met = value >= 2e6 && m.ratio.unwrap_or(0.0) >= 0.3;
    Ok(m.with_target("≥ 2 M/s and ratio ≥ 0.3 (tokio mpsc)", met))
}

/// `events.four_sub_per_s`: publish → four subscribers, each receiving every
/// event; baseline a tokio broadcast channel with four receivers. Target ≥ 1 M/s.
pub fn four_sub(events: usize) -> Result<Measurement> {
    let rt = runtime(2)?;
    let mut ours = Vec::with_capacity(RUNS);
    let mut base = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        ours.push(rt.block_on(fan_out(events, 4))?);
        base.push(rt.block_on(broadcast_baseline(events, 4))?);
    }
    let value = median(&mut ours);
    let baseline = median(&mut base);
    Ok(Measurement::new("events.four_sub_per_s", value, "per_s")
        .with_baseline(baseline)
        .with_target("≥ 1 M/s (tokio broadcast as baseline)", value >= 1e6))
}

async fn fan_out(events: usize, subscribers: usize) -> Result<f64> {
    let bus = EventBus::new();
    let options = SubscriptionOptions::new()
        .capacity(1024)
        .overflow(OverflowPolicy::Block {
            timeout: Duration::from_secs(30),
        });
    let mut consumers = Vec::new();
    for _ in 0..subscribers {
        let mut sub =
            bus.subscribe_with(TopicPattern::new("tool.*.completed")?, options.clone())?;
        consumers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while n < events {
                match sub.recv().await {
                    Some(ev) => {
                        black_box(&ev);
                        n += 1;
                    }
                    None => break,
                }
            }
            n
        }));
    }
    let topic = topic()?;
    let start = Instant::now();
    for i in 0..events {
        bus.publish(UniversalEvent::new(topic.clone(), payload(i)))
            .await?;
    }
    let mut received = 0;
    for c in consumers {
        received += c.await.unwrap_or(0);
    }
    let elapsed = start.elapsed();
    if received != events * subscribers {
        return Err(Error::Workload(format!(
            "lost events: {received} of {}",
            events * subscribers
        )));
    }
    Ok(per_sec(events, elapsed))
}

async fn mpsc_baseline(events: usize) -> Result<f64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<UniversalEvent>(1024);
    let consumer = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(ev) = rx.recv().await {
            black_box(&ev);
            n += 1;
        }
        n
    });
    let topic = topic()?;
    let start = Instant::now();
    for i in 0..events {
        let _ = tx
            .send(UniversalEvent::new(topic.clone(), payload(i)))
            .await;
    }
    drop(tx);
    let n = consumer.await.unwrap_or(0);
    Ok(per_sec(n, start.elapsed()))
}

async fn broadcast_baseline(events: usize, receivers: usize) -> Result<f64> {
    let (tx, _) = tokio::sync::broadcast::channel::<Arc<UniversalEvent>>(events.max(1));
    let mut consumers = Vec::new();
    for _ in 0..receivers {
        let mut rx = tx.subscribe();
        consumers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while n < events {
                match rx.recv().await {
                    Ok(ev) => {
                        black_box(&ev);
                        n += 1;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => n += k as usize,
                    Err(_) => break,
                }
            }
            n
        }));
    }
    let topic = topic()?;
    let start = Instant::now();
    for i in 0..events {
        let _ = tx.send(Arc::new(UniversalEvent::new(topic.clone(), payload(i))));
    }
    for c in consumers {
        let _ = c.await;
    }
    Ok(per_sec(events, start.elapsed()))
}

/// 1,000 distinct patterns of realistic shapes (exact, `*`, `**`, globs).
pub fn thousand_patterns() -> Vec<String> {
    (0..1000)
        .map(|i| match i % 5 {
            0 => format!("tenant{}.tool.t{i}.completed", i % 50),
            1 => format!("tenant{}.tool.t{i}.*", i % 50),
            2 => format!("tenant{}.agent{i}.**", i % 50),
            3 => format!("tenant{}.wf{i}*.step.*", i % 50),
            _ => format!("tenant{}.*.e{i}.done", i % 50),
        })
        .collect()
}

/// `events.route_1000_ns`: routing one topic among 1,000 patterns through the
/// segment trie ([`EventBus::subscriber_count`], the routing step of a
/// publish); baseline an exact-topic hash lookup. Target ≤ 200 ns.
pub fn route_1000(lookups: usize) -> Result<Measurement> {
    let bus = EventBus::new();
    let _subs = thousand_patterns()
        .iter()
        .map(|p| bus.subscribe(p))
        .collect::<llmspell_events::Result<Vec<_>>>()?;
    let topics: Vec<String> = (0..1000)
        .map(|i| match i % 4 {
            0 => format!("tenant{}.tool.t{i}.completed", i % 50),
            1 => format!("tenant{}.agent{}.x.y", i % 50, i - 1),
            2 => format!("tenant{}.wf{}x.step.run", i % 50, i - 2),
            _ => format!("tenant{}.none.e{i}.nothing", i % 50),
        })
        .collect();
    let exact: HashMap<String, usize> = topics.iter().cloned().zip(0..).collect();
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        for i in 0..lookups {
            black_box(bus.subscriber_count(&topics[i % topics.len()]));
        }
        ours.push(start.elapsed().as_nanos() as f64 / lookups as f64);
        let start = Instant::now();
        for i in 0..lookups {
            black_box(exact.get(topics[i % topics.len()].as_str()));
        }
        base.push(start.elapsed().as_nanos() as f64 / lookups as f64);
    }
    let value = median(&mut ours);
    let baseline = median(&mut base);
    Ok(Measurement::new("events.route_1000_ns", value, "ns")
        .with_baseline(baseline)
        .with_target(
            "≤ 200 ns (exact-topic hash lookup as baseline)",
            value <= 200.0,
        ))
}

/// `persist.sled_per_s`: events persisted to sled per second, batched off the
/// publish path, and the publish rate with persistence on against the same
/// bus without it. Target ≥ 50 K/s with a publish rate drop ≤ 10%.
///
/// Runs alternate, without and with persistence, in [`PERSIST_PAIRS`] pairs;
/// the drop is the median of the pairs' drops, so a slow phase of the machine
/// hits both sides of a pair rather than one side of the comparison. Both
/// sides have one ordinary subscriber, which reads the burst once it has been
/// published: a subscriber that keeps pace wakes on almost every event, and
/// how often it sleeps and wakes swings the publish rate by ±30% from run to
/// run whether or not anything is persisted, which would drown the figure.
/// The writer's queue holds twice the burst, so that the burst fits in the
/// half the writer may leave queued while it waits for publishing to pause
/// (`PersistenceConfig::defer_while_busy`, on by default).
pub fn persist_sled(events: usize) -> Result<Measurement> {
    let rt = runtime(2)?;
    let mut persisted = Vec::with_capacity(PERSIST_PAIRS);
    let mut drops = Vec::with_capacity(PERSIST_PAIRS);
    let mut without = Vec::with_capacity(PERSIST_PAIRS);
    for _ in 0..PERSIST_PAIRS {
        let base = rt.block_on(publish_rate(events, false))?.0;
        let (rate, per_s) = rt.block_on(publish_rate(events, true))?;
        drops.push((1.0 - rate / base.max(1e-9)) * 100.0);
        without.push(base);
        persisted.push(per_s);
    }
    let value = median(&mut persisted);
    let drop_pct = median(&mut drops);
    let rate_without = median(&mut without);
    Ok(Measurement::new("persist.sled_per_s", value, "per_s")
        .with_baseline(rate_without)
        .with_target(
            format!(
                "≥ 50 K/s; publish rate drop ≤ 10% (median of {PERSIST_PAIRS} pairs {drop_pct:.1}%)"
            ),
            value >= 50e3 && drop_pct <= 10.0,
        ))
}

/// Pairs of runs (without, with persistence) behind `persist.sled_per_s`.
pub const PERSIST_PAIRS: usize = 21;

/// Returns (publish rate, persisted per second).
async fn publish_rate(events: usize, persist: bool) -> Result<(f64, f64)> {
    let bus = EventBus::new();
    let mut sub = bus.subscribe_with(
        TopicPattern::new("tool.**")?,
        SubscriptionOptions::new().capacity(events.max(1)),
    )?;
    let published = Arc::new(tokio::sync::Notify::new());
    let go = published.clone();
    let drain = tokio::spawn(async move {
        go.notified().await;
        let mut n = 0usize;
        while n < events {
            if sub.recv().await.is_none() {
                break;
            }
            n += 1;
        }
    });
    let dir = std::env::temp_dir().join(format!("llmspell-bench-{}", uuid::Uuid::now_v7()));
    let persistence = if persist {
        let backend = SledBackend::open(dir.join("db"))?;
        let config = PersistenceConfig::new(["tool.**"])?.queue_capacity(2 * events.max(1));
        Some(bus.persist(EventStore::new(Arc::new(backend)), config)?)
    } else {
        None
    };
    let topic = topic()?;
    let start = Instant::now();
    for i in 0..events {
        bus.publish(UniversalEvent::new(topic.clone(), payload(i)))
            .await?;
    }
    let publish_rate = per_sec(events, start.elapsed());
    published.notify_one();
    let _ = drain.await;
    let mut persisted = 0.0;
    if let Some(p) = persistence {
        p.flush().await?;
        if p.stats().written as usize == events {
            persisted = per_sec(events, start.elapsed());
        }
        p.shutdown().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((publish_rate, persisted))
}

/// Resident set size of this process in bytes (Linux), if readable.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `memory.stalled_sub_mb`: RSS growth while 1 M events go to a subscriber
/// that never reads (capacity 1,024, `DropOldest`). Target ≤ 16 MB.
pub fn stalled_subscriber_memory(events: usize) -> Result<Measurement> {
    let bus = EventBus::new();
    let topic = topic()?;
    let before = rss_bytes();
    let sub = bus.subscribe_with(
        TopicPattern::new("tool.**")?,
        SubscriptionOptions::new().capacity(1024),
    )?;
    for i in 0..events {
        bus.try_publish(UniversalEvent::new(topic.clone(), payload(i)))?;
    }
    let after = rss_bytes();
    let queued = sub.stats().queued;
    drop(sub);
    Ok(match (before, after) {
        (Some(b), Some(a)) => {
            let mb = a.saturating_sub(b) as f64 / (1024.0 * 1024.0);
            Measurement::new("memory.stalled_sub_mb", mb, "mb")
                .with_baseline(b as f64 / (1024.0 * 1024.0))
                .with_target(
                    format!("≤ 16 MB ({queued} events held of {events})"),
                    mb <= 16.0 && queued <= 1024,
                )
        }
        _ => Measurement::new("memory.stalled_sub_mb", f64::NAN, "mb")
            .with_target("≤ 16 MB (RSS unreadable on this platform)", false),
    })
}
