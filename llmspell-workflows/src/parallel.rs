//! The parallel pattern: branches of steps run concurrently.

use std::collections::HashSet;
use std::fmt;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Workflow, async_trait};
use llmspell_hooks::HookPoint;
use serde_json::{Value, json};

use crate::definition::{
    Body, Common, Definition, Preparer, Report, common_builder_methods, validate_name,
};
use crate::executor::{Position, Run, StepList, stops_everything};
use crate::{Step, WorkflowEngine, WorkflowResult};

/// A branch of a parallel workflow: a name and steps run in order.
#[derive(Clone, Debug)]
#[must_use]
pub struct ParallelBranch {
    name: String,
    steps: Vec<Step>,
}

impl ParallelBranch {
    /// An empty branch named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            steps: Vec::new(),
        }
    }

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

    /// The branch's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

pub(crate) struct ParallelBody {
    branches: Vec<(String, StepList)>,
    max_concurrency: usize,
    fail_fast: bool,
}

/// Runs its branches concurrently, at most `max_concurrency` at a time
/// (default: all), each branch's steps in order. All branches share the
/// state; steps record their outputs under their own names.
///
/// Before the branches start `ParallelFork` fires (data: `{ branches,
/// max_concurrency, fail_fast }`); when they are done `ParallelJoin` fires
/// (data: `{ branches = [{ name, status, error }], completed, failed,
/// cancelled }`, status `completed`, `failed`, `cancelled` (stopped by
/// fail-fast) or `skipped` (never started)).
///
/// With `fail_fast` (the default) the first branch failure cancels the
/// other branches (they stop at their next await) and the run fails with
/// that error. Without it, failures are recorded in the result's `errors`
/// (with their branch), the other branches run to the end and the result
/// has `success = false`. Cancellations by hooks always stop everything.
///
/// Branches run as concurrent futures of the calling task (no threads are
/// spawned): waiting steps (tools, agents, model calls, script callbacks)
/// overlap; CPU-heavy function steps should move their work to
/// `tokio::task::spawn_blocking`.
///
/// ```
/// use llmspell_core::ExecutionContext;
/// use llmspell_workflows::{ParallelBranch, ParallelWorkflow, Step, step_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let say = |text: &'static str| step_fn(move |_, _| async move { Ok(json!(text)) });
/// let wf = ParallelWorkflow::builder("fan_out")
///     .branch(ParallelBranch::new("a").step(Step::function("left", say("L"))))
///     .branch(ParallelBranch::new("b").step(Step::function("right", say("R"))))
///     .max_concurrency(2)
///     .build()?;
/// let result = wf.run(json!(null), &ExecutionContext::native()).await?;
/// assert_eq!((result.outputs["left"].clone(), result.outputs["right"].clone()), (json!("L"), json!("R")));
/// # Ok::<(), llmspell_core::Error>(())
/// # }).unwrap();
/// ```
pub struct ParallelWorkflow {
    def: Definition,
}

/// Builds a [`ParallelWorkflow`].
#[must_use]
pub struct ParallelWorkflowBuilder {
    name: String,
    common: Common,
    branches: Vec<ParallelBranch>,
    max_concurrency: Option<usize>,
    fail_fast: bool,
}

impl ParallelWorkflowBuilder {
    common_builder_methods!();

    /// Appends a branch.
    pub fn branch(mut self, branch: ParallelBranch) -> Self {
        self.branches.push(branch);
        self
    }

    /// Runs at most `n` branches at once (default: all).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Whether the first failure cancels the rest (default true) or
    /// failures are collected.
    pub fn fail_fast(mut self, on: bool) -> Self {
        self.fail_fast = on;
        self
    }

    /// Builds the workflow.
    ///
    /// # Errors
    /// `InvalidInput` naming the field: `max_concurrency` of 0, invalid or
    /// repeated branch names, and every step error of
    /// [`crate::SequentialWorkflowBuilder::build`].
    pub fn build(mut self) -> Result<ParallelWorkflow> {
        let (metadata, engine) = Definition::start(&self.name, &mut self.common)?;
        if self.max_concurrency == Some(0) {
            return Err(Error::invalid_input(
                "max_concurrency",
                "must be at least 1",
            ));
        }
        let mut preparer = Preparer::new(&engine, &metadata);
        let mut seen = HashSet::new();
        let mut branches = Vec::with_capacity(self.branches.len());
        for (i, b) in self.branches.into_iter().enumerate() {
            let field = format!("branches[{i}]");
            validate_name("branch", &format!("{field}.name"), &b.name)?;
            if !seen.insert(b.name.clone()) {
                return Err(Error::invalid_input(
                    format!("{field}.name"),
                    format!(
                        "branch name {:?} is used twice; branch names are unique",
                        b.name
                    ),
                ));
            }
            let steps = preparer.list(b.steps, &format!("{field}.steps"))?;
            branches.push((b.name, steps));
        }
        let max_concurrency = self
            .max_concurrency
            .unwrap_or(branches.len())
            .clamp(1, branches.len().max(1));
        let steps = preparer.count();
        let body = ParallelBody {
            branches,
            max_concurrency,
            fail_fast: self.fail_fast,
        };
        Ok(ParallelWorkflow {
            def: Definition::new(
                metadata,
                engine,
                self.common.vars,
                Body::Parallel(body),
                steps,
            ),
        })
    }
}

