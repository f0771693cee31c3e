//! The llmspell event bus (not built yet).
//!
//! Planned module map: `event` (UniversalEvent), `topic` (Topic, TopicPattern),
//! `bus` (EventBus, Subscription), `flow` (FlowController, OverflowPolicy),
//! `persistence`, `stream`, `metrics`. Nothing here works yet; see the
//! project's issue tracker for the plan.
