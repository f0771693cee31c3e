//! Script functions registered as hooks, and as tool handlers.

use std::time::Duration;

use async_trait::async_trait;
use llmspell_hooks::{
    Hook, HookAdapter, HookContext, HookMetadata, HookResult, JsonHookAdapter, ReplayableHook,
};
use serde_json::Value;

use crate::engine::CallArgs;
use crate::{HostError, ScriptFunction};

/// A hook whose behaviour is a script function. The function gets the
/// context (built natively by its engine) and returns one of the documented
/// result shapes, which every engine hands back as JSON and which is parsed
/// by the one [`JsonHookAdapter`] of the hook system, so every language
/// accepts exactly the same shapes. A script error, a malformed result or
/// running past the time limit is a hook failure (breaker, fail mode) with a
/// message naming the hook and what was wrong.
pub struct ScriptHook {
    function: ScriptFunction,
    adapter: JsonHookAdapter,
    timeout: Duration,
    metadata: HookMetadata,
    reporter: Option<std::sync::Weak<crate::host::HostInner>>,
}

impl ScriptHook {
    /// A hook calling `function`, interrupted after `timeout`.
    pub fn new(function: ScriptFunction, timeout: Duration, metadata: HookMetadata) -> Self {
        Self {
            adapter: JsonHookAdapter::new(metadata.language),
            function,
            timeout,
            metadata,
            reporter: None,
        }
    }

    /// Reports this hook's failures through `host` (stderr, the
    /// `EventHandlerError` point, a `script.callback.failed` event), as
    /// for subscription callbacks, whatever the hook's fail mode.
    #[must_use]
    pub fn reporting_to(mut self, host: &crate::Host) -> Self {
        self.reporter = Some(std::sync::Arc::downgrade(&host.inner));
        self
    }

    async fn report(&self, point: &llmspell_hooks::HookPoint, message: &str) {
        let Some(host) = self.reporter.as_ref().and_then(std::sync::Weak::upgrade) else {
            return;
        };
        let host = crate::Host { inner: host };
        let what = format!("hook {:?} at {point}", self.metadata.name);
        // A failing EventHandlerError hook must not report through itself.
        let fire_point = *point != llmspell_hooks::HookPoint::EventHandlerError;
        host.report_failure(self.metadata.language, &what, message, fire_point)
            .await;
    }
}

#[async_trait]
impl Hook for ScriptHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let outcome = match self
            .function
            .call_with(
                CallArgs::Context(std::borrow::Cow::Borrowed(ctx)),
                Some(self.timeout),
            )
            .await
        {
            Ok(out) => self.adapter.parse_result(out).map_err(HostError::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(result) => Ok(result),
            Err(e) => {
                self.report(&ctx.point, e.message()).await;
                Err(e.failed_in(format!("hook:{}", self.metadata.name)))
            }
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// Calls a script function as a tool handler: the params in, the output out.
pub(crate) async fn call_tool_handler(
    function: &ScriptFunction,
    tool: &str,
    params: Value,
    timeout: Duration,
) -> llmspell_core::Result<Value> {
    function
        .call(vec![params], Some(timeout))
        .await
        .map_err(|e| e.failed_in(format!("tool:{tool}")))
}

/// Recorded by name: a recorded execution is replayed against the script
/// hook registered now under the same name (`name` in the hook's options).
impl ReplayableHook for ScriptHook {
    fn replay_id(&self) -> String {
        self.metadata.name.clone()
    }
}
