//! The loop pattern: a body of steps run over items, over an inclusive
//! range, or while a condition holds.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Workflow, async_trait};
use llmspell_hooks::HookPoint;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::definition::{Body, Common, Definition, Preparer, Report, common_builder_methods};
use crate::executor::{Position, Run, StepList, stops_everything};
use crate::metadata;
use crate::step::guard_callback;
use crate::{Condition, InputFn, LoopTermination, Step, WorkflowEngine, WorkflowResult};

/// The iteration bound of a `while` loop that sets no `max_iterations`.
pub const DEFAULT_WHILE_MAX_ITERATIONS: u64 = 1_000;

/// An inclusive integer range `{ from, to, step }`: `{ 1, 5, 1 }` yields
/// 1, 2, 3, 4, 5 and `{ 5, 1, -2 }` yields 5, 3, 1. A range whose `step`
/// points away from `to` yields nothing; `step` may not be 0.
///
/// Serde form: `{ "from": 1, "to": 5, "step": 1 }` (`step` defaults to 1)
/// or the positional `[1, 5, 1]` / `[1, 5]` scripts write as `{ 1, 5, 1 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LoopRange {
    /// The first value.
    pub from: i64,
    /// The last value, included when reached.
    pub to: i64,
    /// The increment (negative to count down).
    pub step: i64,
}

impl LoopRange {
    /// The range `from..=to` by `step`.
    pub fn new(from: i64, to: i64, step: i64) -> Self {
        Self { from, to, step }
    }

    fn contains(&self, i: i64) -> bool {
        if self.step > 0 {
            i <= self.to
        } else {
            i >= self.to
        }
    }
}

impl From<(i64, i64, i64)> for LoopRange {
    fn from((from, to, step): (i64, i64, i64)) -> Self {
        Self::new(from, to, step)
    }
}

impl From<(i64, i64)> for LoopRange {
    fn from((from, to): (i64, i64)) -> Self {
        Self::new(from, to, 1)
    }
}

impl<'de> Deserialize<'de> for LoopRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        fn one() -> i64 {
            1
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Named {
            from: i64,
            to: i64,
            #[serde(default = "one")]
            step: i64,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Named(Named),
            Three(i64, i64, i64),
            Two(i64, i64),
        }
        match Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a range is { from, to, step } or [from, to, step] with integers (step defaults to 1)",
            )
        })? {
            Form::Named(n) => Ok(LoopRange::new(n.from, n.to, n.step)),
            Form::Three(a, b, c) => Ok(LoopRange::new(a, b, c)),
            Form::Two(a, b) => Ok(LoopRange::new(a, b, 1)),
        }
    }
}

#[derive(Clone)]
enum Source {
    Items(Vec<Value>),
    ItemsFrom(InputFn),
    Range(LoopRange),
    While(Condition),
}

pub(crate) struct LoopBody {
    source: Source,
    body: StepList,
    break_when: Option<Condition>,
    max_iterations: u64,
}

/// Runs a body of steps repeatedly: once per item, once per number of an
/// inclusive range, or while a condition holds.
///
/// Each iteration sets `state.iteration` (1, 2, …) and `state.item` (the
/// item or number; absent for `while` loops), fires `LoopIterationStart`
/// (data: `{ iteration, item }`; a `Modified` `item` replaces the item),
/// runs the body (its steps record their outputs under their own names,
/// so `outputs` holds the latest iteration's), fires `LoopIterationEnd`, then
/// asks `break_when`. A `while` condition is asked before each iteration
/// and sees the state the previous iteration left. When the loop ends,
/// `LoopTerminated` fires with `{ reason, iterations }`; the result carries
/// `iterations` and `termination`.
///
/// `max_iterations` bounds the loop: when that many iterations have run and
/// another would start, the loop **stops** (termination `max_iterations`,
/// not an error). `while` loops without a bound stop after
/// [`DEFAULT_WHILE_MAX_ITERATIONS`].
///
/// ```
/// use llmspell_core::ExecutionContext;
/// use llmspell_workflows::{LoopWorkflow, Step, step_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let square = step_fn(|_, state| async move {
///     let n = state.item.as_ref().and_then(|i| i.as_i64()).unwrap_or(0);
///     Ok(json!(n * n))
/// });
/// let wf = LoopWorkflow::builder("squares")
///     .range((1, 5, 1))
///     .step(Step::function("square", square))
///     .build()?;
/// let result = wf.run(json!(null), &ExecutionContext::native()).await?;
/// assert_eq!(result.iterations, Some(5));
/// assert_eq!(result.outputs["square"], json!(25));
/// # Ok::<(), llmspell_core::Error>(())
/// # }).unwrap();
/// ```
pub struct LoopWorkflow {
    def: Definition,
}

