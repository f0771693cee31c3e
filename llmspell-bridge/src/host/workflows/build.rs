//! Building the four workflow patterns from script specs, naming a bad
//! field by its path (`Workflow.loop.body[2] (fetch).retry`).

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{Agent, Workflow};
use llmspell_workflows::{
    Branch, ComponentResolver, Condition, ConditionalWorkflow, ErrorPolicy, InputFn, LoopRange,
    LoopWorkflow, ParallelBranch, ParallelWorkflow, RetryPolicy, SequentialWorkflow, Step, StepFn,
    WorkflowState,
};
use serde_json::Value;

use super::WorkflowKind;
use crate::host::{Host, HostError};
use crate::{ScriptFunction, ScriptValue};

impl Host {
    pub(super) fn build_workflow(
        &self,
        kind: WorkflowKind,
        spec: &ScriptValue,
        ctor: &str,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        check_fields(spec, kind.fields(), ctor)?;
        let name = name_of(spec, ctor)?;
        let b = Builder {
            host: self,
            timeout: self.inner.live.handler_timeout(),
        };
        let vars = match json_field(spec, "vars", ctor)? {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(Value::Array(a)) if a.is_empty() => Some(serde_json::Map::new()),
            Some(other) => return Err(format!("{ctor}.vars must be a table, got {other}").into()),
        };
        let common = Common {
            engine: self.inner.workflows.clone(),
            description: spec.str_field("description"),
            vars,
        };
        let workflow = match kind {
            WorkflowKind::Sequential => b.sequential(spec, &name, ctor, common)?,
            WorkflowKind::Conditional => b.conditional(spec, &name, ctor, common)?,
            WorkflowKind::Loop => b.looping(spec, &name, ctor, common)?,
            WorkflowKind::Parallel => b.parallel(spec, &name, ctor, common)?,
        };
        self.inner.components.add_workflow(workflow.clone())?;
        Ok(workflow)
    }
}

const STEP_FIELDS: &[&str] = &[
    "name",
    "tool",
    "agent",
    "workflow",
    "fn",
    "input",
    "retry",
    "on_error",
    "save_as",
    "timeout_ms",
];

/// Builds things from one script spec, naming fields by their path.
struct Builder<'a> {
    host: &'a Host,
    timeout: Duration,
}

fn check_fields(spec: &ScriptValue, valid: &[&str], what: &str) -> Result<(), HostError> {
    if !spec.is_object() {
        return Err(format!("{what} must be a table, got {}", spec.kind()).into());
    }
    for key in spec.keys() {
        if !valid.contains(&key.as_str()) {
            return Err(format!(
                "unknown field `{key}` in {what}; valid: {}",
                valid.join(", ")
            )
            .into());
        }
    }
    Ok(())
}

fn function_field(
    spec: &ScriptValue,
    key: &str,
    what: &str,
) -> Result<Option<ScriptFunction>, HostError> {
    match spec.get(key) {
        None => Ok(None),
        Some(ScriptValue::Function(f)) => Ok(Some(f)),
        Some(other) => Err(format!("{what}.{key} must be a function, got {}", other.kind()).into()),
    }
}

fn json_field(spec: &ScriptValue, key: &str, what: &str) -> Result<Option<Value>, HostError> {
    spec.get(key)
        .map(|v| v.into_json(&format!("{what}.{key}")))
        .transpose()
}

/// A condition's answer under the truthiness of the script's language:
/// in Lua only nil and false are false; in JavaScript also 0 and "".
fn truthy(v: &Value, language: llmspell_core::Language) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) if language == llmspell_core::Language::Javascript => {
            n.as_f64().is_some_and(|x| x != 0.0)
        }
        Value::String(s) if language == llmspell_core::Language::Javascript => !s.is_empty(),
        _ => true,
    }
}

