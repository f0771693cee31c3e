//! The event bus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use governor::DefaultDirectRateLimiter;
use parking_lot::Mutex;
use serde_json::json;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::flow::{BackpressureKind, BackpressureNotice, RateLimit, RateLimitMode};
use crate::queue::{Pushed, SubscriberQueue};
use crate::router::{Router, Targets};
use crate::{
    BusStats, EmitInterceptor, Error, EventMetrics, OverflowPolicy, Result, Subscription,
    SubscriptionId, SubscriptionOptions, SubscriptionStats, Topic, TopicPattern, UniversalEvent,
};

/// The topic of the events the bus publishes when a subscriber lags.
pub const LAGGING_TOPIC: &str = "bus.subscriber.lagging";

/// What `publish` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishReceipt {
    /// The event's id.
    pub id: Uuid,
    /// The sequence number the bus gave it.
    pub sequence: u64,
    /// How many subscriptions queued it.
    pub delivered: usize,
}

/// Builds an [`EventBus`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EventBusBuilder {
    rate_limit: Option<RateLimit>,
    metrics: bool,
    metrics_prefix_depth: usize,
    lagging_events: bool,
    notice_capacity: usize,
}

impl Default for EventBusBuilder {
    fn default() -> Self {
        Self {
            rate_limit: None,
            metrics: true,
            metrics_prefix_depth: 2,
            lagging_events: true,
            notice_capacity: 256,
        }
    }
}

impl EventBusBuilder {
    /// Limits the publish rate with a token bucket.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns per-prefix counters and the sliding-window rate on or off
    /// (default on).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// How many leading topic segments form a metrics prefix (default 2:
    /// `tool.calculator`).
    pub fn metrics_prefix_depth(mut self, depth: usize) -> Self {
        self.metrics_prefix_depth = depth;
        self
    }

    /// Whether the bus publishes `bus.subscriber.lagging` events when a
    /// subscriber reaches its high water mark, fills up or starts dropping
    /// (default on).
    pub fn lagging_events(mut self, on: bool) -> Self {
        self.lagging_events = on;
        self
    }

    /// How many backpressure notices a slow notice receiver may fall behind
    /// before it loses the oldest (default 256).
    pub fn notice_capacity(mut self, capacity: usize) -> Self {
        self.notice_capacity = capacity;
        self
    }

    /// Builds the bus.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a zero rate, burst, prefix depth or
    /// notice capacity.
    pub fn build(self) -> Result<EventBus> {
        if self.metrics_prefix_depth == 0 {
            return Err(Error::InvalidConfig {
                field: "metrics_prefix_depth",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.notice_capacity == 0 {
            return Err(Error::InvalidConfig {
                field: "notice_capacity",
                message: "must be at least 1".to_owned(),
            });
        }
        let limiter = match self.rate_limit {
            Some(limit) => Some((limit.build()?, limit.mode)),
            None => None,
        };
        Ok(self.assemble(limiter))
    }

    fn assemble(self, limiter: Option<(DefaultDirectRateLimiter, RateLimitMode)>) -> EventBus {
        let (notices, _) = broadcast::channel(self.notice_capacity.max(1));
        EventBus {
            inner: Arc::new(BusInner {
                sequence: AtomicU64::new(0),
                publish_lock: Mutex::new(()),
                router: ArcSwap::from_pointee(Router::default()),
                subs: Mutex::new(BTreeMap::new()),
                live: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
                generation: AtomicU64::new(0),
                notices,
                limiter,
                delivered: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
                metrics: self
                    .metrics
                    .then(|| EventMetrics::new(self.metrics_prefix_depth.max(1))),
                lagging_events: self.lagging_events,
                interceptor: std::sync::OnceLock::new(),
            }),
        }
    }
}

/// A publish/subscribe bus with wildcard topics and per-subscriber flow control.
///
/// Cloning is cheap and every clone is the same bus. Publishing routes the
/// event through a segment trie (rebuilt when subscriptions change, read
/// without locks) to each matching subscription's bounded queue. Each
/// subscriber sees events in publish (sequence) order; what happens when its
/// queue is full is its [`OverflowPolicy`].
///
/// ```
/// use llmspell_events::{EventBus, Topic, UniversalEvent};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let bus = EventBus::new();
/// let mut sub = bus.subscribe("tool.*.completed")?;
/// bus.publish(UniversalEvent::new(Topic::new("tool.calculator.completed")?, json!({"result": 8}))).await?;
/// let ev = sub.recv().await.expect("delivered");
/// assert_eq!(ev.data["result"], 8);
/// # Ok::<(), llmspell_events::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<BusInner>,
}

pub(crate) struct BusInner {
    sequence: AtomicU64,
    /// Held while a sequence number is assigned and the event is queued, so
    /// that every subscriber sees sequence order even with concurrent
    /// publishers. Never held across an await.
    publish_lock: Mutex<()>,
    router: ArcSwap<Router>,
    subs: Mutex<BTreeMap<SubscriptionId, Arc<SubscriberQueue>>>,
    /// Number of live subscriptions: the no-subscriber fast path reads only this.
    live: AtomicUsize,
    next_id: AtomicU64,
    generation: AtomicU64,
    notices: broadcast::Sender<BackpressureNotice>,
    limiter: Option<(DefaultDirectRateLimiter, RateLimitMode)>,
    delivered: AtomicU64,
    dropped: AtomicU64,
    rate_limited: AtomicU64,
    metrics: Option<EventMetrics>,
    lagging_events: bool,
    /// Set once; read (one load) on every `publish`.
    interceptor: std::sync::OnceLock<Arc<dyn EmitInterceptor>>,
}

/// How a delivery attempt treats full `Block` subscriptions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Wait,
    NoWait,
}

enum Attempt {
    Done(Result<PublishReceipt>),
    MustWait(UniversalEvent, Arc<SubscriberQueue>),
}

type Transitions = SmallVec<[(Arc<SubscriberQueue>, BackpressureKind); 2]>;

impl BusInner {
    /// The last sequence number assigned.
    pub(crate) fn last_sequence(&self) -> u64 {
        self.sequence.load(Ordering::Relaxed)
    }

