//! The metadata keys workflows set on the hook contexts they create, so
//! that hooks can tell which workflow, step, branch and iteration they run
//! for (`ctx.metadata["step"]`).
//!
//! Every context a workflow creates carries [`WORKFLOW`]; step-level
//! contexts (`BeforeWorkflowStage`, `AfterWorkflowStage`, the step's
//! `WorkflowError`, transitions, checkpoints, rollbacks, state reads and
//! writes) also carry [`STEP`] and, where they apply, [`STEP_KIND`],
//! [`BRANCH`] and [`ITERATION`]. The nesting depth of workflows travels on
//! the execution context of the components a step calls, typed
//! (`ExecutionContext::workflow_depth`).

/// The workflow's name.
pub const WORKFLOW: &str = "workflow";
/// The step's name (for state reads: the reader, such as `when:<branch>`,
/// `while`, `break_when`, `items`).
pub const STEP: &str = "step";
/// The step's kind: `tool`, `agent`, `workflow` or `function`.
pub const STEP_KIND: &str = "step_kind";
/// The branch (conditional or parallel) a step runs in.
pub const BRANCH: &str = "branch";
/// The loop iteration (1, 2, …) a step runs in.
pub const ITERATION: &str = "iteration";
