//! Code that sees every event a bus publishes, before and after delivery.

use llmspell_core::async_trait;

use crate::{PublishReceipt, Result, UniversalEvent};

/// Sees the events published with [`EventBus::publish`](crate::EventBus::publish)
/// and [`EventBus::publish_now`](crate::EventBus::publish_now): it may change
/// an event or refuse it before it is routed, and is told what was delivered
/// afterwards. The hook system implements it for its `BeforeEventEmit` and
/// `AfterEventEmit` points; a bus has at most one
/// ([`EventBus::set_interceptor`](crate::EventBus::set_interceptor)).
///
/// The bus asks [`active`](Self::active) on every publish, so it must be
/// cheap (an atomic load); while it answers `false`, publishing costs what
/// it costs without an interceptor. `try_publish`, which never waits, does
/// not run the interceptor.
#[async_trait]
pub trait EmitInterceptor: Send + Sync {
    /// Whether [`before_emit`](Self::before_emit) has anything to do now.
    fn active(&self) -> bool;

    /// Whether [`after_emit`](Self::after_emit) has anything to do now (the
    /// bus keeps a copy of the event for it only then).
    fn active_after(&self) -> bool;

    /// Runs before routing: hands back the event to deliver (possibly
    /// changed).
    ///
    /// # Errors
    /// [`crate::Error::Refused`] to drop the event with a reason; the
    /// publisher gets the error and no subscriber sees the event.
    async fn before_emit(&self, event: UniversalEvent) -> Result<UniversalEvent>;

    /// Runs after delivery, with what the publish reported.
    async fn after_emit(&self, event: &UniversalEvent, receipt: &PublishReceipt);
}