    pub(crate) fn remove(&self, id: SubscriptionId) -> bool {
        let removed = {
            let mut subs = self.subs.lock();
            let removed = subs.remove(&id);
            if let Some(q) = &removed {
                self.router.store(Arc::new(self.router.load().without(q)));
                self.live.store(subs.len(), Ordering::Release);
                self.generation.fetch_add(1, Ordering::Release);
            }
            removed
        };
        match removed {
            Some(q) => {
                q.close();
                true
            }
            None => false,
        }
    }

    fn add(
        &self,
        pattern: TopicPattern,
        options: SubscriptionOptions,
    ) -> Result<Arc<SubscriberQueue>> {
        options.validate()?;
        let id = SubscriptionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let q = Arc::new(SubscriberQueue::new(
            id,
            pattern,
            options,
            self.notices.clone(),
        ));
        let mut subs = self.subs.lock();
        subs.insert(id, q.clone());
        self.router
            .store(Arc::new(self.router.load().with(q.clone())));
        self.live.store(subs.len(), Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(q)
    }

    fn try_deliver(
        &self,
        mut event: UniversalEvent,
        timed_out: &[SubscriptionId],
        mode: Mode,
        transitions: &mut Transitions,
    ) -> Attempt {
        if self.live.load(Ordering::Acquire) == 0 {
            return Attempt::Done(Ok(self.count_published(&mut event, 0)));
        }
        let router = self.router.load();
        let mut targets = Targets::new();
        router.route(event.event_type.as_str(), &mut targets);
        if targets.is_empty() {
            return Attempt::Done(Ok(self.count_published(&mut event, 0)));
        }
        if mode == Mode::Wait
            && let Some(q) = self.first_full_block(&targets, timed_out)
        {
            return Attempt::MustWait(event, q);
        }
        let guard = self.publish_lock.lock();
        if mode == Mode::Wait
            && let Some(q) = self.first_full_block(&targets, timed_out)
        {
            drop(guard);
            return Attempt::MustWait(event, q);
        }
        let receipt_base = self.count_published(&mut event, 0);
        let ev = Arc::new(event);
        let mut delivered = 0usize;
        let mut dropped = 0u64;
        let mut full: SmallVec<[&Arc<SubscriberQueue>; 2]> = SmallVec::new();
        let mut blocked: Option<(&Arc<SubscriberQueue>, bool)> = None;
        for &q in &targets {
            if timed_out.contains(&q.id) {
                dropped += 1;
                if let Some(kind) = q.note_block_timeout() {
                    transitions.push((Arc::clone(q), kind));
                }
                blocked.get_or_insert((q, true));
                continue;
            }
            let (pushed, kind) = q.push(ev.clone());
            if let Some(kind) = kind {
                transitions.push((Arc::clone(q), kind));
            }
            match pushed {
                Pushed::Queued => delivered += 1,
                Pushed::QueuedDroppingOldest => {
                    delivered += 1;
                    dropped += 1;
                }
                Pushed::Dropped => dropped += 1,
                Pushed::Full if q.is_block() => {
                    // Only reachable without waiting (try_publish).
                    dropped += 1;
                    if let Some(kind) = q.note_block_timeout() {
                        transitions.push((Arc::clone(q), kind));
                    }
                    blocked.get_or_insert((q, false));
                }
                Pushed::Full => {
                    dropped += 1;
                    full.push(q);
                }
            }
        }
        drop(guard);
        self.delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        let receipt = PublishReceipt {
            delivered,
            ..receipt_base
        };
        if let Some(first) = full.first() {
            return Attempt::Done(Err(Error::SubscriberFull {
                subscription: first.id,
                pattern: first.pattern.as_str().to_owned(),
                capacity: first.options.capacity,
                also_full: full.len() - 1,
                event_id: receipt.id,
                sequence: receipt.sequence,
                delivered,
            }));
        }
        if let Some((q, waited)) = blocked {
            let pattern = q.pattern.as_str().to_owned();
            return Attempt::Done(Err(match (waited, q.options.overflow) {
                (true, OverflowPolicy::Block { timeout }) => Error::BlockTimeout {
                    subscription: q.id,
                    pattern,
                    waited: timeout,
                },
                _ => Error::WouldBlock {
                    subscription: q.id,
                    pattern,
                },
            }));
        }
        Attempt::Done(Ok(receipt))
    }

    fn first_full_block(
        &self,
        targets: &Targets<'_>,
        timed_out: &[SubscriptionId],
    ) -> Option<Arc<SubscriberQueue>> {
        targets
            .iter()
            .find(|q| q.is_block() && q.is_full() && !q.is_closed() && !timed_out.contains(&q.id))
            .map(|q| Arc::clone(q))
    }

    fn count_published(&self, event: &mut UniversalEvent, delivered: usize) -> PublishReceipt {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        event.sequence = sequence;
        if let Some(m) = &self.metrics {
            m.record(&event.event_type, event.timestamp.timestamp());
        }
        PublishReceipt {
            id: event.id,
            sequence,
            delivered,
        }
    }

    fn publish_transitions(&self, origin_is_lagging_report: bool, transitions: Transitions) {
        if !self.lagging_events || origin_is_lagging_report {
            return;
        }
        let Ok(topic) = Topic::new(LAGGING_TOPIC) else {
            return;
        };
        for (q, kind) in transitions {
            let stats = q.stats();
            let ev = UniversalEvent::new(
                topic.clone(),
                json!({
                    "subscription": q.id,
                    "pattern": stats.pattern,
                    "kind": kind,
                    "queued": stats.queued,
                    "capacity": stats.capacity,
                    "dropped": stats.dropped,
                }),
            )
            .with_source("bus");
            // Lagging reports never wait and never cascade.
            let mut ignored = Transitions::new();
            let _ = self.try_deliver(ev, &[], Mode::NoWait, &mut ignored);
        }
    }

    async fn admit(&self, wait: bool) -> Result<()> {
        let Some((limiter, mode)) = &self.limiter else {
            return Ok(());
        };
        match limiter.check() {
            Ok(()) => Ok(()),
            Err(_) if wait && *mode == RateLimitMode::Wait => {
                limiter.until_ready().await;
                Ok(())
            }
            Err(not_until) => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                let retry_after = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(Error::RateLimited { retry_after })
            }
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with default settings: no rate limit, metrics on.
    pub fn new() -> Self {
        EventBusBuilder::default().assemble(None)
    }

    /// A builder for custom settings.
    pub fn builder() -> EventBusBuilder {
        EventBusBuilder::default()
    }

    /// Publishes an event, waiting where flow control says to wait (a full
    /// `Block` subscription, a rate limit in `Wait` mode).
    ///
    /// The bus assigns the event's sequence number. The event reaches every
    /// matching subscription that has room or makes room; the receipt says
    /// how many queued it. An [`EmitInterceptor`] sees the event first (it
    /// may change or refuse it) and is told the receipt after.
    ///
    /// # Errors
    /// - [`Error::SubscriberFull`] when `Reject` subscriptions were full;
    /// - [`Error::BlockTimeout`] when a `Block` subscription stayed full;
    /// - [`Error::RateLimited`] when the rate limit rejects;
    /// - [`Error::Refused`] when the interceptor refused the event.
    ///
    /// In the first two cases the event did reach the other subscribers.
    pub fn publish(
        &self,
        event: UniversalEvent,
    ) -> impl Future<Output = Result<PublishReceipt>> + Send + '_ {
        // Not an `async fn` wrapping another: the returned future is the
        // publish itself, so the event is not moved once more per publish.
        self.publish_inner(event, true)
    }

    /// Publishes without waiting for room (as [`try_publish`](Self::try_publish))
    /// but through the [`EmitInterceptor`] (as [`publish`](Self::publish)):
    /// for async code that must not wait on a full `Block` subscription,
    /// such as lifecycle events published in the middle of an operation.
    ///
    /// # Errors
    /// As [`try_publish`](Self::try_publish), plus [`Error::Refused`].
    pub async fn publish_now(&self, event: UniversalEvent) -> Result<PublishReceipt> {
        if let Some(i) = self.active_interceptor() {
            return Box::pin(self.intercepted(i, event, Mode::NoWait)).await;
        }
        self.try_publish(event)
    }

    /// Installs the interceptor that sees every `publish` and `publish_now`.
    /// A bus has at most one, for its whole life.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when one is already installed.
    pub fn set_interceptor(&self, interceptor: Arc<dyn EmitInterceptor>) -> Result<()> {
        self.inner
            .interceptor
            .set(interceptor)
            .map_err(|_| Error::InvalidConfig {
                field: "interceptor",
                message: "this bus already has an emit interceptor".to_owned(),
            })
    }

    #[inline]
    fn active_interceptor(&self) -> Option<&Arc<dyn EmitInterceptor>> {
        self.inner.interceptor.get().filter(|i| i.active())
    }

    async fn intercepted(
        &self,
        interceptor: &Arc<dyn EmitInterceptor>,
        event: UniversalEvent,
        mode: Mode,
    ) -> Result<PublishReceipt> {
        let event = interceptor.before_emit(event).await?;
        let copy = interceptor.active_after().then(|| event.clone());
        let receipt = match mode {
            Mode::Wait => Box::pin(self.publish_inner(event, false)).await,
            Mode::NoWait => self.try_publish(event),
        };
        if let (Some(mut copy), Ok(r)) = (copy, &receipt) {
            copy.sequence = r.sequence;
            interceptor.after_emit(&copy, r).await;
        }
        receipt
    }

    /// The publish, through the interceptor when `intercept` is set and it
    /// is active.
    async fn publish_inner(
        &self,
        mut event: UniversalEvent,
        intercept: bool,
    ) -> Result<PublishReceipt> {
        if intercept && let Some(i) = self.active_interceptor() {
            return Box::pin(self.intercepted(i, event, Mode::Wait)).await;
        }
        self.inner.admit(true).await?;
        if self.inner.live.load(Ordering::Acquire) == 0 {
            return Ok(self.inner.count_published(&mut event, 0));
        }
        let is_lagging_report = event.event_type.as_str() == LAGGING_TOPIC;
        let mut event = event;
        let mut deadlines: SmallVec<[(SubscriptionId, Instant); 1]> = SmallVec::new();
        let mut timed_out: SmallVec<[SubscriptionId; 1]> = SmallVec::new();
        loop {
            let mut transitions = Transitions::new();
            match self
                .inner
                .try_deliver(event, &timed_out, Mode::Wait, &mut transitions)
            {
                Attempt::Done(result) => {
                    if !transitions.is_empty() {
                        self.inner
                            .publish_transitions(is_lagging_report, transitions);
                    }
                    return result;
                }
                Attempt::MustWait(ev, q) => {
                    event = ev;
                    let timeout = match q.options.overflow {
                        OverflowPolicy::Block { timeout } => timeout,
                        _ => Duration::ZERO,
                    };
                    let deadline = match deadlines.iter().find(|(id, _)| *id == q.id) {
                        Some((_, d)) => *d,
                        None => {
                            let d = Instant::now() + timeout;
                            deadlines.push((q.id, d));
                            d
                        }
                    };
                    if !q.wait_for_space(deadline).await {
                        timed_out.push(q.id);
                    }
                }
            }
        }
    }

    /// Publishes without ever waiting: a full `Block` subscription misses the
    /// event and the call returns [`Error::WouldBlock`]; a rate limit rejects.
    ///
    /// # Errors
    /// As [`publish`](EventBus::publish), plus [`Error::WouldBlock`].
    pub fn try_publish(&self, mut event: UniversalEvent) -> Result<PublishReceipt> {
        if let Some((limiter, _)) = &self.inner.limiter
            && let Err(not_until) = limiter.check()
        {
            self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
            let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
            return Err(Error::RateLimited {
                retry_after: not_until.wait_time_from(now),
            });
        }
        if self.inner.live.load(Ordering::Acquire) == 0 {
            return Ok(self.inner.count_published(&mut event, 0));
        }
        let is_lagging_report = event.event_type.as_str() == LAGGING_TOPIC;
        let mut transitions = Transitions::new();
        let result = match self
            .inner
            .try_deliver(event, &[], Mode::NoWait, &mut transitions)
        {
            Attempt::Done(result) => result,
            Attempt::MustWait(..) => Err(Error::Closed { what: "publish" }),
        };
        if !transitions.is_empty() {
            self.inner
                .publish_transitions(is_lagging_report, transitions);
        }
        result
    }

    /// Subscribes to `pattern` with default options (capacity 1024, `DropOldest`).
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] naming the offending segment.
    pub fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        self.subscribe_with(TopicPattern::new(pattern)?, SubscriptionOptions::default())
    }

