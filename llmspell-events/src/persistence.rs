//! The background writer that persists bus events to an [`EventStore`].

use std::collections::HashSet;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use futures::Stream;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::bus::BusInner;
use crate::store::REPLAYED_TAG;
use crate::{
    Error, EventBus, EventStore, OverflowPolicy, Result, Retention, Subscription,
    SubscriptionOptions, TopicPattern, UniversalEvent,
};

/// What to persist and how.
#[derive(Debug, Clone)]
#[must_use]
pub struct PersistenceConfig {
    /// Topics to persist (opt-in); an event matching several is stored once.
    pub patterns: Vec<TopicPattern>,
    /// Write at most this many events per storage batch. Default 512.
    pub batch_size: usize,
    /// Write a partial batch this long after its first event. Default 20 ms.
    pub batch_interval: Duration,
    /// The writer's queue capacity. Default 65,536 events.
    pub queue_capacity: usize,
    /// What happens when the writer falls that far behind. Default: `Block`
    /// for up to 5 s (publishers slow down rather than lose history).
    pub overflow: OverflowPolicy,
    /// History to keep, applied every `retention_interval`. Default: all.
    pub retention: Option<Retention>,
    /// How often retention runs. Default 60 s.
    pub retention_interval: Duration,
    /// Run the writer at a lower CPU priority than the publishers (on Linux
    /// and the BSDs: niceness about 10). Default `true`: when publishers and
    /// the writer compete for the CPU, publishing keeps its pace and the
    /// writer catches up in the time left; a full writer queue still slows
    /// publishers (see `overflow`), which then frees the CPU for the writer.
    pub low_priority: bool,
    /// Hold a due write back while the bus keeps publishing, for at most this
    /// long after the oldest unwritten event reached the writer. Default
    /// 100 ms. While publishers are busy, the writer leaves events queued and
    /// looks again every millisecond; it writes once the bus has gone
    /// `quiet_window` without a publish, once this much time has passed, once
    /// a queue is half full, or on [`flush`](Persistence::flush). A burst
    /// that fits in half the queue is then written after it, not during it,
    /// and costs publishers only the hand-off. `None` writes as soon as a
    /// batch is full or `batch_interval` has passed.
    pub defer_while_busy: Option<Duration>,
    /// How long the bus must go without any publish before a held-back write
    /// runs. Default 5 ms, longer than the moments a busy publisher loses
    /// its core to other threads.
    pub quiet_window: Duration,
}

/// How often a writer holding a write back looks at the bus again.
const RECHECK: Duration = Duration::from_millis(1);

