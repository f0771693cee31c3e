//! One guarded run: Before hooks, the operation, After or Error hooks, as
//! many attempts as retries ask for. What each point's result makes it do
//! is decided by [`decide`](super::decision::decide); this file only carries
//! those decisions out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{join, join_all};
use llmspell_core::{Error, Result};
use serde_json::{Value, json};

use super::decision::{Failure, Next, Stage, decide};
use super::lifecycle::Phase;
use super::{
    BudgetPolicy, ComponentBudget, ForkReport, GuardOutcome, GuardSpec, GuardedRunner,
    OperationCall,
};
use crate::{Decision, ForkOperation, HookAction, HookContext, HookPoint, PointOutcome};

/// How one attempt ended.
enum Settled {
    /// With an output.
    Done(GuardOutcome),
    /// A hook asked for another attempt after this delay.
    Retry(Duration),
}

/// The operation's input for one attempt: handed to the operation, and kept
/// for a redirect or retry decided after it ran only when that copy differs
/// from the original (a comparison is cheaper than a copy).
struct Input {
    held: Option<Value>,
    keep: bool,
}

impl Input {
    /// The input for a run of the operation.
    fn for_op(&mut self) -> Value {
        if self.keep {
            self.held.clone().unwrap_or_default()
        } else {
            self.held.take().unwrap_or_default()
        }
    }
}

/// The input after-the-operation redirects and retries see when no copy was
/// needed (no After or Error hooks).
static NO_INPUT: Value = Value::Null;

/// What one attempt's output is made of so far.
#[derive(Default)]
struct Output {
    cache_hit: bool,
    replaced: bool,
    /// Where a cache miss stores the output.
    store: Option<(String, Duration)>,
}

/// The state of one guarded run.
pub(super) struct Sequence<'r, F> {
    pub(super) runner: &'r GuardedRunner,
    pub(super) spec: &'r GuardSpec,
    pub(super) op: F,
    pub(super) ctx: HookContext,
    pub(super) started: quanta::Instant,
    /// The input as given, for retries (made only when a hook could ask).
    original: Option<Value>,
    /// Whether After or Error hooks may redirect or retry.
    later_hooks: bool,
    attempt: u32,
    target: Arc<str>,
    /// The components run so far; filled at the first redirect.
    visited: Vec<Arc<str>>,
    forks: Vec<ForkReport>,
    /// The hook time of this call so far.
    hook_time: Duration,
    /// The component's hook budget, if it has one.
    budget: Option<ComponentBudget>,
    /// Past the budget (reported once).
    over: bool,
    /// Run only fail-closed hooks (past a `SkipFailOpen` budget).
    closed_only: bool,
}