impl Builder<'_> {
    fn condition(&self, f: ScriptFunction) -> Condition {
        let timeout = self.timeout;
        Arc::new(move |state: WorkflowState| {
            let f = f.clone();
            Box::pin(async move {
                let v = f
                    .call(vec![state.to_json()], Some(timeout))
                    .await
                    .map_err(|e| e.failed_in("workflow:condition"))?;
                Ok(truthy(&v, f.language()))
            })
        })
    }

    fn input_fn(&self, f: ScriptFunction, what: String) -> InputFn {
        let timeout = self.timeout;
        Arc::new(move |state: WorkflowState| {
            let f = f.clone();
            let what = what.clone();
            Box::pin(async move {
                f.call(vec![state.to_json()], Some(timeout))
                    .await
                    .map_err(|e| e.failed_in(what))
            })
        })
    }

    fn step_fn(&self, f: ScriptFunction, what: String) -> StepFn {
        let timeout = self.timeout;
        Arc::new(move |input: Value, state: WorkflowState| {
            let f = f.clone();
            let what = what.clone();
            Box::pin(async move {
                f.call(vec![input, state.to_json()], Some(timeout))
                    .await
                    .map_err(|e| e.failed_in(what))
            })
        })
    }

    fn steps(&self, list: &ScriptValue, what: &str) -> Result<Vec<Step>, HostError> {
        list.elements(what)?
            .iter()
            .enumerate()
            .map(|(i, s)| self.step(s, &format!("{what}[{}]", i + 1)))
            .collect()
    }

    fn step(&self, spec: &ScriptValue, what: &str) -> Result<Step, HostError> {
        check_fields(spec, STEP_FIELDS, what)?;
        let name = spec
            .str_field("name")
            .ok_or_else(|| HostError::invalid(format!("{what} needs `name` (a string)")))?;
        let what = format!("{what} ({name})");
        let kinds: Vec<&str> = ["tool", "agent", "workflow", "fn"]
            .into_iter()
            .filter(|k| spec.get(k).is_some())
            .collect();
        if kinds.len() != 1 {
            return Err(format!(
                "{what} needs exactly one of `tool`, `agent`, `workflow`, `fn`; it has {}",
                none_or_list(&kinds)
            )
            .into());
        }
        let mut step = match kinds[0] {
            "tool" => {
                let tool = spec.str_field("tool").ok_or_else(|| {
                    HostError::invalid(format!("{what}.tool must be a tool name (a string)"))
                })?;
                if self.host.inner.tools.get(&tool).is_none() {
                    return Err(
                        format!("{what}.tool: no tool named {tool:?} (see Tool.list())").into(),
                    );
                }
                Step::tool(name.as_str(), tool)
            }
            "agent" => Step::agent(name.as_str(), self.step_agent(spec, &what)?),
            "workflow" => Step::workflow(name.as_str(), self.step_workflow(spec, &what)?),
            _ => {
                let f = function_field(spec, "fn", &what)?
                    .ok_or_else(|| HostError::invalid(format!("{what}.fn must be a function")))?;
                Step::function(name.as_str(), self.step_fn(f, format!("step:{name}")))
            }
        };
        match spec.get("input") {
            None => {}
            Some(ScriptValue::Function(f)) => {
                step = step.input_from(self.input_fn(f, format!("step:{name}:input")));
            }
            Some(v) => step = step.input(v.into_json(&format!("{what}.input"))?),
        }
        step_policies(step, spec, &what)
    }

    /// A step's `agent`: an agent handle or the name of a registered agent.
    fn step_agent(&self, spec: &ScriptValue, what: &str) -> Result<Arc<dyn Agent>, HostError> {
        let agent = match spec.get("agent") {
            Some(ScriptValue::Agent(a)) => a,
            Some(ScriptValue::Json(Value::String(n))) => {
                self.host.agent_get(&n).ok_or_else(|| {
                    HostError::invalid(format!(
                        "{what}.agent: no agent named {n:?} (see Agent.list())"
                    ))
                })?
            }
            Some(other) => {
                return Err(format!(
                    "{what}.agent must be an agent (from Agent.create) or an agent name, got {}",
                    other.kind()
                )
                .into());
            }
            None => unreachable_kind(what)?,
        };
        Ok(agent.as_component())
    }

    /// A step's `workflow`: a workflow handle or the name of a registered
    /// workflow.
    fn step_workflow(
        &self,
        spec: &ScriptValue,
        what: &str,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        match spec.get("workflow") {
            Some(ScriptValue::Workflow(w)) => Ok(w),
            Some(ScriptValue::Json(Value::String(n))) => self
                .host
                .inner
                .components
                .workflow(&n)
                .ok_or_else(|| HostError::invalid(format!("{what}.workflow: no workflow named {n:?}"))),
            Some(other) => Err(format!(
                "{what}.workflow must be a workflow (from a Workflow constructor) or a workflow name, got {}",
                other.kind()
            ).into()),
            None => unreachable_kind(what),
        }
    }

    /// The branches of a conditional or parallel workflow, each with its
    /// name, what `read` takes from it (after its name, before its steps)
    /// and its steps.
    fn branches<T>(
        &self,
        spec: &ScriptValue,
        ctor: &str,
        fields: &[&str],
        mut read: impl FnMut(&ScriptValue, &str) -> Result<T, HostError>,
    ) -> Result<Vec<(String, T, Vec<Step>)>, HostError> {
        let branches = spec
            .get("branches")
            .ok_or_else(|| HostError::invalid(format!("{ctor} needs `branches` (an array)")))?;
        let mut out = Vec::new();
        for (i, br) in branches
            .elements(&format!("{ctor}.branches"))?
            .iter()
            .enumerate()
        {
            let what = format!("{ctor}.branches[{}]", i + 1);
            check_fields(br, fields, &what)?;
            let name = name_of(br, &what)?;
            let extra = read(br, &what)?;
            let steps = br
                .get("steps")
                .ok_or_else(|| HostError::invalid(format!("{what} needs `steps`")))?;
            out.push((name, extra, self.steps(&steps, &format!("{what}.steps"))?));
        }
        Ok(out)
    }
}