/// Builds a [`LoopWorkflow`]; exactly one of `items`, `items_from`, `range`
/// and `repeat_while` must be given.
#[must_use]
pub struct LoopWorkflowBuilder {
    name: String,
    common: Common,
    sources: Vec<Source>,
    body: Vec<Step>,
    break_when: Option<Condition>,
    max_iterations: Option<u64>,
}

impl LoopWorkflowBuilder {
    common_builder_methods!();

    /// Loops over `items`.
    pub fn items(mut self, items: impl IntoIterator<Item = Value>) -> Self {
        self.sources
            .push(Source::Items(items.into_iter().collect()));
        self
    }

    /// Loops over the array `f` returns from the state when the loop starts
    /// (for instance a list in the workflow's input).
    pub fn items_from(mut self, f: InputFn) -> Self {
        self.sources.push(Source::ItemsFrom(f));
        self
    }

    /// Loops over an inclusive range.
    pub fn range(mut self, range: impl Into<LoopRange>) -> Self {
        self.sources.push(Source::Range(range.into()));
        self
    }

    /// Loops while `condition` returns true (asked before each iteration).
    pub fn repeat_while(mut self, condition: Condition) -> Self {
        self.sources.push(Source::While(condition));
        self
    }

    /// Stops after an iteration for which `condition` returns true.
    pub fn break_when(mut self, condition: Condition) -> Self {
        self.break_when = Some(condition);
        self
    }

    /// Stops after `n` iterations (see the type's docs).
    pub fn max_iterations(mut self, n: u64) -> Self {
        self.max_iterations = Some(n);
        self
    }

    /// Appends a body step.
    pub fn step(mut self, step: Step) -> Self {
        self.body.push(step);
        self
    }

    /// Appends body steps.
    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> Self {
        self.body.extend(steps);
        self
    }

    /// Builds the workflow.
    ///
    /// # Errors
    /// `InvalidInput` naming the field: no source or more than one, a range
    /// step of 0, `max_iterations` of 0, and every step error of
    /// [`crate::SequentialWorkflowBuilder::build`].
    pub fn build(mut self) -> Result<LoopWorkflow> {
        let (metadata, engine) = Definition::start(&self.name, &mut self.common)?;
        if self.sources.len() != 1 {
            return Err(Error::invalid_input(
                "source",
                format!(
                    "a loop needs exactly one of items, items_from, range and repeat_while; {} given",
                    self.sources.len()
                ),
            ));
        }
        let source = self.sources.remove(0);
        if let Source::Range(r) = &source
            && r.step == 0
        {
            return Err(Error::invalid_input(
                "range.step",
                "the step of a range may not be 0",
            ));
        }
        if self.max_iterations == Some(0) {
            return Err(Error::invalid_input("max_iterations", "must be at least 1"));
        }
        let max_iterations = match (&source, self.max_iterations) {
            (_, Some(n)) => n,
            (Source::While(_), None) => DEFAULT_WHILE_MAX_ITERATIONS,
            (_, None) => u64::MAX,
        };
        let mut preparer = Preparer::new(&engine, &metadata);
        let body = preparer.list(self.body, "body")?;
        let steps = preparer.count();
        let body = LoopBody {
            source,
            body,
            break_when: self.break_when,
            max_iterations,
        };
        Ok(LoopWorkflow {
            def: Definition::new(metadata, engine, self.common.vars, Body::Loop(body), steps),
        })
    }
}

