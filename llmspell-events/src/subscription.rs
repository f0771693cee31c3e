//! Subscriptions: the receiving end of the bus.

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::bus::BusInner;
use crate::queue::SubscriberQueue;
use crate::{Error, SubscriptionStats, TopicPattern, UniversalEvent};

/// Identifies a subscription on its bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriptionId(pub(crate) u64);

impl SubscriptionId {
    /// The numeric id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for SubscriptionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        s.parse::<u64>()
            .map(SubscriptionId)
            .map_err(|_| Error::InvalidConfig {
                field: "subscription id",
                message: format!("{s:?} is not a subscription id (ids are positive integers)"),
            })
    }
}

/// A pull subscription: a [`Stream`] of events matching its pattern, in
/// publish order. Dropping it unsubscribes.
///
/// Events are shared (`Arc`) between all subscribers of one publish.
pub struct Subscription {
    pub(crate) queue: Arc<SubscriberQueue>,
    pub(crate) bus: Weak<BusInner>,
}

impl Subscription {
    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.queue.id
    }

    /// The pattern it matches.
    pub fn pattern(&self) -> &TopicPattern {
        &self.queue.pattern
    }

    /// The next event; `None` once unsubscribed and drained.
    pub async fn recv(&mut self) -> Option<Arc<UniversalEvent>> {
        std::future::poll_fn(|cx| self.queue.poll_pop(cx)).await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Arc<UniversalEvent>> {
        self.queue.pop()
    }

    /// The next event, waiting at most `timeout`; `None` on timeout or close.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Arc<UniversalEvent>> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// The queue's counters.
    pub fn stats(&self) -> SubscriptionStats {
        self.queue.stats()
    }

    /// Whether the subscription was removed from the bus.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Removes the subscription; returns false if it was already removed.
    /// Events still queued can be drained afterwards.
    pub fn unsubscribe(&self) -> bool {
        match self.bus.upgrade() {
            Some(bus) => bus.remove(self.queue.id),
            None => {
                self.queue.close();
                false
            }
        }
    }
}

impl Stream for Subscription {
    type Item = Arc<UniversalEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_pop(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.remove(self.queue.id);
        }
        self.queue.close();
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.queue.id)
            .field("pattern", &self.queue.pattern)
            .finish()
    }
}
