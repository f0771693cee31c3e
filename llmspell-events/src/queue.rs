//! The bounded queue behind every subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use futures::task::AtomicWaker;
use tokio::sync::{Notify, broadcast};

use crate::flow::{BackpressureKind, BackpressureLevel, BackpressureNotice};
use crate::{
    OverflowPolicy, SubscriptionId, SubscriptionOptions, SubscriptionStats, TopicPattern,
    UniversalEvent,
};

const NORMAL: u8 = 0;
const WARNING: u8 = 1;
const CRITICAL: u8 = 2;
const SPINS: usize = 64;

/// What happened to an event offered to a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// Queued after dropping the oldest queued event to make room.
    QueuedDroppingOldest,
    /// Not queued: the queue was full and drops new events.
    Dropped,
    /// Not queued: the queue is full and its policy is `Reject` or `Block`.
    Full,
}

/// The publishers' side of a queue: what the publish path reads and writes,
/// on a cache line of its own.
#[derive(Default)]
struct ProducerSide {
    /// Events queued so far (including any later dropped as the oldest).
    pushed: AtomicU64,
    /// A value `consumed` had at some point: a lower bound of the events
    /// taken, so `pushed - consumed_seen` bounds the queue's length from
    /// above without reading the consumer's line on every push.
    consumed_seen: AtomicU64,
    /// Set by a consumer about to sleep on an empty queue; the next push
    /// clears it and wakes the consumer.
    parked: AtomicBool,
}

/// A lock-free bounded queue (crossbeam `ArrayQueue`) with a consumer waker,
/// a notifier for publishers blocked on it, counters and water-mark state.
pub(crate) struct SubscriberQueue {
    pub(crate) id: SubscriptionId,
    pub(crate) pattern: TopicPattern,
    pub(crate) options: SubscriptionOptions,
    pattern_text: Arc<str>,
    high: usize,
    low: usize,
    queue: ArrayQueue<Arc<UniversalEvent>>,
    consumer: AtomicWaker,
    space: Notify,
    waiting_producers: AtomicUsize,
    closed: AtomicBool,
    level: AtomicU8,
    dropping: AtomicBool,
    notices: broadcast::Sender<BackpressureNotice>,
    // Written by publishers and by the consumer respectively: kept on
    // separate cache lines, so that a consumer popping on another core never
    // takes away a line the publish path reads.
    producer: CachePadded<ProducerSide>,
    consumed: CachePadded<AtomicU64>,
    dropped: AtomicU64,
    expired: AtomicU64,
}