impl LoopWorkflow {
    /// A builder for a workflow named `name`.
    pub fn builder(name: impl Into<String>) -> LoopWorkflowBuilder {
        LoopWorkflowBuilder {
            name: name.into(),
            common: Common::default(),
            sources: Vec::new(),
            body: Vec::new(),
            break_when: None,
            max_iterations: None,
        }
    }

    /// Runs the workflow on `input` as `exec`'s operation.
    ///
    /// # Errors
    /// As [`crate::SequentialWorkflow::run`]; also a condition's error, and
    /// `items_from` returning something other than an array.
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

enum Cursor<'a> {
    Items {
        items: Cow<'a, [Value]>,
        next: usize,
    },
    Range {
        range: LoopRange,
        next: Option<i64>,
    },
    While(&'a Condition),
}

impl LoopBody {
    pub(crate) async fn run(&self, run: &Run<'_>) -> Result<Report> {
        let mut done = 0u64;
        let outcome = self.iterate(run, &mut done).await;
        let reason = match &outcome {
            Ok(reason) => *reason,
            Err(e) if stops_everything(e) => LoopTermination::Cancelled,
            Err(_) => LoopTermination::Error,
        };
        let fired = run
            .fire_phase(
                HookPoint::LoopTerminated,
                &[],
                || json!({ "reason": reason, "iterations": done }),
            )
            .await;
        outcome?;
        if let Some(f) = fired? {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        Ok(Report {
            iterations: Some(done),
            termination: Some(reason),
            ..Report::default()
        })
    }

    async fn iterate(&self, run: &Run<'_>, done: &mut u64) -> Result<LoopTermination> {
        let name = run.def.metadata.name();
        let mut cursor = match &self.source {
            Source::Items(items) => Cursor::Items {
                items: Cow::Borrowed(items),
                next: 0,
            },
            Source::ItemsFrom(f) => {
                let state = run.read_state("items").await?;
                let who = || format!("workflow:{name}.items");
                match guard_callback(who, f(state)).await? {
                    Value::Array(items) => Cursor::Items {
                        items: Cow::Owned(items),
                        next: 0,
                    },
                    other => {
                        return Err(Error::invalid_input(
                            "items",
                            format!(
                                "items_from of loop {name:?} returned {other}; expected an array"
                            ),
                        ));
                    }
                }
            }
            Source::Range(range) => Cursor::Range {
                range: *range,
                next: Some(range.from),
            },
            Source::While(c) => Cursor::While(c),
        };
        loop {
            let item = match &mut cursor {
                Cursor::Items { items, next } => match items.get(*next) {
                    Some(v) => {
                        *next += 1;
                        Some(v.clone())
                    }
                    None => return Ok(LoopTermination::Completed),
                },
                Cursor::Range { range, next } => match *next {
                    Some(i) if range.contains(i) => {
                        *next = i.checked_add(range.step);
                        Some(json!(i))
                    }
                    _ => return Ok(LoopTermination::Completed),
                },
                Cursor::While(condition) => {
                    if *done >= self.max_iterations {
                        return Ok(LoopTermination::MaxIterations);
                    }
                    if !self.ask(run, condition, "while").await? {
                        return Ok(LoopTermination::Completed);
                    }
                    None
                }
            };
            if *done >= self.max_iterations {
                return Ok(LoopTermination::MaxIterations);
            }
            let n = *done + 1;
            let mut item = item.map(Arc::new);
            run.state.set_position(Some(n), item.clone());
            let position = Position::iteration(n);
            let n_text = n.to_string();
            let meta = [(metadata::ITERATION, n_text.as_str())];
            if let Some(f) = run
                .fire_phase(
                    HookPoint::LoopIterationStart,
                    &meta,
                    || json!({ "iteration": n, "item": item.as_deref() }),
                )
                .await?
            {
                f.ignore(crate::phase::SEE_GUIDE);
                if f.modified {
                    item = f.data.get("item").cloned().map(Arc::new);
                    run.state.set_position(Some(n), item.clone());
                }
            }
            run.run_list(&self.body, &position)
                .await
                .map_err(|f| f.error)?;
            *done = n;
            if let Some(f) = run
                .fire_phase(
                    HookPoint::LoopIterationEnd,
                    &meta,
                    || json!({ "iteration": n, "item": item.as_deref() }),
                )
                .await?
            {
                f.ignore(crate::phase::SEE_GUIDE);
            }
            if let Some(condition) = &self.break_when
                && self.ask(run, condition, "break_when").await?
            {
                return Ok(LoopTermination::Break);
            }
        }
    }

    async fn ask(&self, run: &Run<'_>, condition: &Condition, what: &str) -> Result<bool> {
        let state = run.read_state(what).await?;
        let who = || format!("workflow:{}.{what}", run.def.metadata.name());
        guard_callback(who, condition(state)).await.map_err(|e| {
            if stops_everything(&e) {
                e
            } else {
                Error::execution(who(), format!("`{what}` failed: {e}"))
            }
        })
    }
}

#[async_trait]
impl Workflow for LoopWorkflow {
    fn metadata(&self) -> &ComponentMetadata {
        &self.def.metadata
    }

