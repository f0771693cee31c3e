//! The sequential pattern: steps one after another.

use std::fmt;

use llmspell_core::{ComponentMetadata, ExecutionContext, Result, Workflow, async_trait};
use serde_json::Value;

use crate::definition::{Body, Common, Definition, Preparer, Report, common_builder_methods};
use crate::executor::{Position, Run, StepList};
use crate::{Step, WorkflowEngine, WorkflowResult};

/// Runs its steps in order, each seeing the outputs of those before it.
///
/// A failed step stops the workflow unless its [`crate::ErrorPolicy`] says
/// otherwise. Between steps `WorkflowStageTransition` fires, after each step
/// `WorkflowCheckpoint`.
///
/// ```
/// use llmspell_core::ExecutionContext;
/// use llmspell_workflows::{SequentialWorkflow, Step, input_fn, step_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let wf = SequentialWorkflow::builder("etl")
///     .step(Step::function("load", step_fn(|input, _| async move {
///         Ok(json!({ "rows": input["rows"].as_i64().unwrap_or(0) }))
///     })))
///     .step(
///         Step::function("double", step_fn(|input, _| async move {
///             Ok(json!(input.as_i64().unwrap_or(0) * 2))
///         }))
///         .input_from(input_fn(|state| async move { Ok(state.outputs["load"]["rows"].clone()) })),
///     )
///     .build()?;
/// let result = wf.run(json!({ "rows": 21 }), &ExecutionContext::native()).await?;
/// assert!(result.success);
/// assert_eq!(result.outputs["double"], json!(42));
/// # Ok::<(), llmspell_core::Error>(())
/// # }).unwrap();
/// ```
pub struct SequentialWorkflow {
    def: Definition,
}

/// Builds a [`SequentialWorkflow`].
#[must_use]
pub struct SequentialWorkflowBuilder {
    name: String,
    common: Common,
    steps: Vec<Step>,
}

impl SequentialWorkflowBuilder {
    common_builder_methods!();

    /// Appends a step.
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Appends steps.
    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        self.steps.extend(steps);
        self
    }

    /// Builds the workflow.
    ///
    /// # Errors
    /// `InvalidInput` naming the field: a workflow or step name that is not
    /// a topic segment, a step name used twice, a tool step without a tool
    /// registry in the engine, an invalid retry policy.
    pub fn build(mut self) -> Result<SequentialWorkflow> {
        let (metadata, engine) = Definition::start(&self.name, &mut self.common)?;
        let mut preparer = Preparer::new(&engine, &metadata);
        let list = preparer.list(self.steps, "steps")?;
        let steps = preparer.count();
        Ok(SequentialWorkflow {
            def: Definition::new(
                metadata,
                engine,
                self.common.vars,
                Body::Sequential(list),
                steps,
            ),
        })
    }
}

impl SequentialWorkflow {
    /// A builder for a workflow named `name`.
    pub fn builder(name: impl Into<String>) -> SequentialWorkflowBuilder {
        SequentialWorkflowBuilder {
            name: name.into(),
            common: Common::default(),
            steps: Vec::new(),
        }
    }

    /// Runs the workflow on `input` as `exec`'s operation.
    ///
    /// # Errors
    /// A step failure its error policy does not absorb, a hook's
    /// cancellation (`Cancelled { hook, reason }`), a fail-closed hook
    /// failure, or the nesting limit.
    pub async fn run(&self, input: Value, exec: &ExecutionContext) -> Result<WorkflowResult> {
        self.def.run(input, exec).await
    }

    /// The workflow's name.
    pub fn name(&self) -> &str {
        self.def.metadata.name()
    }

    /// The engine it runs on.
    pub fn engine(&self) -> &WorkflowEngine {
        &self.def.engine
    }
}

pub(crate) async fn run(list: &StepList, run: &Run<'_>) -> Result<Report> {
    run.run_list(list, &Position::top())
        .await
        .map_err(|f| f.error)?;
    Ok(Report::default())
}

#[async_trait]
impl Workflow for SequentialWorkflow {
    fn metadata(&self) -> &ComponentMetadata {
        &self.def.metadata
    }

    /// Runs the workflow; the output is the result's JSON form.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        self.def.execute(input, ctx).await
    }
}

impl fmt::Debug for SequentialWorkflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Body::Sequential(list) = &self.def.body else {
            return f.write_str("SequentialWorkflow");
        };
        f.debug_struct("SequentialWorkflow")
            .field("name", &self.name())
            .field("steps", &list.names().collect::<Vec<_>>())
            .finish()
    }
}
