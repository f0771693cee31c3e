//! Event errors.

use std::time::Duration;

use uuid::Uuid;

use crate::SubscriptionId;

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong on the bus. Messages name the offending topic segment,
/// subscription or setting and say what is valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topic broke the topic rules.
    #[error("invalid topic {topic:?}: {reason}")]
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// The offending segment.
        segment: String,
        /// 1-based position of the segment.
        position: usize,
        /// What was wrong and what is valid.
        reason: String,
    },
    /// A pattern broke the pattern rules.
    #[error("invalid pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// The offending segment.
        segment: String,
        /// 1-based position of the segment.
        position: usize,
        /// What was wrong and what is valid.
        reason: String,
    },
    /// Subscriptions with the `reject` policy were full. The event reached
    /// every other matching subscriber.
    #[error(
        "subscription {subscription} ({pattern:?}) is full (capacity {capacity}, overflow reject); \
         event {event_id} (sequence {sequence}) went to {delivered} other subscriber(s)"
    )]
    SubscriberFull {
        /// The first full subscription.
        subscription: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// Its capacity.
        capacity: usize,
        /// How many other subscriptions were also full.
        also_full: usize,
        /// The event's id.
        event_id: Uuid,
        /// The event's sequence number.
        sequence: u64,
        /// How many subscribers did receive it.
        delivered: usize,
    },
    /// A `block` subscription stayed full for its whole timeout; the event
    /// was not queued there (other subscribers received it).
    #[error(
        "subscription {subscription} ({pattern:?}) stayed full for {} ms (overflow block); \
         the event was not queued there",
        .waited.as_millis()
    )]
    BlockTimeout {
        /// The subscription.
        subscription: SubscriptionId,
        /// Its pattern.
        pattern: String,
        /// How long publish waited.
        waited: Duration,
    },
    /// `try_publish` met a full `block` subscription (it never waits).
    #[error(
        "subscription {subscription} ({pattern:?}) is full and uses overflow block; \
         use publish (which waits) instead of try_publish"
    )]
    WouldBlock {
        /// The subscription.
        subscription: SubscriptionId,
        /// Its pattern.
        pattern: String,
    },
    /// The publish rate limit refused the event.
    #[error("publish rate limit reached; retry in {} ms", .retry_after.as_millis())]
    RateLimited {
        /// When a token will be available.
        retry_after: Duration,
    },
    /// A configuration value is invalid.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What was wrong and what is valid.
        message: String,
    },
    /// A storage operation of the persistence layer failed.
    #[error("event persistence: {0}")]
    Storage(#[from] llmspell_storage::Error),
    /// A stored event could not be decoded.
    #[error("stored event at key {key:?} is corrupt: {message}")]
    CorruptEvent {
        /// The storage key.
        key: String,
        /// The decoder's message.
        message: String,
    },
    /// An emit interceptor (a `BeforeEventEmit` hook) refused the event; no
    /// subscriber saw it.
    #[error("event {topic:?} dropped by hook {hook:?}: {reason}")]
    Refused {
        /// The event's topic.
        topic: String,
        /// The name of the hook that refused it.
        hook: String,
        /// Why.
        reason: String,
    },
    /// The component was shut down.
    #[error("{what} is closed")]
    Closed {
        /// What was closed.
        what: &'static str,
    },
}

impl From<Error> for llmspell_core::Error {
    /// - `InvalidTopic`, `InvalidPattern`, `InvalidConfig` → `InvalidInput`;
    /// - `SubscriberFull` → `ResourceLimitExceeded` (resource
    ///   `subscription_capacity`: the capacity, and one more event asked for);
    /// - `BlockTimeout` → `Timeout`;
    /// - `Refused` → `Cancelled` (the hook that refused, and why);
    /// - `Storage` → `Storage`; the rest → `Other` with the message.
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidTopic { ref topic, .. } => {
                llmspell_core::Error::invalid_input(format!("topic {topic:?}"), e.to_string())
            }
            Error::InvalidPattern { ref pattern, .. } => {
                llmspell_core::Error::invalid_input(format!("pattern {pattern:?}"), e.to_string())
            }
            Error::InvalidConfig { field, ref message } => {
                llmspell_core::Error::invalid_input(field, message.clone())
            }
            Error::SubscriberFull { capacity, .. } => llmspell_core::Error::ResourceLimitExceeded {
                resource: "subscription_capacity".to_owned(),
                limit: capacity as u64,
                requested: capacity as u64 + 1,
            },
            Error::BlockTimeout {
                ref pattern,
                waited,
                ..
            } => llmspell_core::Error::Timeout {
                operation: format!("publish to a full subscription ({pattern:?})"),
                after: waited,
            },
            Error::Refused { hook, reason, .. } => llmspell_core::Error::Cancelled { hook, reason },
            Error::Storage(s) => s.into(),
            other => llmspell_core::Error::other(other.to_string()),
        }
    }
}
