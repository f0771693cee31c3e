//! llmspell workflows: steps composed into sequential, conditional, loop
//! and parallel patterns, every one of them running through the hook
//! system.
//!
//! - [`Step`]: a tool call, an agent call, a nested workflow or a function,
//!   with a static or computed input ([`StepInput`]), a [`RetryPolicy`] and
//!   an [`ErrorPolicy`]; [`step_fn`], [`input_fn`] and [`condition_fn`]
//!   adapt closures.
//! - [`WorkflowState`]: `{ input, outputs, vars, iteration, item }`, shared
//!   by the steps of a run; reads and writes pass the state hook points.
//! - [`SequentialWorkflow`], [`ConditionalWorkflow`] (with [`Branch`]es),
//!   [`LoopWorkflow`] (items, an inclusive [`LoopRange`], or while) and
//!   [`ParallelWorkflow`] (with [`ParallelBranch`]es), each built by a
//!   builder that validates in `build()` and each an
//!   [`llmspell_core::Workflow`].
//! - [`WorkflowEngine`]: the hook runner, tool registry and
//!   [`ComponentResolver`] workflows run on.
//! - [`WorkflowResult`]: `{ success, outputs, state, duration_ms, errors }`.
//!
//! A whole run passes `BeforeWorkflowStart` / `AfterWorkflowComplete` /
//! `WorkflowError` and publishes `workflow.<name>.started|completed|failed`;
//! every step passes `BeforeWorkflowStage` / `AfterWorkflowStage` /
//! `WorkflowError` and publishes `workflow.<name>.step.<step>.started|…`.
//! The user guide (`docs/user-guide/workflows.md`) has every point and rule.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_core::ExecutionContext;
//! use llmspell_tools::{ToolRegistry, utility::Calculator};
//! use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
//! use llmspell_workflows::{SequentialWorkflow, Step, WorkflowEngine, input_fn};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(HookRegistry::new())));
//! tools.register(Arc::new(Calculator::new()))?;
//! let wf = SequentialWorkflow::builder("math")
//!     .engine(WorkflowEngine::with_tools(tools))
//!     .step(Step::tool("add", "calculator").input(json!({ "expression": "1 + 2" })))
//!     .step(Step::tool("times", "calculator").input_from(input_fn(|state| async move {
//!         Ok(json!({ "expression": "x * 10", "variables": { "x": state.outputs["add"]["result"] } }))
//!     })))
//!     .build()?;
//! let result = wf.run(json!({}), &ExecutionContext::native()).await?;
//! assert_eq!(result.outputs["times"], json!({ "result": 30 }));
//! # Ok::<(), llmspell_core::Error>(())
//! # }).unwrap();
//! ```

mod conditional;
mod definition;
mod engine;
mod executor;
mod loop_workflow;
pub mod metadata;
mod parallel;
mod phase;
mod policy;
mod resolver;
mod result;
mod sequential;
mod state;
mod step;

pub use conditional::{Branch, ConditionalWorkflow, ConditionalWorkflowBuilder, DEFAULT_BRANCH};
pub use engine::{DEFAULT_MAX_DEPTH, WorkflowEngine, WorkflowEngineBuilder};
pub use loop_workflow::{
    DEFAULT_WHILE_MAX_ITERATIONS, LoopRange, LoopWorkflow, LoopWorkflowBuilder,
};
pub use parallel::{ParallelBranch, ParallelWorkflow, ParallelWorkflowBuilder};
pub use policy::{ErrorPolicy, MAX_RETRY_DELAY, RetryPolicy};
pub use resolver::{ComponentMap, ComponentResolver};
pub use result::{LoopTermination, StepError, WorkflowResult};
pub use sequential::{SequentialWorkflow, SequentialWorkflowBuilder};
pub use state::{StateScope, WorkflowState};
pub use step::{
    Condition, InputFn, Step, StepFn, StepInput, StepKind, condition_fn, input_fn, step_fn,
};

/// The workflows guide's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/user-guide/workflows.md")]
pub struct WorkflowsGuide;
