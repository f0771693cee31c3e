//! The link's counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// What the link has done since it started: a snapshot of its counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NatsStats {
    /// Whether the connection is up now.
    pub connected: bool,
    /// Times the connection was lost.
    pub disconnects: u64,
    /// Times it came back after a loss.
    pub reconnects: u64,
    /// Events sent to NATS (acknowledged by JetStream when the stream is on).
    pub published: u64,
    /// Attempts to send an event that failed and were retried.
    pub publish_retries: u64,
    /// Local events the bridge skipped because they had come from NATS
    /// (no echo) or are under a root that is never bridged.
    pub echoes_skipped: u64,
    /// Events the outbound queue dropped or refused under its overflow
    /// policy (a slow or unreachable NATS).
    pub outbound_dropped: u64,
    /// Events delivered from NATS into the local bus.
    pub received: u64,
    /// Events from NATS skipped because this host had already delivered
    /// them (same event id) or published them itself.
    pub duplicates_skipped: u64,
    /// Messages from NATS that were not valid events or requests (dropped,
    /// each reported as a `nats.bridge.malformed` event).
    pub malformed: u64,
    /// Remote hook calls made.
    pub hook_calls: u64,
    /// Remote hook calls that failed (timeout, no responder, bad reply).
    pub hook_failures: u64,
    /// Remote hook requests this host answered.
    pub hook_requests_served: u64,
}

/// The live counters behind [`NatsStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connected: AtomicBool,
    pub(crate) disconnects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) published: AtomicU64,
    pub(crate) publish_retries: AtomicU64,
    pub(crate) echoes_skipped: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) duplicates_skipped: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) hook_calls: AtomicU64,
    pub(crate) hook_failures: AtomicU64,
    pub(crate) hook_requests_served: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, outbound_dropped: u64) -> NatsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NatsStats {
            connected: self.connected.load(Ordering::Relaxed),
            disconnects: get(&self.disconnects),
            reconnects: get(&self.reconnects),
            published: get(&self.published),
            publish_retries: get(&self.publish_retries),
            echoes_skipped: get(&self.echoes_skipped),
            outbound_dropped,
            received: get(&self.received),
            duplicates_skipped: get(&self.duplicates_skipped),
            malformed: get(&self.malformed),
            hook_calls: get(&self.hook_calls),
            hook_failures: get(&self.hook_failures),
            hook_requests_served: get(&self.hook_requests_served),
        }
    }
}