impl PersistenceConfig {
    /// Persist events matching any of `patterns`.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] for the first bad pattern.
    pub fn new<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|p| TopicPattern::new(p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            patterns,
            batch_size: 512,
            batch_interval: Duration::from_millis(20),
            queue_capacity: 65_536,
            overflow: OverflowPolicy::Block {
                timeout: Duration::from_secs(5),
            },
            retention: None,
            retention_interval: Duration::from_secs(60),
            low_priority: true,
            defer_while_busy: Some(Duration::from_millis(100)),
            quiet_window: Duration::from_millis(5),
        })
    }

    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Sets the batch interval.
    pub fn batch_interval(mut self, d: Duration) -> Self {
        self.batch_interval = d;
        self
    }

    /// Sets the writer's queue capacity.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// Sets the overflow policy of the writer's queue.
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.overflow = policy;
        self
    }

    /// Sets whether the writer runs at a lower CPU priority.
    pub fn low_priority(mut self, low: bool) -> Self {
        self.low_priority = low;
        self
    }

    /// Sets how long a due write may wait for publishers to pause (`None`:
    /// never wait).
    pub fn defer_while_busy(mut self, max: Option<Duration>) -> Self {
        self.defer_while_busy = max;
        self
    }

    /// Sets how long the bus must go without a publish before a held-back
    /// write runs.
    pub fn quiet_window(mut self, window: Duration) -> Self {
        self.quiet_window = window;
        self
    }

    /// Sets the retention policy and how often it runs.
    pub fn retention(mut self, retention: Retention, every: Duration) -> Self {
        self.retention = Some(retention);
        self.retention_interval = every;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.patterns.is_empty() {
            return Err(Error::InvalidConfig {
                field: "patterns",
                message: "persistence needs at least one topic pattern (\"**\" for everything)"
                    .to_owned(),
            });
        }
        if self.batch_size == 0 {
            return Err(Error::InvalidConfig {
                field: "batch_size",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.batch_interval.is_zero() || self.retention_interval.is_zero() {
            return Err(Error::InvalidConfig {
                field: "batch_interval",
                message: "intervals must be greater than zero".to_owned(),
            });
        }
        Ok(())
    }
}

/// Persistence counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PersistStats {
    /// Events written to storage.
    pub written: u64,
    /// Storage batches written.
    pub batches: u64,
    /// Events lost because a write failed.
    pub failed: u64,
    /// Events removed by retention.
    pub expired: u64,
    /// The last storage error, if any.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    batches: AtomicU64,
    failed: AtomicU64,
    expired: AtomicU64,
    last_error: Mutex<Option<String>>,
}

enum Command {
    Flush(oneshot::Sender<Result<()>>),
    Shutdown(oneshot::Sender<Result<()>>),
}

/// A running persistence writer. Dropping it stops the writer after it has
/// written and flushed what is queued, and waits for that (up to 10 s), so
/// that the store is released when the drop returns;
/// [`shutdown`](Persistence::shutdown) does the same from async code and
/// reports a failed final write.
///
/// Durability: an event is on disk once its batch is written and the backend
/// has flushed. A process crash loses at most the events still queued, the
/// batch being collected (up to `batch_interval`, or up to
/// `defer_while_busy` while the bus keeps publishing) and what the backend
/// had not flushed yet (sled: up to its `flush_every_ms`). After
/// [`flush`](Persistence::flush) returns, every event published before the
/// call is durable.
#[derive(Debug)]
pub struct Persistence {
    commands: mpsc::Sender<Command>,
    /// Settles when the writer thread has finished.
    done: Option<oneshot::Receiver<()>>,
    /// The writer thread, until it is shut down.
    thread: Option<std::thread::JoinHandle<()>>,
    counters: Arc<Counters>,
    store: EventStore,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").finish_non_exhaustive()
    }
}

impl EventBus {
    /// Starts persisting events matching `config.patterns` into `store`, on a
    /// writer thread of its own (named `llmspell-writer`, at a lower CPU
    /// priority unless `config.low_priority` is off), so that encoding and
    /// storage never run on the publishers' threads. Events tagged `replayed`
    /// are not stored again. Works inside or outside a tokio runtime.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for bad settings or when the writer thread
    /// cannot be started.
    pub fn persist(&self, store: EventStore, config: PersistenceConfig) -> Result<Persistence> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| Error::InvalidConfig {
                field: "persistence",
                message: format!("cannot start the writer's runtime: {e}"),
            })?;
        let options = SubscriptionOptions::new()
            .capacity(config.queue_capacity)
            .overflow(config.overflow)
            .name("persistence")
            .internal();
        let subs = config
            .patterns
            .iter()
            .map(|p| self.subscribe_with(p.clone(), options.clone()))
            .collect::<Result<Vec<_>>>()?;
        let (tx, rx) = mpsc::channel(16);
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            subs,
            store: store.clone(),
            config,
            counters: counters.clone(),
            batch: Vec::new(),
            pending_error: None,
            bus: self.downgrade(),
            first_at: None,
            seen_sequence: 0,
            seen_change: Instant::now(),
        };
        let (done_tx, done_rx) = oneshot::channel();
        let low_priority = writer.config.low_priority;
        let thread = std::thread::Builder::new()
            .name("llmspell-writer".to_owned())
            .spawn(move || {
                if low_priority {
                    lower_priority();
                }
                runtime.block_on(writer.run(rx));
                drop(runtime);
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::InvalidConfig {
                field: "persistence",
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Persistence {
            commands: tx,
            done: Some(done_rx),
            thread: Some(thread),
            counters,
            store,
        })
    }
}