/// `none` for an empty list, else the list.
fn none_or_list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// A step's `retry`, `on_error`, `save_as` and `timeout_ms`.
fn step_policies(mut step: Step, spec: &ScriptValue, what: &str) -> Result<Step, HostError> {
    if let Some(r) = json_field(spec, "retry", what)? {
        step = step.retry(retry_policy(r, what)?);
    }
    if let Some(p) = json_field(spec, "on_error", what)? {
        let policy: ErrorPolicy = serde_json::from_value(p.clone()).map_err(|_| {
            format!(
                "{what}.on_error must be \"fail\", \"continue\", \"rollback\" or {{ default = <value> }}, got {p}"
            )
        })?;
        step = step.on_error(policy);
    }
    if let Some(v) = json_field(spec, "save_as", what)? {
        let var = v.as_str().ok_or_else(|| {
            HostError::invalid(format!("{what}.save_as must be a variable name, got {v}"))
        })?;
        step = step.save_as(var);
    }
    if let Some(v) = json_field(spec, "timeout_ms", what)? {
        let ms = v
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .ok_or_else(|| {
                HostError::invalid(format!(
                    "{what}.timeout_ms must be a positive number, got {v}"
                ))
            })?;
        step = step.timeout(Duration::from_secs_f64(ms / 1000.0));
    }
    Ok(step)
}

/// A step's `retry`: a number of attempts or a policy table.
fn retry_policy(r: Value, what: &str) -> Result<RetryPolicy, HostError> {
    let policy = match r {
        Value::Number(n) => RetryPolicy::attempts(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    HostError::invalid(format!("{what}.retry must be a number of attempts ≥ 1 or a table, got {n}"))
                })?,
        ),
        other => serde_json::from_value(other).map_err(|e| {
            format!(
                "{what}.retry: {e}; valid fields: max_attempts, delay_ms, multiplier, max_delay_ms, transient_only"
            )
        })?,
    };
    policy
        .validate(&format!("{what}.retry"))
        .map_err(HostError::from)?;
    Ok(policy)
}

fn unreachable_kind<T>(what: &str) -> Result<T, HostError> {
    Err(format!("{what}: the step kind vanished while being read").into())
}

fn name_of(spec: &ScriptValue, what: &str) -> Result<String, HostError> {
    spec.str_field("name")
        .ok_or_else(|| HostError::invalid(format!("{what} needs `name` (a string)")))
}

/// What every pattern's builder gets: the workflow engine, the description
/// and the initial variables.
struct Common {
    engine: llmspell_workflows::WorkflowEngine,
    description: Option<String>,
    vars: Option<serde_json::Map<String, Value>>,
}

/// Applies a [`Common`] to a pattern's builder (the builders are distinct
/// types with the same methods).
macro_rules! with_common {
    ($builder:expr, $common:expr) => {{
        let common = $common;
        let mut builder = $builder.engine(common.engine);
        if let Some(d) = common.description {
            builder = builder.description(d);
        }
        if let Some(v) = common.vars {
            builder = builder.vars(v);
        }
        builder
    }};
}

