//! Steps: the units a workflow runs, and the callbacks they are made of.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use llmspell_core::{Agent, Error, Result, Workflow};
use serde_json::Value;

use crate::{ErrorPolicy, RetryPolicy, WorkflowState};

/// The function behind a function step: the step's input and a snapshot of
/// the workflow state in, the step's output out.
///
/// The future is `'static` and `Send` because script callbacks run on
/// their engine's thread and answer through a channel.
pub type StepFn =
    Arc<dyn Fn(Value, WorkflowState) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// A step input computed from a snapshot of the workflow state (and the
/// source of a loop's items, see [`crate::LoopWorkflowBuilder::items_from`]).
pub type InputFn = Arc<dyn Fn(WorkflowState) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// An async predicate over a snapshot of the workflow state: a branch's
/// `when`, a loop's `while` and `break_when`.
pub type Condition = Arc<dyn Fn(WorkflowState) -> BoxFuture<'static, Result<bool>> + Send + Sync>;

/// Makes a [`StepFn`] from an async closure.
///
/// ```
/// use llmspell_workflows::step_fn;
/// use serde_json::json;
/// let double = step_fn(|input, _state| async move {
///     Ok(json!(input.as_i64().unwrap_or(0) * 2))
/// });
/// # let _ = double;
/// ```
pub fn step_fn<F, Fut>(f: F) -> StepFn
where
    F: Fn(Value, WorkflowState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    Arc::new(move |input, state| f(input, state).boxed())
}

/// Makes an [`InputFn`] from an async closure.
///
/// ```
/// use llmspell_workflows::input_fn;
/// use serde_json::json;
/// let from_previous = input_fn(|state| async move {
///     Ok(json!({ "expression": "x * 2", "variables": { "x": state.outputs["add"]["result"] } }))
/// });
/// # let _ = from_previous;
/// ```
pub fn input_fn<F, Fut>(f: F) -> InputFn
where
    F: Fn(WorkflowState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    Arc::new(move |state| f(state).boxed())
}

/// Makes a [`Condition`] from an async closure.
///
/// ```
/// use llmspell_workflows::condition_fn;
/// let big = condition_fn(|state| async move { Ok(state.input["size"].as_i64() > Some(100)) });
/// # let _ = big;
/// ```
pub fn condition_fn<F, Fut>(f: F) -> Condition
where
    F: Fn(WorkflowState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool>> + Send + 'static,
{
    Arc::new(move |state| f(state).boxed())
}

/// Runs a callback future, turning a panic into an [`Error::Execution`]
/// naming `who`, so that a faulty callback cannot unwind through the host.
pub(crate) async fn guard_callback<T>(
    who: impl FnOnce() -> String,
    fut: BoxFuture<'static, Result<T>>,
) -> Result<T> {
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(Error::execution(
                who(),
                format!("callback panicked: {message}"),
            ))
        }
    }
}

/// What a step runs.
#[derive(Clone)]
#[non_exhaustive]
pub enum StepKind {
    /// A tool of the engine's [`llmspell_tools::ToolRegistry`], by name.
    Tool {
        /// The tool's name.
        name: String,
    },
    /// An agent.
    Agent(Arc<dyn Agent>),
    /// A nested workflow; its output is the nested workflow's result JSON.
    Workflow(Arc<dyn Workflow>),
    /// A function of the input and the state.
    Function(StepFn),
}

impl StepKind {
    /// `"tool"`, `"agent"`, `"workflow"` or `"function"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Tool { .. } => "tool",
            StepKind::Agent(_) => "agent",
            StepKind::Workflow(_) => "workflow",
            StepKind::Function(_) => "function",
        }
    }
}

impl fmt::Debug for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepKind::Tool { name } => write!(f, "Tool({name:?})"),
            StepKind::Agent(a) => write!(f, "Agent({:?})", a.metadata().name()),
            StepKind::Workflow(w) => write!(f, "Workflow({:?})", w.metadata().name()),
            StepKind::Function(_) => f.write_str("Function"),
        }
    }
}

/// Where a step's input comes from.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum StepInput {
    /// The workflow's input (`state.input`). The default.
    #[default]
    WorkflowInput,
    /// A fixed value.
    Static(Value),
    /// Computed from a snapshot of the state when the step starts.
    Computed(InputFn),
}

impl fmt::Debug for StepInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepInput::WorkflowInput => f.write_str("WorkflowInput"),
            StepInput::Static(v) => write!(f, "Static({v})"),
            StepInput::Computed(_) => f.write_str("Computed"),
        }
    }
}

