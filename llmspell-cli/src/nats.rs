//! `[nats]` and the `--nats` flags: the runtime's NATS link (bridged
//! events, durable history, served and remote hooks), `llmspell hooks
//! serve`, and the stream that `llmspell events --from nats` reads.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use llmspell_bridge::ScriptRuntime;
use llmspell_config::schema::{NatsSection, NatsStreamSection, RemoteHookSection};
use llmspell_events::OverflowPolicy;
use llmspell_hooks::HookPoint;
use llmspell_nats::{JetStreamHistory, NatsConfig, NatsLink, RemoteHookConfig, StreamConfig};

use crate::cli::RuntimeArgs;

/// The NATS flags; each overrides the `[nats]` value of the configuration
/// file, and any of them turns NATS on.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct NatsArgs {
    /// Connect to NATS at this URL (nats://127.0.0.1:4222) and share
    /// events and hooks with other hosts
    #[arg(long = "nats", value_name = "URL")]
    pub(crate) url: Option<String>,
    /// NATS subject prefix [default: llmspell]
    #[arg(long = "nats-prefix", value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// This host's name on NATS [default: the durable name, else HOSTNAME-PID]
    #[arg(long = "nats-node", value_name = "NAME")]
    pub(crate) node: Option<String>,
    /// Topic patterns bridged both ways (repeatable)
    #[arg(long = "nats-bridge", value_name = "PATTERN")]
    pub(crate) bridge: Vec<String>,
    /// Topic patterns only sent to NATS (repeatable)
    #[arg(long = "nats-publish", value_name = "PATTERN")]
    pub(crate) publish: Vec<String>,
    /// Topic patterns only delivered from NATS (repeatable)
    #[arg(long = "nats-subscribe", value_name = "PATTERN")]
    pub(crate) subscribe: Vec<String>,
    /// Keep bridged events in a JetStream stream (the [nats.stream] defaults)
    #[arg(long = "nats-stream")]
    pub(crate) stream: bool,
    /// Read events from NATS through this durable consumer (turns the stream on)
    #[arg(long = "nats-durable", value_name = "NAME")]
    pub(crate) durable: Option<String>,
    /// Where a new durable consumer starts: new or all [default: new]
    #[arg(long = "nats-start", value_name = "WHERE")]
    pub(crate) start: Option<String>,
    /// Serve this runtime's hooks of a point to other hosts (repeatable)
    #[arg(long = "nats-serve", value_name = "POINT")]
    pub(crate) serve: Vec<HookPoint>,
    /// Call the hooks another host serves at a point: POINT, POINT:open or
    /// POINT:closed (repeatable)
    #[arg(long = "nats-remote-hook", value_name = "POINT[:FAIL]")]
    pub(crate) remote_hooks: Vec<String>,
    /// Outbound queue capacity [default: 10000]
    #[arg(long = "nats-queue", value_name = "N")]
    pub(crate) queue: Option<usize>,
    /// What a full outbound queue does: drop_oldest, drop_newest, block, reject
    #[arg(long = "nats-overflow", value_name = "POLICY")]
    pub(crate) overflow: Option<String>,
}

impl NatsArgs {
    fn any(&self) -> bool {
        self.url.is_some()
            || self.prefix.is_some()
            || self.node.is_some()
            || !self.bridge.is_empty()
            || !self.publish.is_empty()
            || !self.subscribe.is_empty()
            || self.stream
            || self.durable.is_some()
            || self.start.is_some()
            || !self.serve.is_empty()
            || !self.remote_hooks.is_empty()
            || self.queue.is_some()
            || self.overflow.is_some()
    }

    /// Puts these flags over the file's `[nats]`.
    ///
    /// # Errors
    /// A malformed `--nats-remote-hook`.
    pub(crate) fn apply(&self, section: &mut Option<NatsSection>) -> anyhow::Result<()> {
        if !self.any() {
            return Ok(());
        }
        let s = section.get_or_insert_with(NatsSection::default);
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut s.url, &self.url);
        set(&mut s.prefix, &self.prefix);
        set(&mut s.node, &self.node);
        set(&mut s.durable, &self.durable);
        set(&mut s.start, &self.start);
        set(&mut s.overflow, &self.overflow);
        for (slot, v) in [
            (&mut s.bridge, &self.bridge),
            (&mut s.publish, &self.publish),
            (&mut s.subscribe, &self.subscribe),
        ] {
            if !v.is_empty() {
                *slot = Some(v.clone());
            }
        }
        if !self.serve.is_empty() {
            s.serve_hooks = Some(self.serve.clone());
        }
        if self.queue.is_some() {
            s.queue_capacity = self.queue;
        }
        if (self.stream || self.durable.is_some()) && s.stream.is_none() {
            s.stream = Some(NatsStreamSection::default());
        }
        if !self.remote_hooks.is_empty() {
            s.remote_hooks = self
                .remote_hooks
                .iter()
                .map(|r| remote_hook_flag(r))
                .collect::<anyhow::Result<_>>()?;
        }
        Ok(())
    }
}