impl Builder<'_> {
    fn sequential(
        &self,
        spec: &ScriptValue,
        name: &str,
        ctor: &str,
        common: Common,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        let steps = spec.get("steps").ok_or_else(|| {
            HostError::invalid(format!("{ctor} needs `steps` (an array of steps)"))
        })?;
        let steps = self.steps(&steps, &format!("{ctor}.steps"))?;
        Ok(Arc::new(
            with_common!(SequentialWorkflow::builder(name), common)
                .steps(steps)
                .build()
                .map_err(HostError::from)?,
        ))
    }

    fn conditional(
        &self,
        spec: &ScriptValue,
        name: &str,
        ctor: &str,
        common: Common,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        let mut builder = with_common!(ConditionalWorkflow::builder(name), common);
        let when = |br: &ScriptValue, what: &str| {
            function_field(br, "when", what)?.ok_or_else(|| {
                HostError::invalid(format!("{what} needs `when` (a function of the state)"))
            })
        };
        for (bname, when, steps) in self.branches(spec, ctor, &["name", "when", "steps"], when)? {
            builder = builder.branch(Branch::new(bname, self.condition(when)).steps(steps));
        }
        if let Some(default) = spec.get("default") {
            builder = builder.default_steps(self.steps(&default, &format!("{ctor}.default"))?);
        }
        Ok(Arc::new(builder.build().map_err(HostError::from)?))
    }

    fn looping(
        &self,
        spec: &ScriptValue,
        name: &str,
        ctor: &str,
        common: Common,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        let builder = with_common!(LoopWorkflow::builder(name), common);
        let mut builder = self.loop_source(builder, spec, name, ctor)?;
        let body = spec.get("body").ok_or_else(|| {
            HostError::invalid(format!("{ctor} needs `body` (an array of steps)"))
        })?;
        builder = builder.steps(self.steps(&body, &format!("{ctor}.body"))?);
        if let Some(n) = json_field(spec, "max_iterations", ctor)? {
            let n = n.as_u64().ok_or_else(|| {
                HostError::invalid(format!(
                    "{ctor}.max_iterations must be a whole number ≥ 0, got {n}"
                ))
            })?;
            builder = builder.max_iterations(n);
        }
        if let Some(f) = function_field(spec, "break_when", ctor)? {
            builder = builder.break_when(self.condition(f));
        }
        Ok(Arc::new(builder.build().map_err(HostError::from)?))
    }

    /// What a loop iterates over: exactly one of `items`, `range`, `while`.
    fn loop_source(
        &self,
        builder: llmspell_workflows::LoopWorkflowBuilder,
        spec: &ScriptValue,
        name: &str,
        ctor: &str,
    ) -> Result<llmspell_workflows::LoopWorkflowBuilder, HostError> {
        let sources: Vec<&str> = ["items", "range", "while"]
            .into_iter()
            .filter(|k| spec.get(k).is_some())
            .collect();
        if sources.len() != 1 {
            return Err(format!(
                "{ctor} needs exactly one of `items`, `range`, `while`; it has {}",
                none_or_list(&sources)
            )
            .into());
        }
        Ok(match sources[0] {
            "items" => match spec.get("items") {
                Some(ScriptValue::Function(f)) => {
                    builder.items_from(self.input_fn(f, format!("workflow:{name}:items")))
                }
                Some(v) => match v.into_json(&format!("{ctor}.items"))? {
                    Value::Array(a) => builder.items(a),
                    Value::Object(m) if m.is_empty() => builder.items(Vec::new()),
                    other => {
                        return Err(format!(
                            "{ctor}.items must be an array or a function of the state, got {other}"
                        )
                        .into());
                    }
                },
                None => builder,
            },
            "range" => {
                let r = json_field(spec, "range", ctor)?.unwrap_or(Value::Null);
                let range: LoopRange = serde_json::from_value(r.clone()).map_err(|e| {
                    format!(
                        "{ctor}.range must be {{ from, to, step }} or {{ from = …, to = …, step = … }}, got {r}: {e}"
                    )
                })?;
                builder.range(range)
            }
            _ => {
                let f = function_field(spec, "while", ctor)?.ok_or_else(|| {
                    HostError::invalid(format!("{ctor}.while must be a function"))
                })?;
                builder.repeat_while(self.condition(f))
            }
        })
    }

    fn parallel(
        &self,
        spec: &ScriptValue,
        name: &str,
        ctor: &str,
        common: Common,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        let mut builder = with_common!(ParallelWorkflow::builder(name), common);
        for (bname, (), steps) in self.branches(spec, ctor, &["name", "steps"], |_, _| Ok(()))? {
            builder = builder.branch(ParallelBranch::new(bname).steps(steps));
        }
        if let Some(n) = json_field(spec, "max_concurrency", ctor)? {
            let n = n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    HostError::invalid(format!(
                        "{ctor}.max_concurrency must be a whole number ≥ 1, got {n}"
                    ))
                })?;
            builder = builder.max_concurrency(n);
        }
        if let Some(f) = json_field(spec, "fail_fast", ctor)? {
            let f = f.as_bool().ok_or_else(|| {
                HostError::invalid(format!("{ctor}.fail_fast must be a boolean, got {f}"))
            })?;
            builder = builder.fail_fast(f);
        }
        Ok(Arc::new(builder.build().map_err(HostError::from)?))
    }
}
