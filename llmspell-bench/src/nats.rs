//! The NATS metrics of `llmspell bench`: the event bridge's throughput
//! against raw async-nats publish → subscribe, and the latency of a remote
//! hook call, both through one nats-server in the same run.
//!
//! The server is `LLMSPELL_BENCH_NATS` (a URL) when set; otherwise the
//! suite starts `nats-server` (from `PATH` or `/usr/sbin`) on a free
//! loopback port for the measurement and stops it after. With neither, the
//! metrics are reported as skipped, with the reason.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llmspell_core::ComponentId;
use llmspell_events::{
    EventBus, OverflowPolicy, SubscriptionOptions, Topic, TopicPattern, UniversalEvent,
};
use llmspell_hooks::{HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry, HookResult};
use llmspell_nats::{HookServer, NatsConfig, NatsLink, RemoteHook, RemoteHookConfig};

use crate::{Error, Measurement, Result, median};

/// The environment variable naming a server to measure against.
pub const SERVER_ENV: &str = "LLMSPELL_BENCH_NATS";

const RUNS: usize = 5;

/// A server for the measurement: the one named, or one started here.
struct Server {
    url: String,
    child: Option<(Child, PathBuf)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some((mut c, dir)) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn server() -> std::result::Result<Server, String> {
    if let Ok(url) = std::env::var(SERVER_ENV) {
        return Ok(Server { url, child: None });
    }
    let program = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("no NATS server: set {SERVER_ENV} to a URL or install nats-server")
        })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let dir =
        std::env::temp_dir().join(format!("llmspell-bench-nats-{}-{port}", std::process::id()));
    let child = Command::new(&program)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let server = Server {
        url: format!("nats://127.0.0.1:{port}"),
        child: Some((child, dir)),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nats-server did not listen on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

fn skipped(metric: &'static str, unit: &'static str, target: &str, why: &str) -> Measurement {
    Measurement::new(metric, f64::NAN, unit).with_target(format!("{target} — skipped: {why}"), true)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Workload(format!("cannot start a tokio runtime: {e}")))
}

fn nats_err(e: impl std::fmt::Display) -> Error {
    Error::Workload(format!("NATS: {e}"))
}

/// `nats.bridge_ratio`: events per second from one bus through the bridge
/// and the server into another bus's subscriber, against raw async-nats
/// publish → subscribe of the same messages (payload and headers) through
/// the same server. Target ratio ≥ 0.7. Raw messages without headers are
/// measured too and reported beside the target.
pub fn bridge_ratio(events: usize) -> Result<Measurement> {
    const TARGET: &str = "ratio ≥ 0.7 (raw async-nats publish → subscribe of the same messages)";
    let server = match server() {
        Ok(s) => s,
        Err(why) => return Ok(skipped("nats.bridge_ratio", "ratio", TARGET, &why)),
    };
    let rt = runtime()?;
    let (mut ours, mut same, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        plain.push(rt.block_on(raw(&server.url, events, run, false))?);
        same.push(rt.block_on(raw(&server.url, events, run, true))?);
        ours.push(rt.block_on(bridged(&server.url, events, run))?);
    }
    let value = median(&mut ours);
    let plain = median(&mut plain);
    let baseline = median(&mut same);
    // The baseline moves the same messages as the bridge: the payload and
    // the headers every bridged event carries (id, time, language, origin).
    // Raw messages without headers are reported beside it: async-nats
    // parses headers into a map per message, which alone costs most of the
    // gap between the two.
    let m = Measurement::new("nats.bridge_ratio", value, "per_s").with_baseline(baseline);
    let met = m.ratio.unwrap_or(0.0) >= 0.7;
    Ok(m.with_target(
        format!(
            "{TARGET}; raw without headers: {plain:.0}/s, ratio {:.2}",
            value / plain.max(1.0)
        ),
        met,
    ))
}

/// Raw async-nats publish → subscribe of `events` small JSON payloads;
/// with `headers`, each message also carries the headers the bridge would
/// give it.
async fn raw(url: &str, events: usize, run: usize, headers: bool) -> Result<f64> {
    let client = async_nats::connect(url).await.map_err(nats_err)?;
    let subject = format!("raw{run}{}.bench.x", if headers { "h" } else { "" });
    let topic = Topic::new("bench.x")?;
    let mut sub = client.subscribe(subject.clone()).await.map_err(nats_err)?;
    client.flush().await.map_err(nats_err)?;
    let start = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut n = 0;
        while n < events && sub.next().await.is_some() {
            n += 1;
        }
        n
    });
    for i in 0..events {
        if headers {
            let ev = UniversalEvent::new(topic.clone(), serde_json::json!({ "i": i }));
            let (h, payload) = llmspell_nats::codec::encode(&ev, "bench-raw").map_err(nats_err)?;
            client
                .publish_with_headers(subject.clone(), h, payload)
                .await
                .map_err(nats_err)?;
            continue;
        }
        let payload = serde_json::to_vec(&serde_json::json!({ "i": i }))
            .map_err(|e| Error::Workload(e.to_string()))?;
        client
            .publish(subject.clone(), payload.into())
            .await
            .map_err(nats_err)?;
    }
    client.flush().await.map_err(nats_err)?;
    let got = tokio::time::timeout(Duration::from_secs(60), consumer)
        .await
        .map_err(|_| Error::Workload("raw subscriber did not get every message in 60 s".into()))?
        .map_err(|e| Error::Workload(e.to_string()))?;
    if got < events {
        return Err(Error::Workload(format!(
            "raw subscriber got {got} of {events}"
        )));
    }
    Ok(events as f64 / start.elapsed().as_secs_f64())
}