impl Persistence {
    /// Writes everything published so far and flushes the backend.
    ///
    /// # Errors
    /// The storage error of this or an earlier failed write since the last
    /// flush, or [`Error::Closed`] if the writer stopped.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Flush(tx))
            .await
            .map_err(|_| Error::Closed {
                what: "persistence writer",
            })?;
        rx.await.map_err(|_| Error::Closed {
            what: "persistence writer",
        })?
    }

    /// Writes everything queued, flushes and stops the writer.
    ///
    /// # Errors
    /// As [`flush`](Persistence::flush).
    pub async fn shutdown(mut self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_err() {
            return Err(Error::Closed {
                what: "persistence writer",
            });
        }
        let result = rx.await.map_err(|_| Error::Closed {
            what: "persistence writer",
        })?;
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        result
    }

    /// The store being written.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Counters.
    pub fn stats(&self) -> PersistStats {
        PersistStats {
            written: self.counters.written.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            expired: self.counters.expired.load(Ordering::Relaxed),
            last_error: self.counters.last_error.lock().clone(),
        }
    }
}

/// How long dropping a [`Persistence`] waits for its writer to write what
/// is queued and stop.
const DROP_PATIENCE: Duration = Duration::from_secs(10);

impl Drop for Persistence {
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let (reply, _) = oneshot::channel();
        // A full command queue means the writer is busy with earlier
        // commands; it stops anyway once this sender is gone.
        let asked = self.commands.try_send(Command::Shutdown(reply)).is_ok();
        if !asked || std::thread::current().id() == thread.thread().id() {
            return;
        }
        let deadline = std::time::Instant::now() + DROP_PATIENCE;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                tracing::warn!(
                    "the persistence writer was still writing when its handle was dropped"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = thread.join();
    }
}

/// Lowers the calling thread's CPU priority (niceness about 10 on Linux).
/// Best effort: where the platform refuses, the writer runs at normal
/// priority and says so once in the log.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    // The crate maps 0..=99 onto niceness 19..=-20; 23 is niceness 10.
    let result = ThreadPriorityValue::try_from(23u8)
        .map_err(|e| format!("{e:?}"))
        .and_then(|v| {
            thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(v))
                .map_err(|e| format!("{e:?}"))
        });
    if let Err(e) = result {
        tracing::info!(error = %e, "the persistence writer runs at normal priority");
    }
}

struct Writer {
    subs: Vec<Subscription>,
    store: EventStore,
    config: PersistenceConfig,
    counters: Arc<Counters>,
    batch: Vec<Arc<UniversalEvent>>,
    pending_error: Option<Error>,
    /// The bus, to see whether it is publishing (does not keep it alive).
    bus: Weak<BusInner>,
    /// When the oldest event of the batch was taken from the queue.
    first_at: Option<Instant>,
    /// The bus's sequence number at the last look.
    seen_sequence: u64,
    /// When a look last found that number changed.
    seen_change: Instant,
}

