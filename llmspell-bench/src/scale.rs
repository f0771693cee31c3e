//! The scale metrics of `llmspell bench`: how costs grow with the number of
//! hooks, subscriptions and events.
//!
//! - `scale.hooks_per_point_1000_ns`: firing a point where 1,000 hooks are
//!   registered, each limited to its own component, and one matches.
//! - `scale.patterns_100k_route_ns`: routing a topic among 100,000
//!   subscriptions with distinct patterns.
//! - `scale.soak_rss_mb`: memory growth over millions of events with
//!   subscribers coming and going and persistence on.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use llmspell_core::ComponentId;
use llmspell_events::{
    EventBus, EventStore, PersistenceConfig, SubscriptionOptions, Topic, TopicPattern,
    UniversalEvent,
};
use llmspell_hooks::{HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry};
use llmspell_storage::SledBackend;
use serde_json::json;

use crate::events::rss_bytes;
use crate::hooks::NoopHook;
use crate::{Error, Measurement, Result, current_thread_runtime as runtime, median};

const RUNS: usize = 5;

/// `scale.hooks_per_point_1000_ns`: ns per firing of a point with 1,000
/// hooks, each limited to a component of its own, fired for the component
/// of one of them. Target ≤ 5 µs.
///
/// # Errors
/// When no runtime can be started or a hook cannot be registered.
pub fn hooks_per_point_1000(iters: u32) -> Result<Measurement> {
    let rt = runtime()?;
    let registry = HookRegistry::new();
    for i in 0..1000 {
        registry
            .register_with(
                HookPoint::BeforeToolExecution,
                Arc::new(NoopHook),
                HookOptions::new().component(format!("tool-{i:04}")),
            )?
            .forget();
    }
    let executor = HookExecutor::new(registry);
    let mut ctx = HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("tool-0500"),
        json!({ "x": 1 }),
    );
    let mut samples = Vec::with_capacity(RUNS);
    let mut ran = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                if let Ok(outcome) = executor.execute_point(&mut ctx).await {
                    ran = outcome.ran;
                }
            }
        });
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    let value = median(&mut samples);
    Ok(
        Measurement::new("scale.hooks_per_point_1000_ns", value, "ns").with_target(
            format!("≤ 5000 ns ({ran} of 1,000 hooks ran)"),
            value <= 5000.0 && ran == 1,
        ),
    )
}

/// 100,000 distinct patterns of the shapes of the 1,000 of
/// `events.route_1000_ns`.
fn patterns(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 5 {
            0 => format!("tenant{}.tool.t{i}.completed", i % 500),
            1 => format!("tenant{}.tool.t{i}.*", i % 500),
            2 => format!("tenant{}.agent{i}.**", i % 500),
            3 => format!("tenant{}.wf{i}*.step.*", i % 500),
            _ => format!("tenant{}.*.e{i}.done", i % 500),
        })
        .collect()
}

/// `scale.patterns_100k_route_ns`: routing one topic among 100,000
/// subscriptions with distinct patterns (`EventBus::subscriber_count`, the
/// routing step of a publish). Target ≤ 500 ns.
///
/// # Errors
/// When a pattern is refused.
pub fn patterns_100k_route(lookups: usize) -> Result<Measurement> {
    let bus = EventBus::new();
    let _subs = patterns(100_000)
        .iter()
        .map(|p| bus.subscribe(p))
        .collect::<llmspell_events::Result<Vec<_>>>()?;
    let topics: Vec<String> = (0..1000)
        .map(|i| match i % 4 {
            0 => format!("tenant{}.tool.t{i}.completed", i % 500),
            1 => format!("tenant{}.agent{}.x.y", i % 500, i - 1),
            2 => format!("tenant{}.wf{}x.step.run", i % 500, i - 2),
            _ => format!("tenant{}.none.e{i}.nothing", i % 500),
        })
        .collect();
    let mut samples = Vec::with_capacity(RUNS);
    let mut matched = 0usize;
    for _ in 0..RUNS {
        let start = Instant::now();
        for i in 0..lookups {
            matched += black_box(bus.subscriber_count(&topics[i % topics.len()]));
        }
        samples.push(start.elapsed().as_nanos() as f64 / lookups as f64);
    }
    let value = median(&mut samples);
    Ok(
        Measurement::new("scale.patterns_100k_route_ns", value, "ns").with_target(
            format!(
                "≤ 500 ns ({:.2} matching subscriptions per topic)",
                matched as f64 / (RUNS * lookups) as f64
            ),
            value <= 500.0 && matched > 0,
        ),
    )
}

/// `scale.soak_rss_mb`: RSS growth over `events` events published to a bus
/// persisting them to sled, while four subscribers read them and one of
/// them is replaced every 1,000 events. Measured from the end of a warm-up
/// of a tenth of the events. Target ≤ 32 MB.
///
/// # Errors
/// When the store cannot be opened or an event cannot be published.
pub fn soak_rss(events: usize) -> Result<Measurement> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Workload(format!("cannot start a tokio runtime: {e}")))?;
    let dir = std::env::temp_dir().join(format!("llmspell-soak-{}", uuid::Uuid::now_v7()));
    let result = rt.block_on(soak(events, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    let (growth, written) = result?;
    let mb = growth as f64 / (1024.0 * 1024.0);
    Ok(Measurement::new("scale.soak_rss_mb", mb, "mb").with_target(
        format!("≤ 32 MB over {events} events with subscriber churn ({written} persisted)"),
        mb <= 32.0 && written as usize >= events,
    ))
}

/// Runs the soak; returns (RSS growth in bytes, events persisted).
async fn soak(events: usize, dir: &std::path::Path) -> Result<(u64, u64)> {
    let bus = EventBus::new();
    let backend = SledBackend::open(dir.join("db"))?;
    let persistence = bus.persist(
        EventStore::new(Arc::new(backend)),
        PersistenceConfig::new(["soak.**"])?,
    )?;
    let topic = Topic::new("soak.tool.completed")?;
    let options = || SubscriptionOptions::new().capacity(1024);
    let pattern = TopicPattern::new("soak.**")?;
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(bus.subscribe_with(pattern.clone(), options())?);
    }
    let warm_up = events / 10;
    let mut before = None;
    for i in 0..warm_up + events {
        if i == warm_up {
            persistence.flush().await?;
            before = rss_bytes();
        }
        bus.publish(UniversalEvent::new(
            topic.clone(),
            json!({ "i": i, "tool": "calculator", "ok": true }),
        ))
        .await?;
        for sub in &mut subs {
            while sub.try_recv().is_some() {}
        }
        if i % 1000 == 999 {
            let k = (i / 1000) % subs.len();
            subs[k] = bus.subscribe_with(pattern.clone(), options())?;
        }
    }
    persistence.flush().await?;
    let after = rss_bytes();
    let written = persistence.stats().written;
    persistence.shutdown().await?;
    match (before, after) {
        (Some(b), Some(a)) => Ok((a.saturating_sub(b), written)),
        _ => Err(Error::Workload("RSS unreadable on this platform".into())),
    }
}
