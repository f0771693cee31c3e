//! What the NATS tests share: their runtime and events.
#![allow(dead_code, clippy::unwrap_used)]

use llmspell_events::{Topic, UniversalEvent};

/// A two-worker runtime, as the links run in an application.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A native event on `topic` carrying `data`.
pub fn event(topic: &str, data: serde_json::Value) -> UniversalEvent {
    UniversalEvent::new(Topic::new(topic).unwrap(), data)
}
