//! The settings of a runtime that can change while it runs, and the
//! `ConfigurationChange` point every change passes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llmspell_core::{ComponentId, ComponentType, Error, ExecutionContext, Result};
use llmspell_hooks::{HookContext, HookExecutor, HookPoint, HookResult};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::RuntimeConfig;

/// The longest time limit a change may set: one day.
const MAX_TIMEOUT_MS: u64 = 24 * 3600 * 1000;

/// A change to a running runtime's settings
/// ([`ScriptRuntime::reconfigure`](crate::ScriptRuntime::reconfigure)): each
/// field that is set replaces the current value; the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use]
pub struct RuntimeUpdate {
    /// The time limit of hooks and callbacks that set none, in ms
    /// ([`RuntimeConfig::callback_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_timeout_ms: Option<u64>,
    /// The time limit of agent handlers and workflow functions, in ms
    /// ([`RuntimeConfig::handler_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler_timeout_ms: Option<u64>,
}

impl RuntimeUpdate {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the callback time limit.
    pub fn callback_timeout(mut self, d: Duration) -> Self {
        self.callback_timeout_ms = Some(millis(d));
        self
    }

    /// Sets the handler time limit.
    pub fn handler_timeout(mut self, d: Duration) -> Self {
        self.handler_timeout_ms = Some(millis(d));
        self
    }

    fn validate(&self) -> Result<()> {
        if *self == Self::default() {
            return Err(Error::invalid_input(
                "change",
                "the change sets nothing; valid fields: callback_timeout_ms, handler_timeout_ms",
            ));
        }
        for (field, v) in [
            ("callback_timeout_ms", self.callback_timeout_ms),
            ("handler_timeout_ms", self.handler_timeout_ms),
        ] {
            if let Some(ms) = v
                && !(1..=MAX_TIMEOUT_MS).contains(&ms)
            {
                return Err(Error::invalid_input(
                    field,
                    format!("{ms} is out of range; valid: 1 to {MAX_TIMEOUT_MS} ms"),
                ));
            }
        }
        Ok(())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The live values, read on every call that uses them.
pub(crate) struct Live {
    callback_ms: AtomicU64,
    handler_ms: AtomicU64,
}

impl Live {
    pub(crate) fn new(config: &RuntimeConfig) -> Self {
        Self {
            callback_ms: AtomicU64::new(millis(config.callback_timeout)),
            handler_ms: AtomicU64::new(millis(config.handler_timeout)),
        }
    }

    /// The time limit of hooks and callbacks that set none.
    pub(crate) fn callback_timeout(&self) -> Duration {
        Duration::from_millis(self.callback_ms.load(Ordering::Relaxed))
    }

    /// The time limit of handlers.
    pub(crate) fn handler_timeout(&self) -> Duration {
        Duration::from_millis(self.handler_ms.load(Ordering::Relaxed))
    }

    fn current(&self) -> serde_json::Value {
        json!({
            "callback_timeout_ms": self.callback_ms.load(Ordering::Relaxed),
            "handler_timeout_ms": self.handler_ms.load(Ordering::Relaxed),
        })
    }

    /// Applies `update` after `ConfigurationChange` (data: `{ current,
    /// change }`): `Modified` applies the hooks' `change` instead,
    /// `Replace(change)` applies that change, `Cancel` refuses. Returns the
    /// change applied.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or out-of-range change (also one a hook
    /// made); `Cancelled` when a hook refuses; `HookFailed` when a
    /// fail-closed hook cannot run.
    pub(crate) async fn reconfigure(
        &self,
        executor: &HookExecutor,
        update: RuntimeUpdate,
    ) -> Result<RuntimeUpdate> {
        update.validate()?;
        let ctx = HookContext::for_operation(
            HookPoint::ConfigurationChange,
            ComponentId::new(ComponentType::System, "runtime"),
            &ExecutionContext::native(),
            json!({ "current": self.current(), "change": &update }),
        );
        let fired = executor.fire(ctx).await?;
        fired.cancelled()?;
        let parse = |v: serde_json::Value| -> Result<RuntimeUpdate> {
            let u: RuntimeUpdate = serde_json::from_value(v).map_err(|e| {
                Error::invalid_input(
                    "change",
                    format!("a ConfigurationChange hook returned an invalid change: {e}"),
                )
            })?;
            u.validate()?;
            Ok(u)
        };
        let update = match (fired.result(), fired.modified) {
            (HookResult::Replace(v), _) => parse(v.clone())?,
            (_, true) => parse(fired.data["change"].clone())?,
            _ => {
                fired.ignore("modified, replace and cancel apply");
                update
            }
        };
        if let Some(ms) = update.callback_timeout_ms {
            self.callback_ms.store(ms, Ordering::Relaxed);
        }
        if let Some(ms) = update.handler_timeout_ms {
            self.handler_ms.store(ms, Ordering::Relaxed);
        }
        tracing::info!(change = ?update, "runtime configuration changed");
        Ok(update)
    }
}
