//! A built workflow: identity, engine, initial variables and pattern body,
//! and the run of the whole workflow through the workflow hook points.

use std::collections::HashSet;
use std::sync::Arc;

use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result};
use llmspell_hooks::{GuardPoints, GuardSpec, HookContext};
use parking_lot::Mutex;
use serde_json::{Map, Value};

use crate::conditional::ConditionalBody;
use crate::executor::{PreparedStep, Run, StepList};
use crate::loop_workflow::LoopBody;
use crate::metadata;
use crate::parallel::ParallelBody;
use crate::state::SharedState;
use crate::{ErrorPolicy, LoopTermination, Step, StepKind, WorkflowEngine, WorkflowResult};
use crate::{WorkflowState, sequential};

/// Checks that `name` can be a topic segment: non-empty, letters, digits,
/// `_`, `:` and `-`.
pub(crate) fn validate_name(what: &str, field: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
    {
        return Err(Error::invalid_input(
            field,
            format!(
                "{what} name {name:?} is invalid: use letters, digits, '_', ':' and '-' \
                 (names are segments of event topics such as workflow.<name>.step.<step>.started)"
            ),
        ));
    }
    Ok(())
}

/// What a pattern reports besides outputs and errors.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) branch: Option<String>,
    pub(crate) iterations: Option<u64>,
    pub(crate) termination: Option<LoopTermination>,
}

/// The pattern a workflow runs.
pub(crate) enum Body {
    Sequential(StepList),
    Conditional(ConditionalBody),
    Loop(LoopBody),
    Parallel(ParallelBody),
}

/// The settings every pattern builder shares.
#[derive(Default)]
pub(crate) struct Common {
    pub(crate) description: Option<String>,
    pub(crate) engine: Option<WorkflowEngine>,
    pub(crate) vars: Map<String, Value>,
}

/// The builder methods every pattern shares (engine, description, vars).
macro_rules! common_builder_methods {
    () => {
        /// Runs on `engine` (default: [`WorkflowEngine::default`], no hooks
        /// and no tools).
        pub fn engine(mut self, engine: $crate::WorkflowEngine) -> Self {
            self.common.engine = Some(engine);
            self
        }

        /// Sets the one-line description.
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.common.description = Some(description.into());
            self
        }

        /// Sets an initial variable (`state.vars[name]`).
        pub fn var(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
            self.common.vars.insert(name.into(), value);
            self
        }

        /// Sets initial variables.
        pub fn vars(mut self, vars: serde_json::Map<String, serde_json::Value>) -> Self {
            self.common.vars.extend(vars);
            self
        }
    };
}
pub(crate) use common_builder_methods;

/// Prepares step lists: checks names (valid, unique in the workflow), tool
/// steps against the engine and policies, and builds each step's guard
/// spec once.
pub(crate) struct Preparer<'a> {
    engine: &'a WorkflowEngine,
    metadata: &'a ComponentMetadata,
    names: HashSet<Arc<str>>,
}

impl<'a> Preparer<'a> {
    pub(crate) fn new(engine: &'a WorkflowEngine, metadata: &'a ComponentMetadata) -> Self {
        Self {
            engine,
            metadata,
            names: HashSet::new(),
        }
    }

    /// How many steps were prepared so far.
    pub(crate) fn count(&self) -> usize {
        self.names.len()
    }

    /// Prepares the steps found at `field` (for error messages).
    pub(crate) fn list(&mut self, steps: Vec<Step>, field: &str) -> Result<StepList> {
        let mut prepared = Vec::with_capacity(steps.len());
        for (i, step) in steps.into_iter().enumerate() {
            let at = format!("{field}[{i}]");
            validate_name("step", &format!("{at}.name"), &step.name)?;
            if !self.names.insert(step.name.clone()) {
                return Err(Error::invalid_input(
                    format!("{at}.name"),
                    format!(
                        "step name {:?} is used twice in workflow {:?}; step names are unique \
                         within a workflow (outputs are recorded under them)",
                        &*step.name,
                        self.metadata.name()
                    ),
                ));
            }
            if let StepKind::Tool { name } = &step.kind
                && self.engine.tools().is_none()
            {
                return Err(Error::invalid_input(
                    format!("{at}.tool"),
                    format!(
                        "step {:?} calls tool {name:?} but the workflow's engine has no tool \
                         registry; build the engine with WorkflowEngine::builder().tools(..)",
                        &*step.name
                    ),
                ));
            }
            step.retry.validate(&format!("{at}.retry"))?;
            if let Some(var) = &step.save_as
                && var.is_empty()
            {
                return Err(Error::invalid_input(
                    format!("{at}.save_as"),
                    "the variable name is empty",
                ));
            }
            let spec = GuardSpec::with_prefix(
                self.metadata.id.clone(),
                GuardPoints::workflow_stage(),
                &format!("step.{}", step.name),
            );
            prepared.push(PreparedStep { step, spec });
        }
        let journaled = prepared
            .iter()
            .any(|p| p.step.on_error == ErrorPolicy::Rollback);
        Ok(StepList {
            steps: prepared,
            journaled,
        })
    }
}

/// A built workflow of any pattern.
pub(crate) struct Definition {
    pub(crate) metadata: ComponentMetadata,
    pub(crate) engine: WorkflowEngine,
    pub(crate) spec: GuardSpec,
    pub(crate) vars: Map<String, Value>,
    pub(crate) body: Body,
    /// Steps in the workflow (the size the outputs map starts with).
    steps: usize,
}