impl SubscriberQueue {
    pub(crate) fn new(
        id: SubscriptionId,
        pattern: TopicPattern,
        options: SubscriptionOptions,
        notices: broadcast::Sender<BackpressureNotice>,
    ) -> Self {
        Self {
            id,
            pattern_text: Arc::from(pattern.as_str()),
            pattern,
            high: options.high_mark(),
            low: options.low_mark(),
            queue: ArrayQueue::new(options.capacity.max(1)),
            options,
            consumer: AtomicWaker::new(),
            space: Notify::new(),
            waiting_producers: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            level: AtomicU8::new(NORMAL),
            dropping: AtomicBool::new(false),
            notices,
            producer: CachePadded::new(ProducerSide::default()),
            consumed: CachePadded::new(AtomicU64::new(0)),
            dropped: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn is_block(&self) -> bool {
        matches!(self.options.overflow, OverflowPolicy::Block { .. })
    }

    /// Whether the queue is full. Reads the consumer's counter only when the
    /// publishers' own bound says the queue may be full.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        let capacity = self.queue.capacity() as u64;
        if self.len_bound() < capacity {
            return false;
        }
        self.refresh_consumed();
        self.len_bound() >= capacity && self.queue.is_full()
    }

    /// An upper bound of the queue's length from the publishers' counters.
    #[inline]
    fn len_bound(&self) -> u64 {
        let p = &*self.producer;
        let mut taken = p.consumed_seen.load(Ordering::Relaxed);
        if self.options.overflow == OverflowPolicy::DropOldest {
            // Events dropped to make room left the queue without a pop.
            taken += self.dropped.load(Ordering::Relaxed);
        }
        p.pushed.load(Ordering::Relaxed).saturating_sub(taken)
    }

    fn refresh_consumed(&self) {
        let consumed = self.consumed.load(Ordering::Acquire);
        self.producer
            .consumed_seen
            .fetch_max(consumed, Ordering::Relaxed);
    }

    /// Events queued now.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Offers an event; returns what happened and, when the queue just
    /// crossed into a worse backpressure state, that transition.
    #[inline]
    pub(crate) fn push(&self, ev: Arc<UniversalEvent>) -> (Pushed, Option<BackpressureKind>) {
        if self.is_closed() {
            return (Pushed::Dropped, None);
        }
        let outcome = match self.options.overflow {
            OverflowPolicy::DropOldest => {
                if self.queue.force_push(ev).is_some() {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    self.producer.pushed.fetch_add(1, Ordering::SeqCst);
                    // A full queue has a consumer that is running or already woken.
                    return (Pushed::QueuedDroppingOldest, self.note_drop());
                }
                Pushed::Queued
            }
            OverflowPolicy::DropNewest | OverflowPolicy::Reject | OverflowPolicy::Block { .. } => {
                match self.queue.push(ev) {
                    Ok(()) => Pushed::Queued,
                    Err(_) => {
                        if matches!(self.options.overflow, OverflowPolicy::Block { .. }) {
                            return (Pushed::Full, None);
                        }
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        let kind = self.note_drop();
                        let outcome = if self.options.overflow == OverflowPolicy::Reject {
                            Pushed::Full
                        } else {
                            Pushed::Dropped
                        };
                        return (outcome, kind);
                    }
                }
            }
        };
        let p = &*self.producer;
        // Pushes are serialised by the bus's publish lock. This increment and
        // the load of `parked` below pair with the consumer's store of
        // `parked` and load of `pushed` (all sequentially consistent): either
        // this push sees the consumer parked and wakes it, or the consumer's
        // last look at the queue sees this event. Only a push that finds the
        // consumer parked wakes it, and nothing here reads the consumer's
        // cache lines while it keeps pace.
        p.pushed.fetch_add(1, Ordering::SeqCst);
        if p.parked.load(Ordering::SeqCst) && p.parked.swap(false, Ordering::AcqRel) {
            self.consumer.wake();
        }
        (outcome, self.check_high_after_push())
    }

    /// The water-mark check of a push: the real length is read only when the
    /// publishers' bound reaches the high mark.
    #[inline]
    fn check_high_after_push(&self) -> Option<BackpressureKind> {
        let high = self.high as u64;
        if self.len_bound() < high {
            return None;
        }
        self.refresh_consumed();
        if self.len_bound() < high {
            return None;
        }
        self.check_high(self.queue.len())
    }

    /// Records that a `Block` subscription timed out and lost an event.
    pub(crate) fn note_block_timeout(&self) -> Option<BackpressureKind> {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.note_drop()
    }

    fn check_high(&self, len: usize) -> Option<BackpressureKind> {
        if len < self.high {
            return None;
        }
        let (target, kind) = if len >= self.queue.capacity() {
            (CRITICAL, BackpressureKind::Critical)
        } else {
            (WARNING, BackpressureKind::Warning)
        };
        let mut current = self.level.load(Ordering::Relaxed);
        while current < target {
            match self.level.compare_exchange_weak(
                current,
                target,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.notify(kind, len);
                    return Some(kind);
                }
                Err(now) => current = now,
            }
        }
        None
    }

    fn note_drop(&self) -> Option<BackpressureKind> {
        // The first drop of an episode raises Critical (if not yet) and Dropped.
        let len = self.queue.len();
        if self.level.swap(CRITICAL, Ordering::AcqRel) != CRITICAL {
            self.notify(BackpressureKind::Critical, len);
        }
        if !self.dropping.swap(true, Ordering::AcqRel) {
            self.notify(BackpressureKind::Dropped, len);
            return Some(BackpressureKind::Dropped);
        }
        None
    }

