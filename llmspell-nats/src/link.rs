//! The link: one NATS connection for a runtime, with its bridge, durable
//! consumer, hook server and remote hooks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_nats::{Client, ConnectOptions, jetstream};
use llmspell_events::{EventBus, SubscriptionId, SubscriptionOptions, TopicPattern};
use llmspell_hooks::{HookExecutor, HookHandle, HookOptions, HookRegistry};
use tokio::task::JoinHandle;

use crate::config::NatsConfig;
use crate::outbound::Progress;
use crate::seen::SeenIds;
use crate::serve::HookServer;
use crate::stats::{Counters, NatsStats};
use crate::status::ConnectionReporter;
use crate::subject::{SubjectFilter, minimal_subjects};
use crate::{Error, RemoteHook, Result, inbound, outbound, stream};

/// Event ids remembered for de-duplication and echo suppression.
const SEEN: usize = 1 << 16;

/// What the link's tasks share.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) js: Option<jetstream::Context>,
    pub(crate) bus: EventBus,
    pub(crate) prefix: String,
    pub(crate) node: String,
    pub(crate) counters: Arc<Counters>,
    pub(crate) seen: SeenIds,
}

/// A runtime's connection to NATS: the event bridge (configured topics out
/// to `<prefix>.<topic>`, subjects in to the local bus, no echo loops,
/// bounded queues both ways), durable history in a JetStream stream with a
/// durable consumer, served hooks and remote hooks.
///
/// Start it inside a tokio runtime that outlives it: its tasks run there.
/// The connection comes back by itself after a loss; losses and returns are
/// published as `nats.connection.*` events and counted in
/// [`stats`](Self::stats).
pub struct NatsLink {
    shared: Arc<Shared>,
    config: NatsConfig,
    stream: Option<String>,
    outbound: Option<SubscriptionId>,
    progress: Arc<Progress>,
    tasks: Vec<JoinHandle<()>>,
    server: Option<HookServer>,
    remote: Vec<HookHandle>,
}

impl std::fmt::Debug for NatsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsLink")
            .field("url", &self.config.url)
            .field("node", &self.shared.node)
            .field("stream", &self.stream)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Connects with the link's options.
pub(crate) async fn connect(
    config: &NatsConfig,
    node: &str,
    reporter: Option<ConnectionReporter>,
) -> Result<Client> {
    let mut options = ConnectOptions::new()
        .name(format!("llmspell {node}"))
        .no_echo()
        .subscription_capacity(config.inbound_capacity.max(64))
        .connection_timeout(config.connect_timeout)
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((50 * attempts as u64).min(1000))
        });
    if let Some(r) = reporter {
        options = options.event_callback(move |event| {
            let r = r.clone();
            async move { r.on_event(event) }
        });
    }
    if let Some(path) = &config.credentials_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| Error::Connect {
                url: config.url.clone(),
                message: format!("cannot read the credentials file {}: {e}", path.display()),
            })?;
    }
    let connecting = options.connect(config.url.as_str());
    match tokio::time::timeout(
        config.connect_timeout + Duration::from_millis(500),
        connecting,
    )
    .await
    {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(Error::Connect {
            url: config.url.clone(),
            message: e.to_string(),
        }),
        Err(_) => Err(Error::Connect {
            url: config.url.clone(),
            message: format!("no answer within {} ms", config.connect_timeout.as_millis()),
        }),
    }
}

impl NatsLink {
    /// Connects to the server of `config` and starts bridging events of
    /// `bus`: creates or updates the stream, the durable consumer and the
    /// subscriptions before returning.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`], [`Error::Connect`] when the server cannot be
    /// reached within the connect timeout, [`Error::JetStream`] when the
    /// stream or consumer cannot be made.
    pub async fn start(config: NatsConfig, bus: EventBus) -> Result<Self> {
        config.validate()?;
        let node = config.node_name();
        let counters = Arc::new(Counters::default());
        let reporter = ConnectionReporter {
            bus: bus.clone(),
            counters: counters.clone(),
            node: node.clone(),
            url: config.url.clone(),
        };
        let client = connect(&config, &node, Some(reporter)).await?;
        counters.connected.store(true, Ordering::Relaxed);
        let js = config
            .stream
            .as_ref()
            .map(|_| jetstream::new(client.clone()));
        let outbound_patterns = config.outbound_patterns();
        let inbound_patterns = config.inbound_patterns();
        let mut stream_name = None;
        if let (Some(js), Some(sc)) = (&js, &config.stream) {
            let subjects = outbound_patterns
                .iter()
                .chain(&inbound_patterns)
                .map(|p| SubjectFilter::new(&config.prefix, p).map(|f| f.subjects))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten();
            stream_name = Some(stream::ensure(js, &config.prefix, sc, subjects.collect()).await?);
        }
        let shared = Arc::new(Shared {
            client,
            js,
            bus: bus.clone(),
            prefix: config.prefix.clone(),
            node,
            counters,
            seen: SeenIds::new(SEEN),
        });
        let progress = Arc::new(Progress::default());
        let mut tasks = Vec::new();
        let mut outbound_id = None;
        if !outbound_patterns.is_empty() {
            let (pattern, filters) = match outbound_patterns.as_slice() {
                [one] => (TopicPattern::new(one)?, None),
                many => (
                    TopicPattern::new("**")?,
                    Some(
                        many.iter()
                            .map(TopicPattern::new)
                            .collect::<llmspell_events::Result<Vec<_>>>()?,
                    ),
                ),
            };
            let sub = bus.subscribe_with(
                pattern,
                SubscriptionOptions::new()
                    .capacity(config.queue_capacity)
                    .overflow(config.overflow)
                    .name("nats-bridge")
                    .internal(),
            )?;
            outbound_id = Some(sub.id());
            tasks.push(tokio::spawn(outbound::run(
                shared.clone(),
                sub,
                filters,
                progress.clone(),
            )));
        }
        if !inbound_patterns.is_empty() {
            let patterns = inbound_patterns
                .iter()
                .map(TopicPattern::new)
                .collect::<llmspell_events::Result<Vec<_>>>()?;
            let (ready_tx, ready) = tokio::sync::oneshot::channel();
            match (&config.durable, &stream_name) {
                (Some(durable), Some(stream)) => tasks.push(tokio::spawn(inbound::run_durable(
                    shared.clone(),
                    inbound::Durable {
                        stream: stream.clone(),
                        name: durable.clone(),
                        start: config.start,
                        capacity: config.inbound_capacity,
                        wait_for_subscriber: config.wait_for_subscriber,
                    },
                    patterns,
                    progress.clone(),
                    ready_tx,
                ))),
                _ => {
                    let subjects = minimal_subjects(
                        inbound_patterns
                            .iter()
                            .map(|p| SubjectFilter::new(&config.prefix, p).map(|f| f.subjects))
                            .collect::<Result<Vec<_>>>()?
                            .into_iter()
                            .flatten(),
                    );
                    tasks.push(tokio::spawn(inbound::run_core(
                        shared.clone(),
                        subjects,
                        patterns,
                        progress.clone(),
                        ready_tx,
                    )));
                }
            }
            ready
                .await
                .map_err(|_| Error::nats("start the inbound bridge", "its task ended"))??;
        }
        Ok(Self {
            shared,
            config,
            stream: stream_name,
            outbound: outbound_id,
            progress,
            tasks,
            server: None,
            remote: Vec::new(),
        })
    }

