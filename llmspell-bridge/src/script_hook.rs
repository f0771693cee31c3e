//! Script functions registered as hooks, and as tool handlers.

use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::Error;
use llmspell_hooks::{Hook, HookContext, HookMetadata, HookResult};
use serde_json::Value;

use crate::ScriptFunction;
use crate::engine::CallArgs;

/// A hook whose behaviour is a script function. The function gets the
/// context (its JSON form) and returns one of the documented result shapes,
/// parsed strictly; a script error, a malformed result or running past the
/// time limit is a hook failure (breaker, fail mode) with a message naming
/// the hook and what was wrong.
pub struct ScriptHook {
    function: ScriptFunction,
    timeout: Duration,
    metadata: HookMetadata,
}

impl ScriptHook {
    /// A hook calling `function`, interrupted after `timeout`.
    pub fn new(function: ScriptFunction, timeout: Duration, metadata: HookMetadata) -> Self {
        Self {
            function,
            timeout,
            metadata,
        }
    }
}

#[async_trait]
impl Hook for ScriptHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let out = self
            .function
            .call_with(CallArgs::Context(Box::new(ctx.clone())), Some(self.timeout))
            .await
            .map_err(|message| Error::Execution {
                component: format!("hook:{}", self.metadata.name),
                message,
            })?;
        HookResult::from_script_value(&out).map_err(|e| Error::Execution {
            component: format!("hook:{}", self.metadata.name),
            message: e.to_string(),
        })
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
        .map_err(|message| Error::Execution {
            component: format!("tool:{tool}"),
            message,
        })
}
