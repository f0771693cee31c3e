//! Running steps and step lists: inputs, the stage hook points, retries,
//! redirects, error policies, checkpoints and rollbacks. Every pattern runs
//! its steps through here.

use std::sync::Arc;

use llmspell_core::{Error, ErrorKind, ExecutionContext, Result};
use llmspell_hooks::{GuardSpec, HookContext, HookPoint, LazyTimeout};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::definition::Definition;
use crate::metadata;
use crate::phase::fire;
use crate::state::{Journal, SharedState, StateScope, Write};
use crate::step::guard_callback;
use crate::{ErrorPolicy, Step, StepError, StepInput, StepKind};

/// A step with its guard spec (built once, with the step's topics).
pub(crate) struct PreparedStep {
    pub(crate) step: Step,
    pub(crate) spec: GuardSpec,
}

/// The steps of a sequence, a branch or a loop body.
pub(crate) struct StepList {
    pub(crate) steps: Vec<PreparedStep>,
    /// Whether a step has the `Rollback` policy (then writes are journaled).
    pub(crate) journaled: bool,
}

impl StepList {
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| &*s.step.name)
    }
}

/// Where in a pattern a list runs: its branch and loop iteration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Position<'a> {
    pub(crate) branch: Option<&'a str>,
    /// The parallel run the branch belongs to (unique per fork), for
    /// telling concurrent writers apart.
    pub(crate) fork: Option<u64>,
    pub(crate) iteration: Option<u64>,
    iteration_text: Option<String>,
}

impl<'a> Position<'a> {
    pub(crate) fn top() -> Self {
        Self::default()
    }

    /// The branch `name` of a conditional (one branch runs; no fork).
    pub(crate) fn named(name: &'a str) -> Self {
        Self {
            branch: Some(name),
            ..Self::default()
        }
    }

    /// The branch `name` of the parallel run `fork`.
    pub(crate) fn branch(fork: u64, name: &'a str) -> Self {
        Self {
            branch: Some(name),
            fork: Some(fork),
            ..Self::default()
        }
    }

    /// Who writes from here, for conflict detection: the fork and branch.
    pub(crate) fn writer(&self) -> Option<(u64, &'a str)> {
        self.fork.zip(self.branch)
    }

    pub(crate) fn iteration(n: u64) -> Self {
        Self {
            iteration: Some(n),
            iteration_text: Some(n.to_string()),
            ..Self::default()
        }
    }

    fn metadata<'s>(&'s self, step: &'s Step) -> Vec<(&'static str, &'s str)> {
        let mut m = vec![
            (metadata::STEP, &*step.name),
            (metadata::STEP_KIND, step.kind.as_str()),
        ];
        if let Some(b) = self.branch {
            m.push((metadata::BRANCH, b));
        }
        if let Some(i) = &self.iteration_text {
            m.push((metadata::ITERATION, i.as_str()));
        }
        m
    }
}

/// A failure that ends a step list: the step it concerns and the error.
#[derive(Debug)]
pub(crate) struct StepFailure {
    pub(crate) step: Arc<str>,
    pub(crate) error: Error,
}

/// Whether an error stops the workflow whatever the step's policy:
/// cancellations and fail-closed hook failures.
pub(crate) fn stops_everything(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Cancelled | ErrorKind::HookFailed)
}

/// One run of a workflow: its definition, context, state and the errors it
/// absorbed. Shared by reference between concurrent parallel branches.
pub(crate) struct Run<'a> {
    pub(crate) def: &'a Definition,
    pub(crate) exec: &'a ExecutionContext,
    pub(crate) state: SharedState,
    pub(crate) errors: Mutex<Vec<StepError>>,
    /// This run's nesting depth (1 at the top).
    pub(crate) depth: u32,
}