impl Writer {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        // When a partial batch is due.
        let mut deadline: Option<Instant> = None;
        // When to look again at a due write held back while the bus publishes.
        let mut recheck: Option<Instant> = None;
        let mut next_retention = Instant::now() + self.config.retention_interval;
        loop {
            let batch_due = sleep_until(deadline);
            let recheck_due = sleep_until(recheck);
            tokio::select! {
                biased;
                cmd = commands.recv() => {
                    let (reply, stop) = match cmd {
                        Some(Command::Flush(reply)) => (Some(reply), false),
                        Some(Command::Shutdown(reply)) => (Some(reply), true),
                        None => (None, true),
                    };
                    self.drain();
                    let result = self.write_and_flush().await;
                    deadline = None;
                    recheck = None;
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                    if stop {
                        for sub in &self.subs {
                            sub.unsubscribe();
                        }
                        return;
                    }
                }
                () = recheck_due, if recheck.is_some() => {
                    recheck = self.write_unless_busy().await;
                }
                // While a write is held back, events stay in the queue.
                ev = next_event(&mut self.subs), if recheck.is_none() => {
                    match ev {
                        Some(ev) => {
                            self.accept(ev);
                            // Take what else is queued now: one pass of this
                            // loop per batch, not per event.
                            self.drain_up_to(self.config.batch_size);
                            deadline.get_or_insert_with(|| Instant::now() + self.config.batch_interval);
                            if self.batch.len() >= self.config.batch_size {
                                recheck = self.write_unless_busy().await;
                                deadline = None;
                            }
                        }
                        None => {
                            // Every subscription closed (the bus dropped them).
                            let _ = self.write_and_flush().await;
                            return;
                        }
                    }
                }
                () = batch_due, if recheck.is_none() => {
                    recheck = self.write_unless_busy().await;
                    deadline = None;
                }
                () = tokio::time::sleep_until(next_retention), if self.config.retention.is_some() => {
                    next_retention = Instant::now() + self.config.retention_interval;
                    self.retain().await;
                }
            }
        }
    }

    fn accept(&mut self, ev: Arc<UniversalEvent>) {
        if !ev.has_tag(REPLAYED_TAG) {
            if self.batch.is_empty() {
                self.first_at = Some(Instant::now());
            }
            self.batch.push(ev);
        }
    }

    /// Writes the due batch, or returns when to look again if the bus is
    /// busy publishing and the write may still wait.
    async fn write_unless_busy(&mut self) -> Option<Instant> {
        if self.publishers_busy() {
            return Some(Instant::now() + RECHECK);
        }
        // Events that arrived while the write waited fill the batch up.
        self.drain_up_to(self.config.batch_size);
        self.write().await;
        None
    }

    /// Whether a due write should wait: deferral is on, the oldest event has
    /// waited less than the limit, every queue is under half full, and the
    /// bus published within the quiet window.
    fn publishers_busy(&mut self) -> bool {
        let (Some(max), Some(first)) = (self.config.defer_while_busy, self.first_at) else {
            return false;
        };
        if first.elapsed() >= max
            || self
                .subs
                .iter()
                .any(|s| s.queue.len() * 2 >= s.queue.options.capacity)
        {
            return false;
        }
        let Some(bus) = self.bus.upgrade() else {
            return false;
        };
        let sequence = bus.last_sequence();
        drop(bus);
        let now = Instant::now();
        if sequence != self.seen_sequence {
            self.seen_sequence = sequence;
            self.seen_change = now;
        }
        now.duration_since(self.seen_change) < self.config.quiet_window
    }

    fn drain(&mut self) {
        self.drain_up_to(usize::MAX);
    }

    /// Moves queued events into the batch until it holds `limit`.
    fn drain_up_to(&mut self, limit: usize) {
        for i in 0..self.subs.len() {
            while self.batch.len() < limit {
                match self.subs[i].try_recv() {
                    Some(ev) => self.accept(ev),
                    None => break,
                }
            }
        }
    }

    /// Writes the collected batch. A failure is remembered and reported by
    /// the next flush, even when this write was a background one.
    async fn write(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut seen = HashSet::with_capacity(self.batch.len());
        self.batch.retain(|ev| seen.insert(ev.id));
        for chunk in self.batch.chunks(self.config.batch_size) {
            match self.store.append(chunk).await {
                Ok(()) => {
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .written
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(error = %e, events = chunk.len(), "event persistence write failed");
                    self.counters
                        .failed
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    *self.counters.last_error.lock() = Some(e.to_string());
                    self.pending_error.get_or_insert(e);
                }
            }
        }
        self.batch.clear();
        self.first_at = None;
    }

    /// Writes, flushes the backend and reports any failure since the last flush.
    async fn write_and_flush(&mut self) -> Result<()> {
        self.write().await;
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        self.store.flush().await
    }

    async fn retain(&mut self) {
        let Some(retention) = self.config.retention else {
            return;
        };
        match self.store.apply_retention(&retention).await {
            Ok(n) => {
                self.counters.expired.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(error = %e, "event retention failed");
                *self.counters.last_error.lock() = Some(e.to_string());
            }
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next event from any of the writer's subscriptions; `None` when all
/// are closed and drained.
async fn next_event(subs: &mut [Subscription]) -> Option<Arc<UniversalEvent>> {
    poll_fn(|cx| {
        let mut open = 0;
        for sub in subs.iter_mut() {
            match std::pin::Pin::new(&mut *sub).poll_next(cx) {
                Poll::Ready(Some(ev)) => return Poll::Ready(Some(ev)),
                Poll::Ready(None) => {}
                Poll::Pending => open += 1,
            }
        }
        if open == 0 {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}
