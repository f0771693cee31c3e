//! `Event.subscribe`, `Event.receive` and `Event.unsubscribe`, once for
//! every engine.
//!
//! A subscription made with a callback is served by a pump: a task on the
//! engine's task set that calls the callback with each event, in order. One
//! made without is kept as a pull subscription of the engine that made it,
//! by id, for `Event.receive`; scripts of another engine cannot pull from
//! it. Engines only convert the script's arguments and the events.

use std::collections::HashMap;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;

use llmspell_events::{EventBus, Subscription, SubscriptionId, UniversalEvent};
use parking_lot::Mutex;
use serde_json::Value;

use super::waits::Millis;
use super::{BusyGuard, CallArgs, EngineHandle, ServedEngine, Started};
use crate::host::HostError;

/// A pull subscription, locked while a receive waits on it.
type Pull = Arc<tokio::sync::Mutex<Subscription>>;

/// The pull subscriptions of an engine, by id.
#[derive(Default)]
pub(crate) struct Pulls(Mutex<HashMap<SubscriptionId, Pull>>);

impl Pulls {
    fn keep(&self, sub: Subscription) {
        self.0
            .lock()
            .insert(sub.id(), Arc::new(tokio::sync::Mutex::new(sub)));
    }

    fn get(&self, id: SubscriptionId) -> Option<Pull> {
        self.0.lock().get(&id).cloned()
    }

    fn remove(&self, id: SubscriptionId) -> bool {
        self.0.lock().remove(&id).is_some()
    }

    /// Drops every pull subscription (the engine stopped), which
    /// unsubscribes them.
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.0.lock());
        drop(all);
    }
}

/// `Event.subscribe(pattern, callback?, options)`: with a callback, its
/// events are delivered to it (within the callback time limit); without,
/// the subscription is kept for [`EngineHandle::receive`].
///
/// # Errors
/// The message (without the `Event.subscribe: ` prefix) for bad options or
/// a bad pattern.
pub(crate) fn subscribe<E: ServedEngine>(
    engine: &Rc<E>,
    pattern: &str,
    callback: Option<E::Function>,
    options: &Value,
) -> Result<SubscriptionId, HostError> {
    let host = engine.host();
    let sub = host.subscribe(pattern, options, engine.handle().language())?;
    let id = sub.id();
    match callback {
        Some(f) => {
            // An async callback is awaited before the next event.
            let timeout = host.inner.live.callback_timeout();
            start_pump(engine, host.clone(), sub, move |e: &E, ev| {
                e.call_function(f.clone(), &CallArgs::Event(ev), Some(timeout))
            });
        }
        None => engine.handle().inner.pulls.keep(sub),
    }
    Ok(id)
}

/// A subscription id given as text.
///
/// # Errors
/// Why the text is not a subscription id.
pub(crate) fn subscription_id(text: &str) -> Result<SubscriptionId, HostError> {
    SubscriptionId::from_str(text).map_err(HostError::from)
}

impl EngineHandle {
    /// `Event.receive(sub, timeout_ms)`: checks the arguments at once, then
    /// the returned future waits up to the timeout (none: only an event
    /// already queued) for the subscription's next event.
    ///
    /// # Errors
    /// The message (without the `Event.receive: ` prefix) for a bad timeout
    /// or a subscription that is not one of this engine's pull
    /// subscriptions.
    pub(crate) fn receive(
        &self,
        id: SubscriptionId,
        timeout: Millis,
    ) -> Result<impl Future<Output = Option<Arc<UniversalEvent>>> + 'static, HostError> {
        let timeout = timeout.duration().map_err(|kind| {
            format!("argument 2 (timeout_ms) must be a non-negative number, got {kind}")
        })?;
        let Some(sub) = self.inner.pulls.get(id) else {
            return Err(format!(
                "subscription {id} has a callback or is not one of this script's subscriptions; receive works on subscriptions made without a callback"
            ).into());
        };
        Ok(async move {
            let mut s = sub.lock().await;
            if timeout.is_zero() {
                s.try_recv()
            } else {
                s.recv_timeout(timeout).await
            }
        })
    }

    /// `Event.unsubscribe(sub)`: true if the subscription was still active.
    pub(crate) fn unsubscribe(&self, bus: &EventBus, id: SubscriptionId) -> bool {
        // Unsubscribe first: dropping a pull subscription's stream also
        // unsubscribes it, which would make the answer always false.
        let removed = bus.unsubscribe(id);
        let pulled = self.inner.pulls.remove(id);
        removed || pulled
    }
}

/// Delivers a subscription's events to a script callback, one at a time and
/// in order, on the engine's task set (`call` starts the callback). A
/// failing callback is reported through `host` and the next event is still
/// delivered; the pump ends with the subscription or the engine.
fn start_pump<E: ServedEngine>(
    engine: &Rc<E>,
    host: crate::Host,
    mut sub: Subscription,
    call: impl Fn(&E, Arc<UniversalEvent>) -> Started + 'static,
) {
    let id = sub.id();
    let language = engine.handle().language();
    engine.handle().inner.callback_subscriptions.lock().push(id);
    let weak = Rc::downgrade(engine);
    tokio::task::spawn_local(async move {
        while let Some(ev) = sub.recv().await {
            let Some(engine) = weak.upgrade() else { break };
            let busy = BusyGuard::new(engine.handle());
            let started = call(&engine, ev);
            drop(engine);
            let result = match started {
                Started::Done(r) => r,
                Started::Waiting(rx) => rx.await.unwrap_or_else(|_| {
                    Err(crate::HostError::new("other", "the callback was dropped"))
                }),
            };
            if let Err(e) = result {
                host.report_callback_error(
                    language,
                    &format!("subscription callback for {:?}", sub.pattern().as_str()),
                    e.message(),
                )
                .await;
            }
            drop(busy);
        }
        if let Some(engine) = weak.upgrade() {
            engine
                .handle()
                .inner
                .callback_subscriptions
                .lock()
                .retain(|s| *s != id);
        }
    });
}