// The rare paths (failures, redirects, forks, Error hooks, retry waits)
// are boxed where they are awaited: the common path's future stays small,
// and every guarded call moves it.
impl<'r, F, Fut> Sequence<'r, F>
where
    F: Fn(OperationCall) -> Fut,
    Fut: Future<Output = Result<Value>>,
{
    pub(super) fn new(
        runner: &'r GuardedRunner,
        spec: &'r GuardSpec,
        op: F,
        ctx: HookContext,
        started: quanta::Instant,
    ) -> Self {
        let points = &spec.points;
        let registry = runner.executor.registry();
        // What the point's hooks declare they may return decides what is
        // kept: the input as given, for another attempt or a redirect
        // decided after the operation ran.
        let later = registry
            .may_return(&points.after)
            .union(registry.may_return(&points.error));
        let any = later.union(registry.may_return(&points.before));
        let later_hooks = later.contains(HookAction::Retry) || later.contains(HookAction::Redirect);
        let original = (later_hooks || any.contains(HookAction::Retry)).then(|| ctx.data.clone());
        Self {
            runner,
            spec,
            op,
            ctx,
            started,
            original,
            later_hooks,
            attempt: 1,
            target: spec.component.name.clone(),
            visited: Vec::new(),
            forks: Vec::new(),
            hook_time: Duration::ZERO,
            budget: runner.isolation.budget_of(&spec.component),
            over: false,
            closed_only: false,
        }
    }

    /// Runs attempts until one settles; publishes `started` and `completed`
    /// (`failed` and `cancelled` on the way out of a failure). Also returns
    /// the attempts made, which an error does not carry.
    pub(super) async fn run(&mut self) -> (Result<GuardOutcome>, u32) {
        let result = self.attempts().await;
        if !self.hook_time.is_zero() {
            self.runner
                .isolation
                .record(&self.spec.component, self.hook_time, self.over);
        }
        (result, self.attempt)
    }

    /// Runs the current point's hooks (only the fail-closed ones past a
    /// `SkipFailOpen` budget), counting their time against the component's
    /// budget.
    async fn execute(&mut self) -> Result<PointOutcome> {
        let executor = &self.runner.executor;
        let outcome = if self.closed_only {
            executor.execute_point_closed_only(&mut self.ctx).await?
        } else {
            executor.execute_point(&mut self.ctx).await?
        };
        self.hook_time += outcome.hook_time;
        if let Some(budget) = &self.budget
            && !self.over
            && self.hook_time > budget.per_call
        {
            self.over = true;
            let budget = budget.clone();
            Box::pin(self.over_budget(&budget)).await?;
        }
        Ok(outcome)
    }

    /// Reports a call past its component's hook budget and applies the
    /// policy.
    async fn over_budget(&mut self, budget: &ComponentBudget) -> Result<()> {
        let registry = self.runner.executor.registry();
        if registry.has_hooks(&HookPoint::PerformanceThresholdExceeded) {
            let data = json!({
                "subject": "component",
                "component": &*self.spec.component.name,
                "component_type": self.spec.component.kind.as_str(),
                "hook_ms": self.hook_time.as_secs_f64() * 1000.0,
                "budget_ms": budget.per_call.as_secs_f64() * 1000.0,
                "policy": budget.policy,
            });
            let ctx = self.ctx.derive(
                HookPoint::PerformanceThresholdExceeded,
                self.spec.component.clone(),
                data,
            );
            let fired = self.runner.executor.fire(ctx).await?;
            fired.ignore("the component's budget policy decides");
        }
        match budget.policy {
            BudgetPolicy::Report => Ok(()),
            BudgetPolicy::SkipFailOpen => {
                self.closed_only = true;
                Ok(())
            }
            BudgetPolicy::Refuse => Err(Error::ResourceLimitExceeded {
                resource: "hook_time".to_owned(),
                limit: u64::try_from(budget.per_call.as_micros()).unwrap_or(u64::MAX),
                requested: u64::try_from(self.hook_time.as_micros()).unwrap_or(u64::MAX),
            }),
        }
    }

    async fn attempts(&mut self) -> Result<GuardOutcome> {
        let (runner, spec) = (self.runner, self.spec);
        runner
            .emit(
                spec,
                &self.ctx,
                |t| &t.started,
                || json!({ "input": &self.ctx.data }),
            )
            .await;
        loop {
            match self.attempt_once().await? {
                Settled::Done(outcome) => {
                    return Ok(runner.completed(spec, &self.ctx, outcome).await);
                }
                Settled::Retry(delay) => {
                    Box::pin(runner.wait(delay)).await?;
                    self.attempt += 1;
                }
            }
        }
    }

    /// One attempt: the Before hooks and their decision, then the outcome.
    async fn attempt_once(&mut self) -> Result<Settled> {
        self.ctx.point = self.spec.points.before.clone();
        self.ctx.elapsed = None;
        if self.attempt > 1 {
            // Declarations are read when the operation starts; a retry asked
            // by a hook registered since finds no input to run again.
            let Some(original) = &self.original else {
                return Err(Error::other(
                    "a hook asked for a retry, but no hook of the operation declared retry when \
                     it started, so its input was not kept",
                ));
            };
            self.ctx.data = original.clone();
            self.ctx.attempt = self.attempt;
            // An earlier attempt's cache hit says nothing of this one.
            self.ctx.cache_hit = false;
        }
        let decision = self.point().await?;
        let input = std::mem::take(&mut self.ctx.data);
        let keep = self.later_hooks && self.original.as_ref() != Some(&input);
        let mut input = Input {
            held: Some(input),
            keep,
        };
        let mut output = Output::default();
        let limit = self.runner.config.max_attempts;
        // What the decision left to run: `None` runs the operation, at one
        // await point (each would otherwise hold its own operation future
        // in this one's state).
        let ready = match decide(Stage::Before, decision, self.attempt, limit) {
            Next::Retry(delay) => return Ok(Settled::Retry(delay)),
            Next::Fail(failure) => return Err(Box::pin(self.failed(failure)).await),
            Next::Replace(value) => {
                output.replaced = true;
                Some(Ok(value))
            }
            Next::Redirect(to) => {
                Box::pin(self.redirect(&to)).await?;
                None
            }
            Next::Cached { key, ttl } => match self.runner.cache.get(&key) {
                Some(hit) => {
                    output.cache_hit = true;
                    Some(Ok(hit))
                }
                None => {
                    output.store = Some((key, ttl));
                    None
                }
            },
            Next::RunWithForks(operations) => {
                Some(Box::pin(self.with_forks(input.for_op(), operations)).await)
            }
            // `Run`; `Finish` is never decided at the Before point.
            Next::Run | Next::Finish { .. } => None,
        };
        let result = match ready {
            Some(result) => result,
            None => self.call(input.for_op()).await,
        };
        let kept = input.keep.then_some(input.held).flatten();
        self.settle(result, kept, output).await
    }

    /// The After or Error hooks on the operation's outcome, until it settles
    /// (redirects and error replacements loop here).
    async fn settle(
        &mut self,
        mut result: Result<Value>,
        kept: Option<Value>,
        mut output: Output,
    ) -> Result<Settled> {
        loop {
            // `None`: run the operation again (at one await point).
            let next = match result {
                Ok(value) => match self.after(value, &mut output).await? {
                    Ok(settled) => return Ok(settled),
                    Err(to) => {
                        Box::pin(self.redirect(&to)).await?;
                        output.cache_hit = false;
                        None
                    }
                },
                Err(error) => {
                    let (error, next) = Box::pin(self.on_error(error)).await?;
                    match next {
                        Next::Replace(value) => {
                            output.replaced = true;
                            output.store = None;
                            Some(Ok(value))
                        }
                        Next::Redirect(to) => {
                            if let Err(refused) = self.check_redirect(&to) {
                                tracing::warn!(error = %refused, "fallback redirect refused");
                                return Err(Box::pin(self.fail(error, Phase::Failed)).await);
                            }
                            None
                        }
                        Next::Retry(delay) => return Ok(Settled::Retry(delay)),
                        Next::Fail(Failure::Stands { cancelled, forks }) => {
                            Box::pin(self.report(forks)).await;
                            let phase = if cancelled {
                                Phase::Cancelled
                            } else {
                                Phase::Failed
                            };
                            return Err(Box::pin(self.fail(error, phase)).await);
                        }
                        _ => return Err(Box::pin(self.fail(error, Phase::Failed)).await),
                    }
                }
            };
            result = match next {
                Some(result) => result,
                None => self.call(self.later(&kept)).await,
            };
        }
    }

    /// The After hooks on an output. `Ok` when the attempt settled; `Err`
    /// with the target when a hook redirected (the caller re-runs).
    async fn after(
        &mut self,
        value: Value,
        output: &mut Output,
    ) -> Result<std::result::Result<Settled, String>> {
        if let Some((key, ttl)) = output.store.take() {
            self.runner.cache.put(&key, value.clone(), ttl);
        }
        self.ctx.point = self.spec.points.after.clone();
        self.ctx.data = value;
        self.ctx.elapsed = Some(llmspell_core::clock::since(self.started));
        self.ctx.cache_hit = output.cache_hit;
        let decision = self.point().await?;
        let value = std::mem::take(&mut self.ctx.data);
        let limit = self.runner.config.max_attempts;
        let (value, replaced) = match decide(Stage::After, decision, self.attempt, limit) {
            Next::Redirect(to) => {
                self.ctx.cache_hit = false;
                return Ok(Err(to));
            }
            Next::Retry(delay) => return Ok(Ok(Settled::Retry(delay))),
            Next::Fail(failure) => return Err(Box::pin(self.failed(failure)).await),
            Next::Replace(replacement) => (replacement, true),
            Next::Finish { store, forks } => {
                if let Some((key, ttl)) = store {
                    self.runner.cache.put(&key, value.clone(), ttl);
                }
                if !forks.is_empty() {
                    let reports = Box::pin(self.report(forks)).await;
                    self.forks.extend(reports);
                }
                (value, output.replaced)
            }
            // Never decided at the After point.
            Next::Run | Next::Cached { .. } | Next::RunWithForks(_) => (value, output.replaced),
        };
        Ok(Ok(Settled::Done(self.outcome(
            value,
            replaced,
            output.cache_hit,
        ))))
    }

    /// The Error hooks on an error: the error as they left it, and what
    /// comes next.
    async fn on_error(&mut self, error: Error) -> Result<(Error, Next)> {
        self.ctx.point = self.spec.points.error.clone();
        self.ctx.data = error.to_json();
        self.ctx.elapsed = Some(llmspell_core::clock::since(self.started));
        let outcome = match self.execute().await {
            Ok(o) => o,
            Err(e) => return Err(self.fail(e, Phase::Failed).await),
        };
        let error = if outcome.modified {
            Error::from_json(&self.ctx.data)
        } else {
            error
        };
        let next = decide(
            Stage::Error,
            outcome.into_decision(),
            self.attempt,
            self.runner.config.max_attempts,
        );
        Ok((error, next))
    }

    /// Runs the hooks of the current point; a fail-closed failure fails the
    /// run.
    async fn point(&mut self) -> Result<Option<Decision>> {
        match self.execute().await {
            Ok(o) => Ok(o.into_decision()),
            Err(e) => Err(Box::pin(self.fail(e, Phase::Failed)).await),
        }
    }

    /// The input a redirect decided after the operation ran gets: the
    /// post-Before input when it was kept, else the original.
    fn later(&self, kept: &Option<Value>) -> Value {
        kept.as_ref()
            .or(self.original.as_ref())
            .unwrap_or(&NO_INPUT)
            .clone()
    }

    fn outcome(&self, output: Value, replaced: bool, cache_hit: bool) -> GuardOutcome {
        GuardOutcome {
            output,
            target: self.target.clone(),
            attempts: self.attempt,
            cache_hit,
            replaced,
            forks: self.forks.clone(),
            elapsed: llmspell_core::clock::since(self.started),
            passthrough: false,
        }
    }

    fn call(&self, input: Value) -> Fut {
        (self.op)(OperationCall {
            target: self.target.clone(),
            input,
            attempt: self.attempt,
            fork: false,
        })
    }

    /// The error a failure decided at a Before or After point gives, with
    /// its event.
    async fn failed(&self, failure: Failure) -> Error {
        let (error, phase) = match failure {
            Failure::Cancelled { hook, reason } => {
                (Error::Cancelled { hook, reason }, Phase::Cancelled)
            }
            Failure::RetryLimit { hook, max_attempts } => (
                Error::Cancelled {
                    hook,
                    reason: format!(
                        "asked to retry, but the limit of {max_attempts} attempt(s) is reached"
                    ),
                },
                Phase::Cancelled,
            ),
            Failure::Stands { .. } => (
                Error::other("an error point's failure reached a Before or After point"),
                Phase::Failed,
            ),
        };
        self.fail(error, phase).await
    }

    async fn fail(&self, error: Error, phase: Phase) -> Error {
        self.runner.fail(self.spec, &self.ctx, error, phase).await
    }

    /// Moves the run to `to`, or fails it when the redirect would loop or
    /// exceed the limit.
    async fn redirect(&mut self, to: &str) -> Result<()> {
        match self.check_redirect(to) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, Phase::Failed).await),
        }
    }

    /// Moves the run to `to` unless that would loop or exceed the limit.
    fn check_redirect(&mut self, to: &str) -> Result<()> {
        let refuse = |why: String| Error::Execution {
            component: self.spec.component.to_string(),
            message: format!("redirect to {to:?} refused: {why}"),
        };
        if self.visited.is_empty() {
            self.visited.push(self.spec.component.name.clone());
        }
        if self.visited.iter().any(|v| &**v == to) {
            return Err(refuse(format!(
                "it would loop (already ran on {:?})",
                self.visited.iter().map(|v| &**v).collect::<Vec<_>>()
            )));
        }
        let max = self.runner.config.max_redirects;
        if self.visited.len() > max as usize {
            return Err(refuse(format!("more than {max} redirects")));
        }
        let to: Arc<str> = Arc::from(to);
        self.visited.push(to.clone());
        self.target = to;
        Ok(())
    }

    /// Runs the operation on `input` and the forks asked for together; the
    /// operation's result, the forks' reports kept.
    async fn with_forks(&mut self, input: Value, operations: Vec<ForkOperation>) -> Result<Value> {
        let main = self.call(input);
        let (main, reports) = join(main, self.run_forks(operations)).await;
        self.forks.extend(reports);
        main
    }

    /// Runs extra operations concurrently and reports each.
    async fn run_forks(&self, operations: Vec<ForkOperation>) -> Vec<ForkReport> {
        let runs = operations.into_iter().map(|o| {
            let fut = (self.op)(OperationCall {
                target: Arc::from(o.target.as_str()),
                input: o.input,
                attempt: self.attempt,
                fork: true,
            });
            async move {
                ForkReport {
                    target: o.target,
                    result: fut.await,
                }
            }
        });
        let reports = join_all(runs).await;
        self.runner
            .report_forks(self.spec, &self.ctx, &reports)
            .await;
        reports
    }

    /// [`run_forks`](Self::run_forks) when there are any.
    async fn report(&self, operations: Vec<ForkOperation>) -> Vec<ForkReport> {
        if operations.is_empty() {
            return Vec::new();
        }
        self.run_forks(operations).await
    }
}
