//! What the link reports on the local bus: connection changes and messages
//! it could not use.
//!
//! | topic | when | data |
//! |---|---|---|
//! | `nats.connection.disconnected` | the connection was lost | `node`, `url`, `disconnects`, `reconnects` |
//! | `nats.connection.reconnected` | it is back after a loss | the same |
//! | `nats.connection.lame_duck` | the server is shutting down | the same |
//! | `nats.connection.slow_consumer` | the server or client dropped messages of a slow subscription | the same and `message` |
//! | `nats.connection.error` | the server or client reported an error | the same and `message` |
//! | `nats.connection.closed` | the connection was closed for good | the same |
//! | `nats.bridge.malformed` | a message from NATS was not a valid event or request | `subject`, `message` |
//! | `nats.bridge.dropped` | an event could not be sent (too large for the server) | `topic`, `id`, `message` |
//!
//! They are published without waiting (a full subscriber misses them) and
//! are never bridged.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use llmspell_events::{EventBus, Topic, UniversalEvent};
use serde_json::{Value, json};

use crate::stats::Counters;

/// Publishes one status event on `bus`, without waiting.
pub(crate) fn report(bus: &EventBus, topic: &str, data: Value) {
    if let Ok(t) = Topic::new(topic) {
        let _ = bus.try_publish(UniversalEvent::new(t, data).with_source("nats"));
    }
}

/// What the connection callback needs.
#[derive(Clone)]
pub(crate) struct ConnectionReporter {
    pub(crate) bus: EventBus,
    pub(crate) counters: Arc<Counters>,
    pub(crate) node: String,
    pub(crate) url: String,
}

impl ConnectionReporter {
    /// Records `event` in the counters and reports it.
    pub(crate) fn on_event(&self, event: async_nats::Event) {
        let c = &self.counters;
        let (kind, message) = match event {
            async_nats::Event::Connected => {
                c.connected.store(true, Ordering::Relaxed);
                // The first connection is not a reconnection.
                if c.disconnects.load(Ordering::Relaxed) <= c.reconnects.load(Ordering::Relaxed) {
                    return;
                }
                Counters::add(&c.reconnects);
                ("reconnected", None)
            }
            async_nats::Event::Disconnected => {
                c.connected.store(false, Ordering::Relaxed);
                Counters::add(&c.disconnects);
                ("disconnected", None)
            }
            async_nats::Event::LameDuckMode => ("lame_duck", None),
            async_nats::Event::SlowConsumer(sid) => (
                "slow_consumer",
                Some(format!("subscription {sid} dropped messages")),
            ),
            async_nats::Event::ServerError(e) => ("error", Some(e.to_string())),
            async_nats::Event::ClientError(e) => ("error", Some(e.to_string())),
            async_nats::Event::Closed => {
                c.connected.store(false, Ordering::Relaxed);
                ("closed", None)
            }
            async_nats::Event::Draining => return,
        };
        let mut data = json!({
            "node": self.node,
            "url": self.url,
            "disconnects": c.disconnects.load(Ordering::Relaxed),
            "reconnects": c.reconnects.load(Ordering::Relaxed),
        });
        if let Some(m) = message {
            data["message"] = Value::String(m);
        }
        tracing::info!(target: "llmspell_nats", kind, %data, "NATS connection");
        report(&self.bus, &format!("nats.connection.{kind}"), data);
    }
}
