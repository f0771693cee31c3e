//! The `BeforeEventEmit` and `AfterEventEmit` points, around
//! [`EventBus::publish`](llmspell_events::EventBus::publish).

use llmspell_core::{ComponentId, ComponentType, async_trait};
use llmspell_events::{EmitInterceptor, PublishReceipt, UniversalEvent};
use serde_json::Value;

use crate::{HookContext, HookExecutor, HookPoint, HookResult};

/// How deep emit hooks may nest (a hook that publishes while an emit hook
/// runs); deeper publishes are delivered without the emit hooks.
const MAX_EMIT_DEPTH: u32 = 8;

tokio::task_local! {
    static EMIT_DEPTH: u32;
}

/// Runs the hooks of `BeforeEventEmit` and `AfterEventEmit` for every event
/// published on a bus ([`EventBus::publish`](llmspell_events::EventBus::publish)
/// and [`publish_now`](llmspell_events::EventBus::publish_now)). Install it
/// with [`EmitHooks::install`].
///
/// - `BeforeEventEmit`: `ctx.data` is the event's JSON form (`type`, `data`,
///   `tags`, `correlation_id`, …) and `ctx.language` the publisher's
///   language. `Modified` changes the event (its JSON form is read back;
///   `id` and `timestamp` stay), `Replace(value)` changes what is delivered
///   as its `data`, `Cancel(reason)` drops it: no subscriber sees it and the
///   publisher gets an error naming the hook and the reason. Other results
///   are not honoured there.
/// - `AfterEventEmit`: `ctx.data` is the delivered event's JSON form plus
///   `delivered` (how many subscriptions queued it). It reports; results are
///   not honoured there.
///
/// While neither point has hooks, publishing costs one extra atomic load.
/// Events the hook system publishes about itself (`hook.breaker.*`,
/// `hook.skipped`) and `try_publish` do not pass these points.
pub struct EmitHooks {
    executor: HookExecutor,
    component: ComponentId,
}

impl EmitHooks {
    /// Emit hooks of `executor`'s registry for its bus.
    ///
    /// # Errors
    /// [`llmspell_core::Error::Other`] when the executor has no bus or the
    /// bus already has an interceptor.
    pub fn install(executor: &HookExecutor) -> llmspell_core::Result<()> {
        let Some(bus) = executor.bus() else {
            return Err(llmspell_core::Error::other(
                "emit hooks need an executor with a bus",
            ));
        };
        let hooks = EmitHooks {
            executor: executor.clone(),
            component: ComponentId::new(ComponentType::System, "event_bus"),
        };
        bus.set_interceptor(std::sync::Arc::new(hooks))
            .map_err(|e| llmspell_core::Error::other(e.to_string()))
    }

    fn context(&self, point: HookPoint, event: &UniversalEvent, data: Value) -> HookContext {
        let mut ctx =
            HookContext::new(point, self.component.clone(), data).with_language(event.language);
        if let Some(c) = &event.metadata.correlation_id {
            ctx = ctx.with_correlation_id(c.clone());
        }
        if let Some(p) = &event.metadata.parent_id {
            ctx = ctx.with_parent_id(p.clone());
        }
        ctx
    }

    async fn before(&self, event: UniversalEvent) -> llmspell_events::Result<UniversalEvent> {
        let topic = event.event_type.to_string();
        let refused = |hook: String, reason: String| llmspell_events::Error::Refused {
            topic: topic.clone(),
            hook,
            reason,
        };
        let ctx = self.context(HookPoint::BeforeEventEmit, &event, event.to_json());
        let fired = match self.executor.fire(ctx).await {
            Ok(f) => f,
            Err(llmspell_core::Error::HookFailed { hook, message }) => {
                return Err(refused(
                    hook,
                    format!("the hook failed (fail-closed): {message}"),
                ));
            }
            Err(e) => return Err(refused("(emit hooks)".to_owned(), e.to_string())),
        };
        match fired.result() {
            HookResult::Cancel(reason) => {
                return Err(refused(
                    fired.decided_by().unwrap_or_default().to_owned(),
                    reason.clone(),
                ));
            }
            HookResult::Replace(value) => {
                let mut event = event;
                event.data = value.clone();
                return Ok(event);
            }
            HookResult::Continue | HookResult::Modified(_) | HookResult::Skipped(_) => {}
            _ => fired.ignore("modified, replace and cancel apply"),
        }
        if !fired.modified {
            return Ok(event);
        }
        let mut changed: UniversalEvent = serde_json::from_value(fired.data).map_err(|e| {
            refused(
                "a BeforeEventEmit hook".to_owned(),
                format!("its modified event does not decode: {e}"),
            )
        })?;
        changed.id = event.id;
        changed.timestamp = event.timestamp;
        Ok(changed)
    }
}

#[async_trait]
impl EmitInterceptor for EmitHooks {
    #[inline]
    fn active(&self) -> bool {
        let registry = self.executor.registry();
        registry.has_hooks(&HookPoint::BeforeEventEmit)
            || registry.has_hooks(&HookPoint::AfterEventEmit)
    }

    fn active_after(&self) -> bool {
        self.executor
            .registry()
            .has_hooks(&HookPoint::AfterEventEmit)
    }

    async fn before_emit(&self, event: UniversalEvent) -> llmspell_events::Result<UniversalEvent> {
        let depth = EMIT_DEPTH.try_with(|d| *d).unwrap_or(0);
        if depth >= MAX_EMIT_DEPTH {
            tracing::warn!(topic = %event.event_type, "emit hooks nested {MAX_EMIT_DEPTH} deep; delivered without them");
            return Ok(event);
        }
        if !self
            .executor
            .registry()
            .has_hooks(&HookPoint::BeforeEventEmit)
        {
            return Ok(event);
        }
        EMIT_DEPTH.scope(depth + 1, self.before(event)).await
    }

    async fn after_emit(&self, event: &UniversalEvent, receipt: &PublishReceipt) {
        let depth = EMIT_DEPTH.try_with(|d| *d).unwrap_or(0);
        if depth >= MAX_EMIT_DEPTH {
            return;
        }
        let mut data = event.to_json();
        if let Value::Object(o) = &mut data {
            o.insert("delivered".to_owned(), receipt.delivered.into());
        }
        let ctx = self.context(HookPoint::AfterEventEmit, event, data);
        let fired = EMIT_DEPTH.scope(depth + 1, self.executor.fire(ctx)).await;
        match fired {
            Ok(f) => f.ignore("AfterEventEmit reports only"),
            Err(e) => tracing::warn!(error = %e, "an AfterEventEmit hook failed"),
        }
    }
}

impl std::fmt::Debug for EmitHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmitHooks").finish_non_exhaustive()
    }
}
