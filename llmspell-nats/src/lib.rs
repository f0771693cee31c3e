//! llmspell beyond one process: the event bus and hooks on NATS with
//! JetStream.
//!
//! - [`NatsLink`]: a runtime's connection. It bridges configured topics
//!   both ways (topic `t` ↔ subject `<prefix>.t`; patterns map one to one,
//!   `*` → `*`, `**` → `>`, globs inside a segment filtered here), keeps
//!   every event's id, correlation, parent, language, source and tags in
//!   headers ([`codec`]), never sends an event that came from NATS back
//!   out, and bounds both directions (the outbound queue has the bus's
//!   overflow policies). Connection losses and returns are
//!   `nats.connection.*` events and [`NatsStats`].
//! - Durable history: a JetStream stream with retention by age, size and
//!   count ([`StreamConfig`]); a durable consumer lets a host that restarts
//!   get what it missed, once (de-duplication by event id);
//!   [`JetStreamHistory`] queries and replays it like the local store.
//! - Remote hooks: [`HookServer`] answers requests on
//!   `<prefix>.hooks.<point>` with a runtime's hooks; [`RemoteHook`] calls
//!   them as a hook with a timeout, fail mode and breaker like any other.
//!   What travels is a [`DistributedHookContext`](llmspell_hooks::DistributedHookContext)
//!   ([`protocol`]).
//! - [`NatsConfig`]: the settings (`[nats]` in `llmspell.toml`).
//! - [`subject`]: how topics and patterns become subjects.
//!
//! # Example
//!
//! ```no_run
//! use llmspell_events::{EventBus, Topic, UniversalEvent};
//! use llmspell_nats::{NatsConfig, NatsLink};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Two hosts (two buses here) sharing the topics under `orders`.
//! let (a, b) = (EventBus::new(), EventBus::new());
//! let config = NatsConfig::new("nats://127.0.0.1:4222").bridge("orders.**");
//! let link_a = NatsLink::start(config.clone().node("a"), a.clone()).await?;
//! let link_b = NatsLink::start(config.node("b"), b.clone()).await?;
//! let mut sub = b.subscribe("orders.*")?;
//! a.publish(UniversalEvent::new(Topic::new("orders.placed")?, serde_json::json!({"id": 7}))).await?;
//! assert_eq!(sub.recv().await.unwrap().data["id"], 7);
//! # link_a.shutdown().await; link_b.shutdown().await;
//! # Ok(()) }
//! ```

pub mod codec;
mod config;
mod error;
mod history;
mod inbound;
mod link;
mod outbound;
pub mod protocol;
mod remote_hook;
mod round_trip;
mod seen;
mod serve;
mod stats;
mod status;
mod stream;
pub mod subject;

pub use config::{
    DEFAULT_PREFIX, DEFAULT_URL, NatsConfig, RemoteHookConfig, StartPolicy, StreamConfig,
    default_stream_name,
};
pub use error::{Error, Result};
pub use history::JetStreamHistory;
pub use link::NatsLink;
pub use remote_hook::RemoteHook;
pub use serve::HookServer;
pub use stats::NatsStats;

/// Connects a bare client with the link's options (name, reconnection,
/// credentials, connect timeout), for tools that read the stream or call
/// hooks without bridging (`llmspell events query --from nats`).
///
/// # Errors
/// [`Error::Connect`].
pub async fn connect(config: &NatsConfig) -> Result<async_nats::Client> {
    config.validate()?;
    link::connect(config, &config.node_name(), None).await
}