    fn notify(&self, kind: BackpressureKind, queued: usize) {
        // No receiver is fine: notices are best-effort observability.
        let _ = self.notices.send(BackpressureNotice {
            subscription: self.id,
            pattern: self.pattern_text.clone(),
            kind,
            queued,
            capacity: self.queue.capacity(),
            dropped: self.dropped.load(Ordering::Relaxed),
        });
    }

    /// Takes the next unexpired event, if any.
    pub(crate) fn pop(&self) -> Option<Arc<UniversalEvent>> {
        loop {
            let ev = self.queue.pop()?;
            self.consumed.fetch_add(1, Ordering::Relaxed);
            if self.waiting_producers.load(Ordering::SeqCst) > 0 {
                self.space.notify_waiters();
            }
            if self.level.load(Ordering::Relaxed) != NORMAL {
                self.check_low();
            }
            if ev.metadata.ttl.is_some() && ev.is_expired_at(chrono::Utc::now()) {
                self.expired.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Some(ev);
        }
    }

    fn check_low(&self) {
        let len = self.queue.len();
        if len > self.low {
            return;
        }
        let current = self.level.load(Ordering::Relaxed);
        if current != NORMAL
            && self
                .level
                .compare_exchange(current, NORMAL, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.dropping.store(false, Ordering::Release);
            self.notify(BackpressureKind::Recovered, len);
        }
    }

    /// Polls for the next event; `None` once closed and drained.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Arc<UniversalEvent>>> {
        if let Some(ev) = self.pop() {
            return Poll::Ready(Some(ev));
        }
        if self.is_closed() {
            return Poll::Ready(None);
        }
        self.consumer.register(cx.waker());
        let p = &*self.producer;
        p.parked.store(true, Ordering::SeqCst);
        // Pairs with the push's increment of `pushed` and load of `parked`:
        // every push this load sees is visible to the pop below, and a later
        // push sees `parked`.
        p.pushed.load(Ordering::SeqCst);
        if let Some(ev) = self.pop() {
            p.parked.store(false, Ordering::Relaxed);
            return Poll::Ready(Some(ev));
        }
        if self.is_closed() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Waits until the queue has room, is closed, or `deadline` passes.
    /// Returns whether there is room.
    pub(crate) async fn wait_for_space(&self, deadline: Instant) -> bool {
        // A consumer running on another core usually frees a slot within
        // nanoseconds: spin and yield briefly before parking on a timer.
        for round in 0..SPINS {
            if !self.queue.is_full() || self.is_closed() {
                return true;
            }
            if round < SPINS / 2 {
                std::hint::spin_loop();
            } else {
                tokio::task::yield_now().await;
            }
        }
        // Announce the wait before checking for room, so a consumer that pops
        // after our check is sure to see us and wake us.
        self.waiting_producers.fetch_add(1, Ordering::SeqCst);
        let room = loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.queue.is_full() || self.is_closed() {
                break true;
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                break !self.queue.is_full() || self.is_closed();
            }
        };
        self.waiting_producers.fetch_sub(1, Ordering::SeqCst);
        room
    }

    /// Closes the queue: the consumer drains what is left, then ends; blocked
    /// publishers are released.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.consumer.wake();
        self.space.notify_waiters();
    }

    pub(crate) fn level(&self) -> BackpressureLevel {
        match self.level.load(Ordering::Relaxed) {
            NORMAL => BackpressureLevel::Normal,
            WARNING => BackpressureLevel::Warning,
            _ => BackpressureLevel::Critical,
        }
    }

    pub(crate) fn stats(&self) -> SubscriptionStats {
        SubscriptionStats {
            id: self.id,
            pattern: self.pattern.as_str().to_owned(),
            name: self.options.name.clone(),
            language: self.options.language,
            internal: self.options.internal,
            capacity: self.queue.capacity(),
            overflow: self.options.overflow.as_str(),
            queued: self.queue.len(),
            delivered: self.producer.pushed.load(Ordering::Relaxed),
            received: self.consumed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            level: self.level(),
        }
    }
}