    /// Registers a [`RemoteHook`] in `registry` for each configured remote
    /// hook, with its timeout, fail mode and component; they stay
    /// registered until [`shutdown`](Self::shutdown).
    ///
    /// # Errors
    /// [`Error::Hooks`] when the registry refuses an option (a bad
    /// component glob).
    pub fn add_remote_hooks(&mut self, registry: &HookRegistry) -> Result<()> {
        for h in &self.config.remote_hooks {
            let hook = RemoteHook::with_counters(
                self.shared.client.clone(),
                &self.shared.prefix,
                &self.shared.node,
                h,
                self.shared.counters.clone(),
            );
            let mut options = HookOptions::new()
                .timeout(h.timeout + Duration::from_millis(100))
                .fail_mode(h.fail_mode);
            if let Some(c) = &h.component {
                options = options.component(c.clone());
            }
            options.validate()?;
            self.remote
                .push(registry.register_with(h.point.clone(), Arc::new(hook), options)?);
        }
        Ok(())
    }

    /// Serves the hooks of the configured points from `executor` (see
    /// [`HookServer`]).
    ///
    /// # Errors
    /// [`Error::Nats`] when a subscription cannot be made.
    pub async fn serve(&mut self, executor: HookExecutor) -> Result<()> {
        if self.config.serve_hooks.is_empty() {
            return Ok(());
        }
        let server = HookServer::start_with(
            self.shared.client.clone(),
            &self.shared.prefix,
            &self.shared.node,
            &self.config.serve_hooks,
            executor,
            self.shared.counters.clone(),
        )
        .await?;
        self.server = Some(server);
        Ok(())
    }

    /// The subjects served (empty before [`serve`](Self::serve)).
    pub fn served_subjects(&self) -> Vec<String> {
        self.server
            .as_ref()
            .map(|s| s.subjects().to_vec())
            .unwrap_or_default()
    }

    /// The NATS client (for requests of your own).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// This host's node name.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// The stream's name, when durable history is on.
    pub fn stream_name(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// The settings.
    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// The counters now.
    pub fn stats(&self) -> NatsStats {
        let dropped = self
            .outbound
            .and_then(|id| self.shared.bus.subscription(id))
            .map_or(0, |s| s.dropped);
        let mut stats = self.shared.counters.snapshot(dropped);
        stats.connected =
            self.shared.client.connection_state() == async_nats::connection::State::Connected;
        stats
    }

    /// Waits until every local event queued for NATS has been sent (and
    /// acknowledged by the stream when it is on), at most `timeout`.
    /// Returns whether it got there.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let queued = self
                .outbound
                .and_then(|id| self.shared.bus.subscription(id))
                .map_or(0, |s| s.queued);
            if queued == 0 && self.progress.in_flight.load(Ordering::Relaxed) == 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                return matches!(
                    tokio::time::timeout(left, self.shared.client.flush()).await,
                    Ok(Ok(()))
                );
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops bridging and serving, unregisters the remote hooks and closes
    /// the connection. Events still queued are not sent: call
    /// [`flush`](Self::flush) first.
    pub async fn shutdown(mut self) {
        self.progress.stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.server.take() {
            s.stop();
        }
        for h in self.remote.drain(..) {
            h.unregister();
        }
        if let Some(id) = self.outbound {
            self.shared.bus.unsubscribe(id);
        }
        for t in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.shared.client.flush()).await;
    }
}

impl Drop for NatsLink {
    fn drop(&mut self) {
        self.progress.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}
