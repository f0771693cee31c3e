//! Event streams: batched, filtered and throttled views of a subscription.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio_stream::StreamExt as _;

use crate::{Subscription, UniversalEvent};

/// A boxed stream of events, as returned by the [`EventStreamExt`] adaptors.
pub type EventStream = Pin<Box<dyn Stream<Item = Arc<UniversalEvent>> + Send + 'static>>;

/// A boxed stream of event batches.
pub type EventBatchStream = Pin<Box<dyn Stream<Item = Vec<Arc<UniversalEvent>>> + Send + 'static>>;

/// Adaptors for any stream of events (a [`Subscription`] among them), on
/// `tokio-stream`.
///
/// ```
/// use llmspell_events::{EventBus, EventStreamExt, Topic, UniversalEvent};
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let bus = EventBus::new();
/// let mut batches = bus.subscribe("metrics.**")?.batched(10, Duration::from_millis(5));
/// for i in 0..25 {
///     bus.publish(UniversalEvent::new(Topic::new("metrics.tick")?, i.into())).await?;
/// }
/// assert_eq!(batches.next().await.map(|b| b.len()), Some(10));
/// # Ok::<(), llmspell_events::Error>(())
/// # }).unwrap();
/// ```
pub trait EventStreamExt: Stream<Item = Arc<UniversalEvent>> + Send + Sized + 'static {
    /// Boxes the stream.
    fn boxed_events(self) -> EventStream {
        Box::pin(self)
    }

    /// Groups events into batches of at most `max`, emitting a partial batch
    /// when `timeout` passes after its first event.
    fn batched(self, max: usize, timeout: Duration) -> EventBatchStream {
        Box::pin(self.chunks_timeout(max.max(1), timeout))
    }

    /// Keeps only events for which `keep` returns true.
    fn filtered<F>(self, keep: F) -> EventStream
    where
        F: FnMut(&Arc<UniversalEvent>) -> bool + Send + 'static,
    {
        Box::pin(self.filter(keep))
    }

    /// Yields at most one event per `period` (later events wait; none are
    /// dropped — the subscription's queue policy decides what a slow reader
    /// loses).
    fn throttled(self, period: Duration) -> EventStream {
        Box::pin(self.throttle(period))
    }
}

impl<S> EventStreamExt for S where S: Stream<Item = Arc<UniversalEvent>> + Send + Sized + 'static {}

impl Subscription {
    /// The subscription as a boxed [`EventStream`].
    pub fn into_stream(self) -> EventStream {
        Box::pin(self)
    }
}