/// One step of a workflow: a name, what it runs, its input and its
/// policies.
///
/// Step names are unique within a workflow (checked when it is built) and
/// are event topic segments: letters, digits, `_`, `:` and `-`. A step's
/// output is recorded in the state as `outputs[<name>]`, also for steps
/// inside branches and loop bodies.
///
/// ```
/// use llmspell_workflows::{ErrorPolicy, RetryPolicy, Step, step_fn};
/// use serde_json::json;
///
/// let add = Step::tool("add", "calculator")
///     .input(json!({ "expression": "1 + 2" }))
///     .retry(RetryPolicy::attempts(3))
///     .on_error(ErrorPolicy::Continue);
/// let shout = Step::function("shout", step_fn(|input, _state| async move {
///     Ok(json!(input.as_str().unwrap_or_default().to_uppercase()))
/// }));
/// # let _ = (add, shout);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Step {
    pub(crate) name: Arc<str>,
    pub(crate) kind: StepKind,
    pub(crate) input: StepInput,
    pub(crate) retry: RetryPolicy,
    pub(crate) on_error: ErrorPolicy,
    pub(crate) save_as: Option<String>,
    pub(crate) timeout: Option<Duration>,
}

impl Step {
    /// A step of any kind.
    pub fn new(name: impl Into<Arc<str>>, kind: StepKind) -> Self {
        Self {
            name: name.into(),
            kind,
            input: StepInput::default(),
            retry: RetryPolicy::default(),
            on_error: ErrorPolicy::default(),
            save_as: None,
            timeout: None,
        }
    }

    /// A step calling the tool `tool` through the engine's tool registry.
    pub fn tool(name: impl Into<Arc<str>>, tool: impl Into<String>) -> Self {
        Self::new(name, StepKind::Tool { name: tool.into() })
    }

    /// A step calling `agent`.
    pub fn agent(name: impl Into<Arc<str>>, agent: Arc<dyn Agent>) -> Self {
        Self::new(name, StepKind::Agent(agent))
    }

    /// A step running `workflow` (any [`Workflow`], including the four
    /// patterns of this crate).
    pub fn workflow(name: impl Into<Arc<str>>, workflow: Arc<dyn Workflow>) -> Self {
        Self::new(name, StepKind::Workflow(workflow))
    }

    /// A step running a function; see [`step_fn`].
    pub fn function(name: impl Into<Arc<str>>, f: StepFn) -> Self {
        Self::new(name, StepKind::Function(f))
    }

    /// Uses a fixed input.
    pub fn input(mut self, input: Value) -> Self {
        self.input = StepInput::Static(input);
        self
    }

    /// Computes the input from the state when the step starts; see [`input_fn`].
    pub fn input_from(mut self, f: InputFn) -> Self {
        self.input = StepInput::Computed(f);
        self
    }

    /// Sets where the input comes from.
    pub fn with_input(mut self, input: StepInput) -> Self {
        self.input = input;
        self
    }

    /// Retries the step's own failures (default: no retry).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// What a failure does once retries are spent (default: fail the workflow).
    pub fn on_error(mut self, policy: ErrorPolicy) -> Self {
        self.on_error = policy;
        self
    }

    /// Also writes the step's output to `vars[<var>]` (through the state
    /// write hooks).
    pub fn save_as(mut self, var: impl Into<String>) -> Self {
        self.save_as = Some(var.into());
        self
    }

    /// Limits each attempt to `timeout`; an attempt over it fails with
    /// [`Error::Timeout`] (which is transient, so retries apply).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the step runs.
    pub fn kind(&self) -> &StepKind {
        &self.kind
    }

    /// Where its input comes from.
    pub fn input_source(&self) -> &StepInput {
        &self.input
    }

    /// Its retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Its error policy.
    pub fn error_policy(&self) -> &ErrorPolicy {
        &self.on_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn adapters_box_closures() {
        let f = step_fn(|input, _| async move { Ok(json!([input])) });
        assert_eq!(
            f(json!(1), WorkflowState::default()).await.unwrap(),
            json!([1])
        );
        let c = condition_fn(|s| async move { Ok(s.input["go"] == json!(true)) });
        assert!(c(WorkflowState::new(json!({ "go": true }))).await.unwrap());
    }

    #[tokio::test]
    async fn a_panicking_callback_becomes_an_error() {
        let f = step_fn(|_, _| async move {
            if true {
                panic!("boom");
            }
            Ok(Value::Null)
        });
        let err = guard_callback(|| "step:x".into(), f(Value::Null, WorkflowState::default()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
    }

    #[test]
    fn kinds_have_names() {
        let s = Step::tool("a", "calculator");
        assert_eq!(s.kind().as_str(), "tool");
        assert_eq!(format!("{:?}", s.kind()), "Tool(\"calculator\")");
    }
}