/// How a run ended: the typed result, or the JSON hooks left.
enum Finished {
    Typed(WorkflowResult),
    Raw(Value),
}

impl Definition {
    /// Checks the workflow name and settles the engine and metadata.
    pub(crate) fn start(
        name: &str,
        common: &mut Common,
    ) -> Result<(ComponentMetadata, WorkflowEngine)> {
        validate_name("workflow", "name", name)?;
        let metadata =
            ComponentMetadata::workflow(name, common.description.take().unwrap_or_default());
        let engine = common.engine.take().unwrap_or_default();
        Ok((metadata, engine))
    }

    pub(crate) fn new(
        metadata: ComponentMetadata,
        engine: WorkflowEngine,
        vars: Map<String, Value>,
        body: Body,
        steps: usize,
    ) -> Self {
        let spec = GuardSpec::new(metadata.id.clone(), GuardPoints::workflow());
        Self {
            metadata,
            engine,
            spec,
            vars,
            body,
            steps,
        }
    }

    /// Runs and returns the typed result.
    pub(crate) async fn run(
        &self,
        input: Value,
        exec: &ExecutionContext,
    ) -> Result<WorkflowResult> {
        match self.finish(input, exec).await? {
            Finished::Typed(r) => Ok(r),
            Finished::Raw(v) => WorkflowResult::from_json(&v),
        }
    }

    /// Runs and returns the result's JSON form (as hooks left it).
    pub(crate) async fn execute(&self, input: Value, exec: &ExecutionContext) -> Result<Value> {
        match self.finish(input, exec).await? {
            Finished::Typed(r) => Ok(r.to_json()),
            Finished::Raw(v) => Ok(v),
        }
    }

    /// The whole workflow between `BeforeWorkflowStart` and
    /// `AfterWorkflowComplete` / `WorkflowError`.
    async fn finish(&self, input: Value, exec: &ExecutionContext) -> Result<Finished> {
        let depth = self.depth(exec)?;
        let runner = self.engine.runner();
        // Without hooks or listeners the typed result is kept as it is;
        // hooks see (and may replace) its JSON form.
        if runner.is_passthrough(&self.spec) {
            return self.body(input, exec, depth).await.map(Finished::Typed);
        }
        let own = &self.spec.component().name;
        let amend = |ctx: &mut HookContext| {
            ctx.metadata.insert(
                metadata::WORKFLOW.to_owned(),
                self.metadata.name().to_owned(),
            );
        };
        let outcome = runner
            .run_with(&self.spec, exec, input, amend, |call| async move {
                if call.target == *own && !call.fork {
                    self.body(call.input, exec, depth)
                        .await
                        .map(|r| r.to_json())
                } else {
                    self.redirect(&call.target, call.input, exec).await
                }
            })
            .await?;
        Ok(Finished::Raw(outcome.output))
    }

    /// This run's nesting depth (1 at the top), checked against the limit.
    fn depth(&self, exec: &ExecutionContext) -> Result<u32> {
        let depth = exec.workflow_depth.saturating_add(1);
        let max = self.engine.max_depth();
        if depth > max {
            return Err(Error::ResourceLimitExceeded {
                resource: "workflow_depth".to_owned(),
                limit: u64::from(max),
                requested: u64::from(depth),
            });
        }
        Ok(depth)
    }

    /// Runs the whole workflow on another workflow (a hook's redirect or fork).
    async fn redirect(&self, target: &str, input: Value, exec: &ExecutionContext) -> Result<Value> {
        let Some(workflow) = self.engine.resolver().and_then(|r| r.workflow(target)) else {
            return Err(Error::NotFound {
                kind: "workflow".to_owned(),
                name: target.to_owned(),
                suggestion: None,
            });
        };
        workflow.execute(input, exec).await
    }

    /// The pattern's run, with fresh state.
    async fn body(
        &self,
        input: Value,
        exec: &ExecutionContext,
        depth: u32,
    ) -> Result<WorkflowResult> {
        let started = llmspell_core::clock::instant();
        let state = SharedState::new(
            WorkflowState {
                input: Arc::new(input),
                outputs: Arc::new(Map::with_capacity(self.steps)),
                vars: Arc::new(self.vars.clone()),
                ..WorkflowState::default()
            },
            self.engine.executor().clone(),
            self.metadata.id.clone(),
        );
        let run = Run {
            def: self,
            exec,
            state,
            errors: Mutex::new(Vec::new()),
            depth,
        };
        let report = match &self.body {
            Body::Sequential(list) => sequential::run(list, &run).await?,
            Body::Conditional(body) => body.run(&run).await?,
            Body::Loop(body) => body.run(&run).await?,
            Body::Parallel(body) => body.run(&run).await?,
        };
        let state = run.state.snapshot();
        let errors = run.errors.into_inner();
        Ok(WorkflowResult {
            success: errors.is_empty(),
            outputs: state.outputs.clone(),
            state,
            duration_ms: llmspell_core::clock::since(started).as_secs_f64() * 1000.0,
            errors,
            branch: report.branch,
            iterations: report.iterations,
            termination: report.termination,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_topic_segments() {
        assert!(validate_name("step", "s", "load_data-2:x").is_ok());
        for bad in ["", "load data", "a.b", "é"] {
            let err = validate_name("step", "steps[0].name", bad).unwrap_err();
            assert!(err.to_string().contains("steps[0].name"), "{err}");
        }
    }
}