    /// Subscribes to a compiled pattern with explicit options.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for invalid options.
    pub fn subscribe_with(
        &self,
        pattern: TopicPattern,
        options: SubscriptionOptions,
    ) -> Result<Subscription> {
        let queue = self.inner.add(pattern, options)?;
        Ok(Subscription {
            queue,
            bus: Arc::downgrade(&self.inner),
        })
    }

    /// Removes a subscription by id; returns whether it existed.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.remove(id)
    }

    /// Cumulative counters.
    pub fn stats(&self) -> BusStats {
        BusStats {
            // Every published event takes exactly one sequence number.
            published: self.inner.sequence.load(Ordering::Relaxed),
            delivered: self.inner.delivered.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
            rate_limited: self.inner.rate_limited.load(Ordering::Relaxed),
            subscriptions: self.inner.subs.lock().len(),
        }
    }

    /// Every live subscription's counters, in id order.
    pub fn subscriptions(&self) -> Vec<SubscriptionStats> {
        let subs: Vec<Arc<SubscriberQueue>> = self.inner.subs.lock().values().cloned().collect();
        subs.iter().map(|q| q.stats()).collect()
    }

    /// One subscription's counters.
    pub fn subscription(&self, id: SubscriptionId) -> Option<SubscriptionStats> {
        let q = self.inner.subs.lock().get(&id).cloned();
        q.map(|q| q.stats())
    }

    /// A receiver of backpressure notices (Warning, Critical, Dropped,
    /// Recovered) for every subscription. A receiver that falls more than the
    /// notice capacity behind loses the oldest notices.
    pub fn backpressure(&self) -> broadcast::Receiver<BackpressureNotice> {
        self.inner.notices.subscribe()
    }

    /// Whether the bus has no subscription at all (one atomic load): publishers
    /// with costly events can skip building them.
    pub fn is_idle(&self) -> bool {
        self.inner.live.load(Ordering::Acquire) == 0
    }

    /// Whether any subscription matches `topic` right now.
    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.inner.router.load().any(topic)
    }

    /// How many subscriptions an event on `topic` would be delivered to right
    /// now, each counted once: the routing step of a publish, without
    /// publishing. Where [`has_subscribers`](EventBus::has_subscribers) stops
    /// at the first match, this walks every pattern that matches.
    ///
    /// ```
    /// use llmspell_events::EventBus;
    ///
    /// let bus = EventBus::new();
    /// let _done = bus.subscribe("tool.*.completed")?;
    /// let _tools = bus.subscribe("tool.**")?;
    /// assert_eq!(bus.subscriber_count("tool.calculator.completed"), 2);
    /// assert_eq!(bus.subscriber_count("tool.calculator.started"), 1);
    /// assert_eq!(bus.subscriber_count("agent.a.completed"), 0);
    /// # Ok::<(), llmspell_events::Error>(())
    /// ```
    pub fn subscriber_count(&self, topic: &str) -> usize {
        let router = self.inner.router.load();
        let mut targets = Targets::new();
        router.route(topic, &mut targets);
        targets.len()
    }

    /// A number that changes whenever subscriptions change; callers may cache
    /// [`has_subscribers`](EventBus::has_subscribers) answers per generation.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The last sequence number assigned.
    pub fn last_sequence(&self) -> u64 {
        self.inner.sequence.load(Ordering::Relaxed)
    }

    /// Per-prefix counters and rates, when metrics are on.
    pub fn metrics(&self) -> Option<&EventMetrics> {
        self.inner.metrics.as_ref()
    }

    /// A handle that does not keep the bus alive.
    pub(crate) fn downgrade(&self) -> std::sync::Weak<BusInner> {
        Arc::downgrade(&self.inner)
    }

    /// Whether two handles are the same bus.
    pub fn same_bus(&self, other: &EventBus) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("stats", &self.stats())
            .finish()
    }
}