/// `POINT`, `POINT:open` or `POINT:closed`.
fn remote_hook_flag(text: &str) -> anyhow::Result<RemoteHookSection> {
    let (point, fail) = match text.rsplit_once(':') {
        Some((p, f @ ("open" | "closed"))) => (p, f),
        _ => (text, "open"),
    };
    Ok(RemoteHookSection {
        point: point
            .parse()
            .map_err(|e| anyhow::anyhow!("--nats-remote-hook {text:?}: {e}"))?,
        timeout_ms: None,
        fail: fail
            .parse()
            .map_err(|e| anyhow::anyhow!("--nats-remote-hook: {e}"))?,
        component: None,
        name: None,
    })
}

/// The link settings `[nats]` describes, or `None` when there is no
/// `[nats]`.
///
/// # Errors
/// A setting the link refuses, named as `[nats] key: why`.
pub(crate) fn nats_config(section: Option<&NatsSection>) -> anyhow::Result<Option<NatsConfig>> {
    let Some(s) = section else { return Ok(None) };
    let mut c = NatsConfig::new(
        s.url
            .clone()
            .unwrap_or_else(|| llmspell_nats::DEFAULT_URL.to_owned()),
    );
    c.credentials_file.clone_from(&s.credentials_file);
    if let Some(p) = &s.prefix {
        c.prefix.clone_from(p);
    }
    c.node.clone_from(&s.node);
    c.bridge = s.bridge.clone().unwrap_or_default();
    c.publish = s.publish.clone().unwrap_or_default();
    c.subscribe = s.subscribe.clone().unwrap_or_default();
    if let Some(n) = s.queue_capacity {
        c.queue_capacity = n;
    }
    if let Some(o) = &s.overflow {
        c.overflow = match o
            .parse::<OverflowPolicy>()
            .map_err(|e| anyhow::anyhow!("[nats] overflow: {e}"))?
        {
            OverflowPolicy::Block { timeout } => OverflowPolicy::Block {
                timeout: s.block_timeout_ms.map_or(timeout, Duration::from_millis),
            },
            other => other,
        };
    }
    if let Some(n) = s.inbound_capacity {
        c.inbound_capacity = n;
    }
    c.durable.clone_from(&s.durable);
    // Scripts subscribe after the link starts: what the durable consumer
    // holds waits for them.
    c.wait_for_subscriber = true;
    if let Some(start) = &s.start {
        c.start = start.parse().map_err(|e| anyhow::anyhow!("[nats] {e}"))?;
    }
    if let Some(ms) = s.connect_timeout_ms {
        c.connect_timeout = Duration::from_millis(ms);
    }
    c.serve_hooks = s.serve_hooks.clone().unwrap_or_default();
    c.remote_hooks = s
        .remote_hooks
        .iter()
        .map(|r| RemoteHookConfig {
            point: r.point.clone(),
            timeout: r
                .timeout_ms
                .map_or(Duration::from_secs(2), Duration::from_millis),
            fail_mode: r.fail,
            component: r.component.clone(),
            name: r.name.clone(),
        })
        .collect();
    c.stream = s.stream.as_ref().map(|st| {
        let d = StreamConfig::default();
        StreamConfig {
            name: st.name.clone(),
            max_age: st.max_age_secs.map(Duration::from_secs),
            max_bytes: st.max_bytes,
            max_events: st.max_events,
            duplicate_window: st
                .duplicate_window_secs
                .map_or(d.duplicate_window, Duration::from_secs),
            memory: st.memory.unwrap_or(false),
        }
    });
    c.validate().map_err(|e| anyhow::anyhow!("[nats] {e}"))?;
    Ok(Some(c))
}

/// A runtime's link and the tokio runtime its tasks run on.
pub(crate) struct RuntimeLink {
    tokio: tokio::runtime::Runtime,
    link: Option<NatsLink>,
}

impl RuntimeLink {
    /// Connects `runtime` to NATS as `config` says (nothing without one),
    /// and registers the remote hooks.
    ///
    /// # Errors
    /// The server cannot be reached, the stream or consumer cannot be made.
    pub(crate) fn start(
        config: Option<NatsConfig>,
        runtime: &ScriptRuntime,
    ) -> anyhow::Result<Self> {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llmspell-nats")
            .enable_all()
            .build()?;
        let link = match config {
            None => None,
            Some(c) => {
                let mut link = tokio
                    .block_on(NatsLink::start(c, runtime.bus().clone()))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                link.add_remote_hooks(runtime.hooks())
                    .map_err(|e| anyhow::anyhow!("[nats] remote_hooks: {e}"))?;
                Some(link)
            }
        };
        Ok(Self { tokio, link })
    }

