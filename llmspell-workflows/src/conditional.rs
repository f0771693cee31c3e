//! The conditional pattern: the first branch whose condition holds runs,
//! else the default steps.

use std::collections::HashSet;
use std::fmt;

use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Workflow, async_trait};
use llmspell_hooks::HookPoint;
use serde_json::{Value, json};

use crate::definition::{
    Body, Common, Definition, Preparer, Report, common_builder_methods, validate_name,
};
use crate::executor::{Position, Run, StepList, stops_everything};
use crate::metadata;
use crate::step::guard_callback;
use crate::{Condition, Step, WorkflowEngine, WorkflowResult};

/// The name under which the default steps are reported (reserved: no
/// branch may use it).
pub const DEFAULT_BRANCH: &str = "default";

/// A branch of a conditional workflow: a name, a condition over the state,
/// and the steps to run when it holds.
#[derive(Clone)]
#[must_use]
pub struct Branch {
    name: String,
    when: Condition,
    steps: Vec<Step>,
}

impl Branch {
    /// A branch named `name` taken when `when` returns true; see
    /// [`crate::condition_fn`].
    pub fn new(name: impl Into<String>, when: Condition) -> Self {
        Self {
            name: name.into(),
            when,
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

impl fmt::Debug for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Branch")
            .field("name", &self.name)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

struct PreparedBranch {
    name: String,
    when: Condition,
    steps: StepList,
}

pub(crate) struct ConditionalBody {
    branches: Vec<PreparedBranch>,
    default: StepList,
}

/// Evaluates its branches' conditions in order and runs the steps of the
/// first that returns true, or the default steps when none does.
///
/// Conditions are evaluated lazily (a branch after the chosen one is not
/// asked). Each evaluation fires `WorkflowConditionEvaluated` (data:
/// `{ branch, index, result }`; a `Modified` `result` overrides the
/// condition), then the choice fires `WorkflowBranchSelected` (data:
/// `{ branch }`, `"default"` for the default steps; a `Modified` `branch`
/// naming another branch or `"default"` runs that instead). The result's
/// `branch` says which ran.
///
/// ```
/// use llmspell_core::ExecutionContext;
/// use llmspell_workflows::{Branch, ConditionalWorkflow, Step, condition_fn, step_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let say = |text: &'static str| step_fn(move |_, _| async move { Ok(json!(text)) });
/// let wf = ConditionalWorkflow::builder("triage")
///     .branch(
///         Branch::new("urgent", condition_fn(|s| async move { Ok(s.input["priority"] == json!("high")) }))
///             .step(Step::function("page", say("paged"))),
///     )
///     .default_step(Step::function("queue", say("queued")))
///     .build()?;
/// let result = wf.run(json!({ "priority": "low" }), &ExecutionContext::native()).await?;
/// assert_eq!(result.branch.as_deref(), Some("default"));
/// assert_eq!(result.outputs["queue"], json!("queued"));
/// # Ok::<(), llmspell_core::Error>(())
/// # }).unwrap();
/// ```
pub struct ConditionalWorkflow {
    def: Definition,
}

/// Builds a [`ConditionalWorkflow`].
#[must_use]
pub struct ConditionalWorkflowBuilder {
    name: String,
    common: Common,
    branches: Vec<Branch>,
    default: Vec<Step>,
}

impl ConditionalWorkflowBuilder {
    common_builder_methods!();

    /// Appends a branch (branches are tried in the order added).
    pub fn branch(mut self, branch: Branch) -> Self {
        self.branches.push(branch);
        self
    }

    /// Appends a default step.
    pub fn default_step(mut self, step: Step) -> Self {
        self.default.push(step);
        self
    }

    /// Appends default steps.
    pub fn default_steps(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        self.default.extend(steps);
        self
    }

    /// Builds the workflow.
    ///
    /// # Errors
    /// `InvalidInput` naming the field: invalid or repeated names (branch
    /// names are unique, are topic-segment-like and may not be
    /// `"default"`), and every step error of
    /// [`crate::SequentialWorkflowBuilder::build`].
    pub fn build(mut self) -> Result<ConditionalWorkflow> {
        let (metadata, engine) = Definition::start(&self.name, &mut self.common)?;
        let mut preparer = Preparer::new(&engine, &metadata);
        let mut seen = HashSet::new();
        let mut branches = Vec::with_capacity(self.branches.len());
        for (i, b) in self.branches.into_iter().enumerate() {
            let field = format!("branches[{i}]");
            validate_name("branch", &format!("{field}.name"), &b.name)?;
            if b.name == DEFAULT_BRANCH || !seen.insert(b.name.clone()) {
                return Err(Error::invalid_input(
                    format!("{field}.name"),
                    format!(
                        "branch name {:?} is {}; branch names are unique and \"default\" is reserved \
                         for the default steps",
                        b.name,
                        if b.name == DEFAULT_BRANCH {
                            "reserved"
                        } else {
                            "used twice"
                        }
                    ),
                ));
            }
            let steps = preparer.list(b.steps, &format!("{field}.steps"))?;
            branches.push(PreparedBranch {
                name: b.name,
                when: b.when,
                steps,
            });
        }
        let default = preparer.list(self.default, "default")?;
        let steps = preparer.count();
        let body = ConditionalBody { branches, default };
        Ok(ConditionalWorkflow {
            def: Definition::new(
                metadata,
                engine,
                self.common.vars,
                Body::Conditional(body),
                steps,
            ),
        })
    }
}

impl ConditionalWorkflow {
    /// A builder for a workflow named `name`.
    pub fn builder(name: impl Into<String>) -> ConditionalWorkflowBuilder {
        ConditionalWorkflowBuilder {
            name: name.into(),
            common: Common::default(),
            branches: Vec::new(),
            default: Vec::new(),
        }
    }

    /// Runs the workflow on `input` as `exec`'s operation.
    ///
    /// # Errors
    /// As [`crate::SequentialWorkflow::run`]; also a condition's error
    /// (`Execution` naming the branch) and a hook selecting an unknown branch.
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

impl ConditionalBody {
    pub(crate) async fn run(&self, run: &Run<'_>) -> Result<Report> {
        let mut chosen: Option<usize> = None;
        for (index, branch) in self.branches.iter().enumerate() {
            if self.evaluate(run, index, branch).await? {
                chosen = Some(index);
                break;
            }
        }
        let mut name = chosen.map_or(DEFAULT_BRANCH, |i| self.branches[i].name.as_str());
        let meta = [(metadata::BRANCH, name)];
        if let Some(f) = run
            .fire_phase(
                HookPoint::WorkflowBranchSelected,
                &meta,
                || json!({ "branch": name }),
            )
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
            if f.modified {
                let asked = f.data.get("branch").and_then(Value::as_str);
                name = match asked {
                    Some(DEFAULT_BRANCH) => DEFAULT_BRANCH,
                    Some(other) => match self.branches.iter().find(|b| b.name == other) {
                        Some(b) => b.name.as_str(),
                        None => return Err(self.unknown_branch(&f.data)),
                    },
                    None => return Err(self.unknown_branch(&f.data)),
                };
            }
        }
        let steps = match self.branches.iter().find(|b| b.name == name) {
            Some(b) => &b.steps,
            None => &self.default,
        };
        run.run_list(steps, &Position::named(name))
            .await
            .map_err(|f| f.error)?;
        Ok(Report {
            branch: Some(name.to_owned()),
            ..Report::default()
        })
    }

    async fn evaluate(&self, run: &Run<'_>, index: usize, branch: &PreparedBranch) -> Result<bool> {
        let who = || {
            format!(
                "workflow:{}.branch:{}",
                run.def.metadata.name(),
                branch.name
            )
        };
        let state = run.read_state(&format!("when:{}", branch.name)).await?;
        let mut result = guard_callback(who, (branch.when)(state))
            .await
            .map_err(|e| {
                if stops_everything(&e) {
                    e
                } else {
                    Error::execution(who(), format!("`when` failed: {e}"))
                }
            })?;
        let meta = [(metadata::BRANCH, branch.name.as_str())];
        if let Some(f) = run
            .fire_phase(
                HookPoint::WorkflowConditionEvaluated,
                &meta,
                || json!({ "branch": branch.name, "index": index, "result": result }),
            )
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
            if f.modified {
                result = f.data.get("result").and_then(Value::as_bool).ok_or_else(|| {
                    Error::invalid_input(
                        "result",
                        format!(
                            "a WorkflowConditionEvaluated hook returned {}; expected {{ branch, index, result = <boolean> }}",
                            f.data
                        ),
                    )
                })?;
            }
        }
        Ok(result)
    }

    fn unknown_branch(&self, data: &Value) -> Error {
        let mut valid: Vec<&str> = self.branches.iter().map(|b| b.name.as_str()).collect();
        valid.push(DEFAULT_BRANCH);
        Error::invalid_input(
            "branch",
            format!(
                "a WorkflowBranchSelected hook returned {data}; `branch` must name one of {valid:?}"
            ),
        )
    }
}

#[async_trait]
impl Workflow for ConditionalWorkflow {
    fn metadata(&self) -> &ComponentMetadata {
        &self.def.metadata
    }

    /// Runs the workflow; the output is the result's JSON form.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        self.def.execute(input, ctx).await
    }
}

impl fmt::Debug for ConditionalWorkflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConditionalWorkflow");
        d.field("name", &self.name());
        if let Body::Conditional(body) = &self.def.body {
            let branches: Vec<&str> = body.branches.iter().map(|b| b.name.as_str()).collect();
            d.field("branches", &branches)
                .field("default", &body.default.names().collect::<Vec<_>>());
        }
        d.finish()
    }
}