impl Run<'_> {
    /// Fires a pattern point of the workflow (not tied to a step).
    pub(crate) async fn fire_phase(
        &self,
        point: HookPoint,
        metadata: &[(&'static str, &str)],
        data: impl FnOnce() -> Value,
    ) -> Result<Option<llmspell_hooks::Fired>> {
        fire(
            self.def.engine.executor(),
            point,
            &self.def.metadata.id,
            self.exec,
            metadata,
            data,
        )
        .await
    }

    /// Whether `point` has hooks (checked before building their data).
    pub(crate) fn has_hooks(&self, point: &HookPoint) -> bool {
        self.def.engine.executor().registry().has_hooks(point)
    }

    /// Records an absorbed error.
    pub(crate) fn record(&self, step: &str, pos: &Position<'_>, error: Error) {
        self.errors.lock().push(StepError {
            step: step.to_owned(),
            branch: pos.branch.map(str::to_owned),
            iteration: pos.iteration,
            error,
        });
    }

    /// A snapshot for a callback, through the state read hooks.
    pub(crate) async fn read_state(&self, reader: &str) -> Result<crate::WorkflowState> {
        self.state.read(self.exec, reader).await
    }

    /// Runs `list` in order, applying each step's error policy.
    ///
    /// # Errors
    /// The step and error that end the list: a `Fail` policy, a
    /// cancellation, a hook failure, or a refused rollback.
    pub(crate) async fn run_list(
        &self,
        list: &StepList,
        pos: &Position<'_>,
    ) -> std::result::Result<(), StepFailure> {
        let mut journal = list.journaled.then(Journal::default);
        let mut previous: Option<&PreparedStep> = None;
        for step in &list.steps {
            let fail = |error: Error| StepFailure {
                step: step.step.name.clone(),
                error,
            };
            if let Some(from) = previous {
                self.transition(from, step, pos).await.map_err(fail)?;
            }
            previous = Some(step);
            if let Err(error) = self.run_step(step, pos, journal.as_mut()).await {
                if stops_everything(&error) {
                    return Err(fail(error));
                }
                match &step.step.on_error {
                    ErrorPolicy::Fail => return Err(fail(error)),
                    ErrorPolicy::Continue => {
                        tracing::debug!(step = %step.step.name, %error, "step failed; continuing");
                        self.record(&step.step.name, pos, error);
                    }
                    ErrorPolicy::Default(value) => {
                        tracing::debug!(step = %step.step.name, %error, "step failed; using its default output");
                        self.record_output(step, pos, value.clone(), journal.as_mut())
                            .await
                            .map_err(fail)?;
                    }
                    ErrorPolicy::Rollback => {
                        let journal = journal.take().unwrap_or_default();
                        self.rollback(step, pos, error, journal)
                            .await
                            .map_err(fail)?;
                        return Ok(());
                    }
                }
            }
            self.checkpoint(step, pos).await.map_err(fail)?;
        }
        Ok(())
    }

    /// `WorkflowStageTransition` between two steps of a list (data:
    /// `{ from, to }`); `Cancel` stops the workflow.
    async fn transition(
        &self,
        from: &PreparedStep,
        to: &PreparedStep,
        pos: &Position<'_>,
    ) -> Result<()> {
        if !self.has_hooks(&HookPoint::WorkflowStageTransition) {
            return Ok(());
        }
        if let Some(f) = self
            .fire_phase(
                HookPoint::WorkflowStageTransition,
                &pos.metadata(&to.step),
                || json!({ "from": &*from.step.name, "to": &*to.step.name }),
            )
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        Ok(())
    }

    /// `WorkflowCheckpoint` after a step (data: `{ step, state }`).
    async fn checkpoint(&self, step: &PreparedStep, pos: &Position<'_>) -> Result<()> {
        if !self.has_hooks(&HookPoint::WorkflowCheckpoint) {
            return Ok(());
        }
        if let Some(f) = self
            .fire_phase(
                HookPoint::WorkflowCheckpoint,
                &pos.metadata(&step.step),
                || json!({ "step": &*step.step.name, "state": self.state.snapshot() }),
            )
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        Ok(())
    }

    /// `WorkflowRollback` (data: `{ step, error, restore = [{scope, key}],
    /// state }`), then the journal is undone and the error recorded.
    async fn rollback(
        &self,
        step: &PreparedStep,
        pos: &Position<'_>,
        error: Error,
        journal: Journal,
    ) -> Result<()> {
        if let Some(f) = self
            .fire_phase(
                HookPoint::WorkflowRollback,
                &pos.metadata(&step.step),
                || {
                    json!({
                        "step": &*step.step.name,
                        "error": error.to_json(),
                        "restore": SharedState::journaled_keys(&journal),
                        "state": self.state.snapshot(),
                    })
                },
            )
            .await?
        {
            f.ignore(crate::phase::SEE_GUIDE);
        }
        tracing::debug!(step = %step.step.name, %error, "step failed; rolling its list back");
        self.state.rollback(journal);
        self.record(&step.step.name, pos, error);
        Ok(())
    }

    /// One step: its input, the stage hooks around the call, its output
    /// recorded in the state.
    async fn run_step(
        &self,
        step: &PreparedStep,
        pos: &Position<'_>,
        journal: Option<&mut Journal>,
    ) -> Result<()> {
        let input = self.step_input(&step.step).await?;
        let own = &step.spec.component().name;
        let amend = |ctx: &mut HookContext| {
            ctx.metadata.insert(
                crate::metadata::WORKFLOW.to_owned(),
                self.def.metadata.name().to_owned(),
            );
            for (k, v) in pos.metadata(&step.step) {
                ctx.metadata.insert(k.to_owned(), v.to_owned());
            }
        };
        let output = self
            .def
            .engine
            .runner()
            .run_with(&step.spec, self.exec, input, amend, |call| async move {
                if call.target == *own && !call.fork {
                    self.call(&step.step, call.input, call.attempt).await
                } else {
                    self.redirect(&step.step, &call.target, call.input, call.attempt)
                        .await
                }
            })
            .await?
            .output;
        self.record_output(step, pos, output, journal).await
    }

    /// Records a step's output (and its `save_as` variable).
    async fn record_output(
        &self,
        step: &PreparedStep,
        pos: &Position<'_>,
        output: Value,
        mut journal: Option<&mut Journal>,
    ) -> Result<()> {
        let name = &*step.step.name;
        let var_value = step.step.save_as.as_ref().map(|_| output.clone());
        self.state
            .write(
                self.exec,
                Write::new(StateScope::Outputs, name, output, name).from(pos.writer()),
                journal.as_deref_mut(),
            )
            .await?;
        if let (Some(var), Some(value)) = (&step.step.save_as, var_value) {
            self.state
                .write(
                    self.exec,
                    Write::new(StateScope::Vars, var, value, name).from(pos.writer()),
                    journal,
                )
                .await?;
        }
        Ok(())
    }

    async fn step_input(&self, step: &Step) -> Result<Value> {
        match &step.input {
            StepInput::Static(v) => Ok(v.clone()),
            StepInput::WorkflowInput => Ok(Value::clone(&self.state.snapshot().input)),
            StepInput::Computed(f) => {
                let state = self.read_state(&step.name).await?;
                guard_callback(|| self.who(step), f(state)).await
            }
        }
    }

    fn who(&self, step: &Step) -> String {
        format!("workflow:{}.step:{}", self.def.metadata.name(), step.name)
    }

    /// The context of a component a step calls: a child of the workflow's
    /// (so nested calls form a tree) that carries the nesting depth.
    fn child(&self, attempt: u32) -> ExecutionContext {
        self.exec
            .child()
            .with_workflow_depth(self.depth)
            .with_attempt(attempt)
    }

    /// The step's operation with its retry policy, in attempt
    /// `stage_attempt` of the stage (2, 3, … when a hook's `Retry` re-runs
    /// it). The component is told one attempt number over both kinds of
    /// retry: the stage's earlier attempts count as full runs of the policy.
    async fn call(&self, step: &Step, input: Value, stage_attempt: u32) -> Result<Value> {
        let policy = &step.retry;
        let earlier = stage_attempt
            .saturating_sub(1)
            .saturating_mul(policy.max_attempts.max(1));
        if policy.max_attempts <= 1 {
            return self.attempt(step, input, earlier.saturating_add(1)).await;
        }
        let mut attempt = 1;
        loop {
            match self
                .attempt(step, input.clone(), earlier.saturating_add(attempt))
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) if policy.should_retry(&e, attempt) => {
                    let delay = policy.delay_after(attempt);
                    tracing::debug!(step = %step.name, attempt, error = %e, ?delay, "retrying step");
                    sleep(delay).await?;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt of the step's operation, within its timeout.
    async fn attempt(&self, step: &Step, input: Value, attempt: u32) -> Result<Value> {
        // Components get a child context; function steps run in the
        // workflow's own (they are part of it), which saves building one.
        let fut = async {
            match &step.kind {
                StepKind::Tool { name } => match self.def.engine.tools() {
                    Some(tools) => Box::pin(tools.invoke(name, input, &self.child(attempt))).await,
                    None => Err(no_tools(step)),
                },
                StepKind::Agent(agent) => agent.execute(input, &self.child(attempt)).await,
                StepKind::Workflow(workflow) => workflow.execute(input, &self.child(attempt)).await,
                StepKind::Function(f) => {
                    let state = self.read_state(&step.name).await?;
                    guard_callback(|| self.who(step), f(input, state)).await
                }
            }
        };
        match step.timeout {
            Some(limit) => LazyTimeout::new(Box::pin(fut), limit)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        operation: self.who(step),
                        after: limit,
                    })
                }),
            None => fut.await,
        }
    }

    /// Runs a redirect or fork target of a step, resolved by the step's kind.
    async fn redirect(
        &self,
        step: &Step,
        target: &str,
        input: Value,
        attempt: u32,
    ) -> Result<Value> {
        let exec = self.child(attempt);
        let missing = |kind: &str| Error::NotFound {
            kind: kind.to_owned(),
            name: target.to_owned(),
            suggestion: None,
        };
        let resolver = self.def.engine.resolver();
        match &step.kind {
            StepKind::Tool { .. } => match self.def.engine.tools() {
                Some(tools) => tools.invoke(target, input, &exec).await,
                None => Err(no_tools(step)),
            },
            StepKind::Agent(_) => match resolver.and_then(|r| r.agent(target)) {
                Some(agent) => agent.execute(input, &exec).await,
                None => Err(missing("agent")),
            },
            StepKind::Workflow(_) => match resolver.and_then(|r| r.workflow(target)) {
                Some(workflow) => workflow.execute(input, &exec).await,
                None => Err(missing("workflow")),
            },
            StepKind::Function(_) => Err(Error::invalid_input(
                "redirect",
                format!(
                    "step {:?} is a function step and cannot be redirected (to {target:?}); \
                     only tool, agent and workflow steps can",
                    &*step.name
                ),
            )),
        }
    }
}

fn no_tools(step: &Step) -> Error {
    Error::invalid_input(
        "tool",
        format!(
            "step {:?} calls a tool but the workflow's engine has no tool registry",
            &*step.name
        ),
    )
}

/// Waits `delay` (needs a tokio runtime with timers when non-zero).
pub(crate) async fn sleep(delay: std::time::Duration) -> Result<()> {
    if delay.is_zero() {
        return Ok(());
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::other(
            "a retry delay needs a tokio runtime with timers",
        ));
    }
    tokio::time::sleep(delay).await;
    Ok(())
}