    /// Starts serving the configured hook points with the runtime's hooks.
    ///
    /// # Errors
    /// A subscription that cannot be made.
    pub(crate) fn serve(&mut self, runtime: &ScriptRuntime) -> anyhow::Result<Vec<String>> {
        let Some(link) = self.link.as_mut() else {
            return Ok(Vec::new());
        };
        self.tokio
            .block_on(link.serve(runtime.executor().clone()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(link.served_subjects())
    }

    /// The link, when NATS is on.
    pub(crate) fn link(&self) -> Option<&NatsLink> {
        self.link.as_ref()
    }

    /// Sends what is still queued (at most `timeout`), then closes the link.
    /// Returns false when events were left unsent.
    pub(crate) fn finish(mut self, timeout: Duration) -> bool {
        let Some(link) = self.link.take() else {
            return true;
        };
        let flushed = self.tokio.block_on(link.flush(timeout));
        if !flushed {
            eprintln!(
                "llmspell: NATS: events were still queued after {:.1} s; they are not sent ({:?})",
                timeout.as_secs_f64(),
                link.stats()
            );
        }
        self.tokio.block_on(link.shutdown());
        flushed
    }
}

/// `llmspell hooks serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Script files that register the hooks to serve
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Points to serve (repeatable; default: [nats] serve_hooks)
    #[arg(long = "point", value_name = "POINT")]
    pub(crate) points: Vec<HookPoint>,
    /// Stop after this many seconds (default: until interrupted)
    #[arg(long = "for", value_name = "SECS")]
    pub(crate) duration: Option<f64>,
    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,
}

/// Runs the files, then answers remote hook requests for the points until
/// interrupted (SIGINT, SIGTERM) or `--for` passes.
pub(crate) fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let mut effective = args.runtime.effective()?;
    let section = effective.file.nats.get_or_insert_with(NatsSection::default);
    if !args.points.is_empty() {
        section.serve_hooks = Some(args.points.clone());
    }
    if section.serve_hooks.as_ref().is_none_or(Vec::is_empty) {
        bail!("nothing to serve: name the points with --point POINT (or [nats] serve_hooks)");
    }
    let nats = nats_config(effective.file.nats.as_ref())?;
    let config = crate::config::runtime_config(&effective)?;
    let runtime = ScriptRuntime::new(config).context("cannot start the runtime")?;
    let mut failed = false;
    if let Err(e) = runtime.preload_configured() {
        eprintln!("{e}");
        failed = true;
    }
    for f in &args.files {
        if let Err(e) = runtime.run_file(f) {
            eprintln!("{e}");
            failed = true;
        }
    }
    if failed {
        runtime.shutdown()?;
        return Ok(ExitCode::from(1));
    }
    let mut link = RuntimeLink::start(nats, &runtime)?;
    let subjects = link.serve(&runtime)?;
    let node = link.link().map(|l| l.node().to_owned()).unwrap_or_default();
    eprintln!(
        "llmspell: serving hooks on {} as {node}",
        subjects.join(", ")
    );
    let duration = args
        .duration
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(Duration::from_secs_f64);
    link.tokio.block_on(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let timer = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
            () = timer => {}
        }
    });
    if let Some(l) = link.link() {
        eprintln!(
            "llmspell: served {} request(s)",
            l.stats().hook_requests_served
        );
    }
    link.finish(Duration::from_secs(2));
    runtime.shutdown()?;
    Ok(ExitCode::SUCCESS)
}

/// Where `llmspell events` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Source {
    /// The local store under the data directory
    #[default]
    Sled,
    /// The JetStream stream of [nats] (or --nats)
    Nats,
}

/// The stream `[nats]` (in the working directory's llmspell.toml) and the
/// flags name.
///
/// # Errors
/// No server reachable, no such stream.
pub(crate) fn history(
    tokio: &tokio::runtime::Runtime,
    url: Option<&str>,
    prefix: Option<&str>,
    stream: Option<&str>,
) -> anyhow::Result<JetStreamHistory> {
    let file = RuntimeArgs::default().file()?;
    let section = file
        .as_ref()
        .and_then(|c| c.file.nats.clone())
        .unwrap_or_default();
    let mut config =
        nats_config(Some(&section))?.unwrap_or_else(|| NatsConfig::new(llmspell_nats::DEFAULT_URL));
    if let Some(u) = url {
        config.url = u.to_owned();
    }
    if let Some(p) = prefix {
        config.prefix = p.to_owned();
    }
    let stream = stream.map_or_else(
        || {
            config
                .stream
                .clone()
                .unwrap_or_default()
                .name_for(&config.prefix)
        },
        str::to_owned,
    );
    tokio.block_on(async {
        let client = llmspell_nats::connect(&config)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        JetStreamHistory::open(client, &config.prefix, &stream)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
}
