//! The llmspell event bus.
//!
//! - [`UniversalEvent`]: one event format for Rust, Lua and JavaScript, with a
//!   stable JSON form.
//! - [`Topic`] / [`TopicPattern`]: validated dot-separated topics and
//!   wildcard patterns (`*` one segment, `**` any number, `*` inside a segment
//!   globs), compiled once.
//! - [`EventBus`]: publish, pull [`Subscription`]s (streams that unsubscribe
//!   on drop), handler subscriptions, stats; routing through a segment trie.
//! - Flow control: bounded per-subscriber queues with an [`OverflowPolicy`],
//!   water marks and [`BackpressureNotice`]s, an optional [`RateLimit`].
//! - Persistence: [`EventBus::persist`] writes matching events to an
//!   [`EventStore`] in batches off the publish path; query, replay, retention.
//! - Streams: [`EventStreamExt`] for batched, filtered and throttled streams.
//! - [`EventMetrics`]: per-prefix counters and a sliding-window rate.
//!
//! # Example
//!
//! ```
//! use llmspell_events::{EventBus, Topic, UniversalEvent};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let bus = EventBus::new();
//! let mut done = bus.subscribe("tool.*.completed")?;
//! let mut everything = bus.subscribe("**")?;
//!
//! let topic = Topic::new("tool.calculator.completed")?;
//! bus.publish(UniversalEvent::new(topic, json!({ "result": 8 }))).await?;
//!
//! assert_eq!(done.recv().await.unwrap().data["result"], 8);
//! assert_eq!(everything.recv().await.unwrap().sequence, 1);
//! # Ok::<(), llmspell_events::Error>(())
//! # }).unwrap();
//! ```

mod bus;
mod error;
mod event;
mod flow;
mod handler;
mod intercept;
mod metrics;
mod persistence;
mod queue;
mod router;
mod stats;
mod store;
mod stream;
mod subscription;
mod topic;

pub use bus::{EventBus, EventBusBuilder, LAGGING_TOPIC, PublishReceipt};
pub use error::{Error, Result};
pub use event::{EventMetadata, UniversalEvent};
pub use flow::{
    BackpressureKind, BackpressureLevel, BackpressureNotice, OverflowPolicy, RateLimit,
    RateLimitMode, SubscriptionOptions,
};
pub use handler::HandlerSubscription;
pub use intercept::EmitInterceptor;
pub use llmspell_core::{CorrelationId, Language};
pub use metrics::EventMetrics;
pub use persistence::{PersistStats, Persistence, PersistenceConfig};
pub use stats::{BusStats, SubscriptionStats};
pub use store::{EventQuery, EventStore, REPLAYED_TAG, Retention};
pub use stream::{EventBatchStream, EventStream, EventStreamExt};
pub use subscription::{Subscription, SubscriptionId};
pub use topic::{Topic, TopicPattern};

/// The events guide's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/user-guide/events-guide.md")]
pub struct EventsGuide;