impl ParallelWorkflow {
    /// A builder for a workflow named `name`.
    pub fn builder(name: impl Into<String>) -> ParallelWorkflowBuilder {
        ParallelWorkflowBuilder {
            name: name.into(),
            common: Common::default(),
            branches: Vec::new(),
            max_concurrency: None,
            fail_fast: true,
        }
    }

    /// Runs the workflow on `input` as `exec`'s operation.
    ///
    /// # Errors
    /// As [`crate::SequentialWorkflow::run`]; with fail-fast, the first
    /// branch failure.
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

/// Numbers parallel runs (see [`Position::branch`]).
static NEXT_FORK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Clone)]
enum Status {
    Skipped,
    Running,
    Completed,
    Failed(Value),
}

impl ParallelBody {
    pub(crate) async fn run(&self, run: &Run<'_>) -> Result<Report> {
        let n = self.branches.len();
        if let Some(f) = run
            .fire_phase(HookPoint::ParallelFork, &[], || {
                let names: Vec<&str> = self.branches.iter().map(|(b, _)| b.as_str()).collect();
                json!({
                    "branches": names,
                    "max_concurrency": self.max_concurrency,
                    "fail_fast": self.fail_fast,
                })
            })
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        // Unique per run of this parallel step: writes of its branches to the
        // same key are told apart from writes of other runs.
        let fork = NEXT_FORK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut status = vec![Status::Skipped; n];
        let mut stop: Option<Error> = None;
        {
            let start = |i: usize| {
                let (name, steps) = &self.branches[i];
                async move { (i, run.run_list(steps, &Position::branch(fork, name)).await) }
            };
            let mut running = FuturesUnordered::new();
            let mut next = 0;
            while next < n && running.len() < self.max_concurrency {
                status[next] = Status::Running;
                running.push(start(next));
                next += 1;
            }
            while let Some((i, outcome)) = running.next().await {
                match outcome {
                    Ok(()) => status[i] = Status::Completed,
                    Err(failure) => {
                        status[i] = Status::Failed(failure.error.to_json());
                        if self.fail_fast || stops_everything(&failure.error) {
                            stop = Some(failure.error);
                            break;
                        }
                        let branch = Position::branch(fork, &self.branches[i].0);
                        run.record(&failure.step, &branch, failure.error);
                    }
                }
                if next < n {
                    status[next] = Status::Running;
                    running.push(start(next));
                    next += 1;
                }
            }
            // Dropping the set cancels the branches still running.
        }
        let fired = run
            .fire_phase(HookPoint::ParallelJoin, &[], || self.join_data(&status))
            .await;
        if let Some(e) = stop {
            return Err(e);
        }
        if let Some(f) = fired? {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        Ok(Report::default())
    }

    fn join_data(&self, status: &[Status]) -> Value {
        let (mut completed, mut failed, mut cancelled) = (0, 0, 0);
        let branches: Vec<Value> = self
            .branches
            .iter()
            .zip(status)
            .map(|((name, _), s)| match s {
                Status::Completed => {
                    completed += 1;
                    json!({ "name": name, "status": "completed" })
                }
                Status::Failed(e) => {
                    failed += 1;
                    json!({ "name": name, "status": "failed", "error": e })
                }
                Status::Running => {
                    cancelled += 1;
                    json!({ "name": name, "status": "cancelled" })
                }
                Status::Skipped => {
                    cancelled += 1;
                    json!({ "name": name, "status": "skipped" })
                }
            })
            .collect();
        json!({
            "branches": branches,
            "completed": completed,
            "failed": failed,
            "cancelled": cancelled,
        })
    }
}

#[async_trait]
impl Workflow for ParallelWorkflow {
    fn metadata(&self) -> &ComponentMetadata {
        &self.def.metadata
    }

    /// Runs the workflow; the output is the result's JSON form.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        self.def.execute(input, ctx).await
    }
}

impl fmt::Debug for ParallelWorkflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ParallelWorkflow");
        d.field("name", &self.name());
        if let Body::Parallel(body) = &self.def.body {
            let branches: Vec<&str> = body.branches.iter().map(|(b, _)| b.as_str()).collect();
            d.field("branches", &branches)
                .field("max_concurrency", &body.max_concurrency)
                .field("fail_fast", &body.fail_fast);
        }
        d.finish()
    }
}
