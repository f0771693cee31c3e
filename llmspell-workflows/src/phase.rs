//! Firing the points a workflow passes outside the guarded runner (pattern
//! phases, checkpoints, rollbacks, state reads and writes) and reading the
//! hooks' decisions there.

use llmspell_core::{ComponentId, Error, ExecutionContext, Result};
use llmspell_hooks::{HookContext, HookExecutor, HookPoint, HookResult};
use serde_json::Value;

use crate::metadata::WORKFLOW;

/// What the hooks of a point decided, when it has hooks.
#[derive(Debug)]
pub(crate) struct Fired {
    /// The context's data after every `Modified`.
    pub(crate) data: Value,
    /// The decisive result (`Continue` when none).
    pub(crate) result: HookResult,
    /// The deciding hook's name.
    pub(crate) hook: String,
    /// Whether a hook changed the data.
    pub(crate) modified: bool,
}

impl Fired {
    /// Logs a decisive result the point does not honour.
    pub(crate) fn ignore(&self, point: &HookPoint) {
        if self.result.is_decisive() {
            tracing::warn!(%point, hook = %self.hook, action = %self.result.action(),
                "result ignored at this workflow point");
        }
    }
}

/// Fires `point` when it has hooks. `Cancel` becomes `Cancelled { hook,
/// reason }`; a fail-closed hook failure is returned as is; every other
/// decision is handed back for the caller to honour or ignore.
pub(crate) async fn fire(
    executor: &HookExecutor,
    point: HookPoint,
    component: &ComponentId,
    exec: &ExecutionContext,
    metadata: &[(&'static str, &str)],
    data: impl FnOnce() -> Value,
) -> Result<Option<Fired>> {
    if !executor.registry().has_hooks(&point) {
        return Ok(None);
    }
    let mut ctx = HookContext::for_operation(point, component.clone(), exec, data());
    ctx.metadata
        .insert(WORKFLOW.to_owned(), component.name.to_string());
    for (k, v) in metadata {
        ctx.metadata.insert((*k).to_owned(), (*v).to_owned());
    }
    let outcome = executor.execute_point(&mut ctx).await?;
    let modified = outcome.modified;
    let (result, hook) = outcome.into_parts();
    if let HookResult::Cancel(reason) = result {
        return Err(Error::Cancelled { hook, reason });
    }
    Ok(Some(Fired {
        data: ctx.data,
        result,
        hook,
        modified,
    }))
}
