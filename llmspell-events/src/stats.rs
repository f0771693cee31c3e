//! Counters the bus exposes.

use llmspell_core::Language;
use serde::Serialize;

use crate::SubscriptionId;
use crate::flow::BackpressureLevel;

/// Cumulative bus counters since the bus was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BusStats {
    /// Events published.
    pub published: u64,
    /// Event copies queued to subscribers (one event to three subscribers counts three).
    pub delivered: u64,
    /// Event copies dropped or refused by full subscriber queues.
    pub dropped: u64,
    /// Publishes refused by the rate limit.
    pub rate_limited: u64,
    /// Live subscriptions (internal ones included).
    pub subscriptions: usize,
}

/// One subscription's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionStats {
    /// Its id.
    pub id: SubscriptionId,
    /// Its pattern.
    pub pattern: String,
    /// Its label, if any.
    pub name: Option<String>,
    /// The subscriber's language.
    pub language: Language,
    /// Whether it is internal (persistence).
    pub internal: bool,
    /// Queue capacity.
    pub capacity: usize,
    /// Overflow policy name.
    pub overflow: &'static str,
    /// Events waiting in the queue (the subscriber's lag).
    pub queued: usize,
    /// Events queued to it so far.
    pub delivered: u64,
    /// Events it has taken from its queue.
    pub received: u64,
    /// Events dropped or refused because its queue was full.
    pub dropped: u64,
    /// Events skipped because their ttl had passed.
    pub expired: u64,
    /// Current backpressure level.
    pub level: BackpressureLevel,
}
