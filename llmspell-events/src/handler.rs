//! Handler subscriptions: a task that calls a function for every event.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use tokio::task::JoinHandle;

use crate::{
    Error, EventBus, Result, Subscription, SubscriptionId, SubscriptionOptions, TopicPattern,
    UniversalEvent,
};

/// A subscription served by a handler on its own tokio task. Dropping it (or
/// calling [`unsubscribe`](HandlerSubscription::unsubscribe)) removes the
/// subscription; events already queued are still handled, then the task ends.
///
/// A handler that panics does not end the subscription: the panic is counted
/// ([`panics`](HandlerSubscription::panics)), logged, and the next event is
/// handled.
#[derive(Debug)]
pub struct HandlerSubscription {
    id: SubscriptionId,
    bus: EventBus,
    task: Option<JoinHandle<()>>,
    panics: Arc<AtomicU64>,
    handled: Arc<AtomicU64>,
}

impl HandlerSubscription {
    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// How many times the handler panicked.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// How many events the handler has finished with (panics included).
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    /// Removes the subscription; returns false if it was already removed.
    pub fn unsubscribe(&self) -> bool {
        self.bus.unsubscribe(self.id)
    }

    /// Removes the subscription and waits until every queued event was handled.
    pub async fn close(mut self) {
        self.bus.unsubscribe(self.id);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HandlerSubscription {
    fn drop(&mut self) {
        self.bus.unsubscribe(self.id);
    }
}

impl EventBus {
    /// Calls `handler` for every event matching `pattern`, in order, on a task
    /// spawned on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`], [`Error::InvalidConfig`] for bad options, or
    /// [`Error::Closed`] when called outside a tokio runtime.
    pub fn subscribe_handler<F>(
        &self,
        pattern: &str,
        options: SubscriptionOptions,
        handler: F,
    ) -> Result<HandlerSubscription>
    where
        F: Fn(Arc<UniversalEvent>) + Send + Sync + 'static,
    {
        self.subscribe_async_handler(pattern, options, move |ev| {
            handler(ev);
            std::future::ready(())
        })
    }

    /// Like [`subscribe_handler`](EventBus::subscribe_handler) for an async
    /// handler; each call finishes before the next event is handled.
    ///
    /// # Errors
    /// As [`subscribe_handler`](EventBus::subscribe_handler).
    pub fn subscribe_async_handler<F, Fut>(
        &self,
        pattern: &str,
        options: SubscriptionOptions,
        handler: F,
    ) -> Result<HandlerSubscription>
    where
        F: Fn(Arc<UniversalEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Closed {
            what: "tokio runtime (handler subscriptions must be created inside one)",
        })?;
        let sub = self.subscribe_with(TopicPattern::new(pattern)?, options)?;
        let id = sub.id();
        let panics = Arc::new(AtomicU64::new(0));
        let handled = Arc::new(AtomicU64::new(0));
        let task = runtime.spawn(run(sub, handler, panics.clone(), handled.clone()));
        Ok(HandlerSubscription {
            id,
            bus: self.clone(),
            task: Some(task),
            panics,
            handled,
        })
    }
}

async fn run<F, Fut>(
    mut sub: Subscription,
    handler: F,
    panics: Arc<AtomicU64>,
    handled: Arc<AtomicU64>,
) where
    F: Fn(Arc<UniversalEvent>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    while let Some(ev) = sub.recv().await {
        let topic = ev.event_type.clone();
        let outcome = AssertUnwindSafe(async { handler(ev).await })
            .catch_unwind()
            .await;
        if outcome.is_err() {
            panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(subscription = %sub.id(), topic = %topic, "event handler panicked");
        }
        handled.fetch_add(1, Ordering::Relaxed);
    }
}
