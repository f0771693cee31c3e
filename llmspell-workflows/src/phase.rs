//! Firing the points a workflow passes outside the guarded runner (pattern
//! phases, checkpoints, rollbacks, state reads and writes) and reading the
//! hooks' decisions there.

use llmspell_core::{ComponentId, ExecutionContext, Result};
use llmspell_hooks::{Fired, HookExecutor, HookPoint};
use serde_json::Value;

use crate::metadata::WORKFLOW;

/// What the workflow points do not honour is logged with this pointer.
pub(crate) const SEE_GUIDE: &str = "the workflows guide lists what each point honours";

/// Fires `point` for the workflow `component` when it has hooks, through
/// [`HookExecutor::fire_at`]: the context carries the workflow's name and
/// `metadata`; a `Cancel` is the caller's error; the caller honours the rest
/// or passes it to [`Fired::ignore`].
pub(crate) async fn fire(
    executor: &HookExecutor,
    point: HookPoint,
    component: &ComponentId,
    exec: &ExecutionContext,
    metadata: &[(&'static str, &str)],
    data: impl FnOnce() -> Value,
) -> Result<Option<Fired>> {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(metadata.len() + 1);
    all.push((WORKFLOW, &component.name));
    all.extend_from_slice(metadata);
    executor.fire_at(point, component, exec, &all, data).await
}
