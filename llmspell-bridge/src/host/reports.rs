//! Failures of script code the host called (hooks, callbacks, timers):
//! reported, never raised.

use llmspell_core::{ComponentId, ComponentType, Language};
use llmspell_events::{Topic, UniversalEvent};
use llmspell_hooks::{HookContext, HookPoint};
use serde_json::json;

use super::Host;

impl Host {
    /// Reports an error of a hook or callback: stderr, the `EventHandlerError`
    /// point and a `script.callback.failed` event. It never stops the script.
    pub async fn report_callback_error(&self, language: Language, what: &str, message: &str) {
        self.report_failure(language, what, message, true).await;
    }

    /// As [`report_callback_error`](Host::report_callback_error); the
    /// `EventHandlerError` point fires only when `fire_point` is set.
    pub(crate) async fn report_failure(
        &self,
        language: Language,
        what: &str,
        message: &str,
        fire_point: bool,
    ) {
        eprintln!("{language} {what} failed: {message}");
        let data = json!({ "language": language, "callback": what, "message": message });
        if fire_point {
            let component = ComponentId::new(ComponentType::System, "scripts");
            let mut ctx = HookContext::new(HookPoint::EventHandlerError, component, data.clone())
                .with_language(language);
            if let Err(e) = self.inner.executor.execute_point(&mut ctx).await {
                tracing::warn!(error = %e, "an EventHandlerError hook failed");
            }
        }
        if let Ok(topic) = Topic::new("script.callback.failed") {
            let _ = self
                .inner
                .bus
                .try_publish(UniversalEvent::new(topic, data).with_language(language));
        }
    }
}