    /// Runs the workflow; the output is the result's JSON form.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        self.def.execute(input, ctx).await
    }
}

impl fmt::Debug for LoopWorkflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LoopWorkflow");
        d.field("name", &self.name());
        if let Body::Loop(body) = &self.def.body {
            let source = match &body.source {
                Source::Items(items) => format!("items({})", items.len()),
                Source::ItemsFrom(_) => "items_from".to_owned(),
                Source::Range(r) => format!("range({}, {}, {})", r.from, r.to, r.step),
                Source::While(_) => "while".to_owned(),
            };
            d.field("source", &source)
                .field("body", &body.body.names().collect::<Vec<_>>())
                .field("max_iterations", &body.max_iterations);
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_in_both_forms() {
        let r: LoopRange = serde_json::from_value(json!([1, 10, 2])).unwrap();
        assert_eq!(r, LoopRange::new(1, 10, 2));
        let r: LoopRange = serde_json::from_value(json!([3, 1])).unwrap();
        assert_eq!(r, LoopRange::new(3, 1, 1));
        let r: LoopRange =
            serde_json::from_value(json!({ "from": 5, "to": 1, "step": -1 })).unwrap();
        assert_eq!(r, LoopRange::new(5, 1, -1));
        let err = serde_json::from_value::<LoopRange>(json!({ "from": 1 })).unwrap_err();
        assert!(err.to_string().contains("from, to, step"), "{err}");
    }

    #[test]
    fn sources_are_checked() {
        let none = LoopWorkflow::builder("l").build().unwrap_err();
        assert!(none.to_string().contains("0 given"), "{none}");
        let two = LoopWorkflow::builder("l")
            .items([json!(1)])
            .range((1, 2))
            .build()
            .unwrap_err();
        assert!(two.to_string().contains("2 given"), "{two}");
        let zero = LoopWorkflow::builder("l")
            .range((1, 2, 0))
            .build()
            .unwrap_err();
        assert!(zero.to_string().contains("range.step"), "{zero}");
        let cap = LoopWorkflow::builder("l")
            .range((1, 2))
            .max_iterations(0)
            .build()
            .unwrap_err();
        assert!(cap.to_string().contains("max_iterations"), "{cap}");
    }
}