async fn bridged(url: &str, events: usize, run: usize) -> Result<f64> {
    let prefix = format!("bridge{run}");
    let (a, b) = (EventBus::new(), EventBus::new());
    let base = NatsConfig::new(url).prefix(prefix);
    let link_a = NatsLink::start(
        base.clone()
            .node("bench-a")
            .publish("bench.**")
            .outbound_queue(events.max(1), OverflowPolicy::DropOldest),
        a.clone(),
    )
    .await
    .map_err(nats_err)?;
    let mut config_b = base.node("bench-b").subscribe("bench.**");
    config_b.inbound_capacity = 65_536;
    let link_b = NatsLink::start(config_b, b.clone())
        .await
        .map_err(nats_err)?;
    let mut sub = b.subscribe_with(
        TopicPattern::new("bench.**")?,
        SubscriptionOptions::new()
            .capacity(events.clamp(1, SubscriptionOptions::MAX_CAPACITY))
            .overflow(OverflowPolicy::Block {
                timeout: Duration::from_secs(30),
            }),
    )?;
    let topic = Topic::new("bench.x")?;
    let start = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut n = 0;
        while n < events && sub.recv().await.is_some() {
            n += 1;
        }
        n
    });
    for i in 0..events {
        a.publish(UniversalEvent::new(
            topic.clone(),
            serde_json::json!({ "i": i }),
        ))
        .await?;
    }
    let got = tokio::time::timeout(Duration::from_secs(60), consumer)
        .await
        .map_err(|_| {
            Error::Workload("the bridged subscriber did not get every event in 60 s".into())
        })?
        .map_err(|e| Error::Workload(e.to_string()))?;
    let rate = events as f64 / start.elapsed().as_secs_f64();
    link_a.shutdown().await;
    link_b.shutdown().await;
    if got < events {
        return Err(Error::Workload(format!(
            "the bridged subscriber got {got} of {events}"
        )));
    }
    Ok(rate)
}

/// `nats.remote_hook_p50_us`: the median latency of firing a point whose
/// one hook is a [`RemoteHook`] answered by a [`HookServer`] running one
/// no-op hook, on loopback. Target ≤ 500 µs.
pub fn remote_hook_p50(calls: usize) -> Result<Measurement> {
    const TARGET: &str = "p50 ≤ 500 µs on loopback";
    let server = match server() {
        Ok(s) => s,
        Err(why) => return Ok(skipped("nats.remote_hook_p50_us", "us", TARGET, &why)),
    };
    let rt = runtime()?;
    let value = rt.block_on(async {
        let point = HookPoint::BeforeToolExecution;
        let served = HookRegistry::new();
        let _noop = served.register(point.clone(), crate::hooks::NoopHook);
        let client = async_nats::connect(&server.url).await.map_err(nats_err)?;
        let _server = HookServer::start(
            client.clone(),
            "benchhooks",
            "policy",
            std::slice::from_ref(&point),
            HookExecutor::new(served),
        )
        .await
        .map_err(nats_err)?;
        let registry = HookRegistry::new();
        let _remote = registry.register_with(
            point.clone(),
            Arc::new(RemoteHook::new(
                client,
                "benchhooks",
                "caller",
                &RemoteHookConfig::new(point.clone()),
            )),
            HookOptions::new(),
        )?;
        let executor = HookExecutor::new(registry);
        let mut samples = Vec::with_capacity(calls);
        for i in 0..calls + 100 {
            let mut ctx = HookContext::new(
                point.clone(),
                ComponentId::tool("calculator"),
                serde_json::json!({ "i": i }),
            );
            let t = Instant::now();
            let out = executor.execute_point(&mut ctx).await?;
            let us = t.elapsed().as_secs_f64() * 1e6;
            if out.skipped > 0 || *out.result() != HookResult::Continue {
                return Err(Error::Workload(format!(
                    "the remote hook did not answer: {out:?}"
                )));
            }
            if i >= 100 {
                samples.push(us);
            }
        }
        Ok::<f64, Error>(median(&mut samples))
    })?;
    Ok(
        Measurement::new("nats.remote_hook_p50_us", value, "us")
            .with_target(TARGET, value <= 500.0),
    )
}
