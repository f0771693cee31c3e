//! The guarded operation runner: the one place hook results are honoured.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{join, join_all};
use llmspell_core::{ComponentId, Error, Result};
use llmspell_events::{Topic, UniversalEvent};
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::ATTEMPT_KEY;
use crate::{
    ForkOperation, HookCache, HookContext, HookExecutor, HookPoint, HookResult, MemoryHookCache,
};

/// The Before, After and Error points of a kind of operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardPoints {
    /// Fired with the input before the operation.
    pub before: HookPoint,
    /// Fired with the output after it.
    pub after: HookPoint,
    /// Fired with the error when it fails.
    pub error: HookPoint,
}

impl GuardPoints {
    /// `BeforeToolExecution` / `AfterToolExecution` / `ToolError`.
    pub fn tool() -> Self {
        Self {
            before: HookPoint::BeforeToolExecution,
            after: HookPoint::AfterToolExecution,
            error: HookPoint::ToolError,
        }
    }
    /// `BeforeAgentExecution` / `AfterAgentExecution` / `AgentError`.
    pub fn agent() -> Self {
        Self {
            before: HookPoint::BeforeAgentExecution,
            after: HookPoint::AfterAgentExecution,
            error: HookPoint::AgentError,
        }
    }
    /// `BeforeWorkflowStart` / `AfterWorkflowComplete` / `WorkflowError`.
    pub fn workflow() -> Self {
        Self {
            before: HookPoint::BeforeWorkflowStart,
            after: HookPoint::AfterWorkflowComplete,
            error: HookPoint::WorkflowError,
        }
    }
    /// `BeforeWorkflowStage` / `AfterWorkflowStage` / `WorkflowError` (one step).
    pub fn workflow_stage() -> Self {
        Self {
            before: HookPoint::BeforeWorkflowStage,
            after: HookPoint::AfterWorkflowStage,
            error: HookPoint::WorkflowError,
        }
    }
    /// `BeforeLlmCall` / `AfterLlmCall` / `LlmError`.
    pub fn llm() -> Self {
        Self {
            before: HookPoint::BeforeLlmCall,
            after: HookPoint::AfterLlmCall,
            error: HookPoint::LlmError,
        }
    }
}

#[derive(Debug, Clone)]
struct Topics {
    started: Topic,
    completed: Topic,
    failed: Topic,
    cancelled: Topic,
    forked: Topic,
}

/// One guarded component: its identity, its points and its lifecycle topics
/// (`<kind>.<name>.started|completed|failed|cancelled`, plus `.forked`).
/// Build it once per component and reuse it.
#[derive(Debug, Clone)]
pub struct GuardSpec {
    component: ComponentId,
    points: GuardPoints,
    topics: Option<Arc<Topics>>,
}

impl GuardSpec {
    /// A spec for `component`. Lifecycle events are published only when the
    /// component's name is a valid topic segment (letters, digits, `_`, `:`, `-`).
    pub fn new(component: ComponentId, points: GuardPoints) -> Self {
        Self::with_prefix(component, points, "")
    }

    /// A spec whose lifecycle topics have an extra segment after the name
    /// (`workflow.<name>.step.started`, with `extra = "step"`).
    pub fn with_prefix(component: ComponentId, points: GuardPoints, extra: &str) -> Self {
        let base = if extra.is_empty() {
            format!("{}.{}", component.kind, component.name)
        } else {
            format!("{}.{}.{extra}", component.kind, component.name)
        };
        let t = |phase: &str| Topic::new(format!("{base}.{phase}")).ok();
        let topics = match (
            t("started"),
            t("completed"),
            t("failed"),
            t("cancelled"),
            t("forked"),
        ) {
            (Some(started), Some(completed), Some(failed), Some(cancelled), Some(forked)) => {
                Some(Arc::new(Topics {
                    started,
                    completed,
                    failed,
                    cancelled,
                    forked,
                }))
            }
            _ => None,
        };
        Self {
            component,
            points,
            topics,
        }
    }

    /// The component.
    pub fn component(&self) -> &ComponentId {
        &self.component
    }

    /// The points.
    pub fn points(&self) -> &GuardPoints {
        &self.points
    }
}

/// One run of the guarded operation, as the runner asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationCall {
    /// The component to run: the guarded one, a redirect target or a fork target.
    pub target: Arc<str>,
    /// Its input.
    pub input: Value,
    /// The attempt number (1 for the first).
    pub attempt: u32,
    /// Whether this is an extra operation started by a `Fork`.
    pub fork: bool,
}

/// The result of one forked operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkReport {
    /// The component it ran on.
    pub target: String,
    /// What it returned.
    pub result: Result<Value>,
}

impl Serialize for ForkReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.result {
            Ok(v) => json!({ "target": self.target, "ok": true, "output": v }),
            Err(e) => json!({ "target": self.target, "ok": false, "error": e.to_json() }),
        }
        .serialize(s)
    }
}

/// The context metadata key set to `"true"` on the After point when a
/// `Cache` result served the output from the cache (nothing ran).
pub const CACHE_HIT_KEY: &str = "cache_hit";

/// What a guarded operation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardOutcome {
    /// The output, after every hook.
    pub output: Value,
    /// The component that produced it (differs after a redirect).
    pub target: Arc<str>,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Whether the output came from the cache.
    pub cache_hit: bool,
    /// Whether a `Replace` supplied the output.
    pub replaced: bool,
    /// Results of forked operations.
    pub forks: Vec<ForkReport>,
    /// Wall time of the whole guarded sequence.
    pub elapsed: Duration,
}

/// Limits that keep redirects and retries bounded, and the slow budget of
/// guarded operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RunnerConfig {
    /// The most attempts any retry may ask for. Default 10.
    pub max_attempts: u32,
    /// The most redirects in one run. Default 4.
    pub max_redirects: u32,
    /// A guarded operation (Before hooks, the operation, After or Error
    /// hooks) that takes longer fires `PerformanceThresholdExceeded`, whose
    /// `Cancel` fails it. Default: none.
    pub slow_operation: Option<Duration>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            max_redirects: 4,
            slow_operation: None,
        }
    }
}

/// Runs guarded operations: Before hooks, the operation, After or Error
/// hooks, honouring every [`HookResult`] as `docs/user-guide/hooks-guide.md`
/// tabulates, and publishing lifecycle events with the operation's
/// correlation id and language. Tools, agents and workflows all use it.
///
/// The operation is a closure called with an [`OperationCall`]; it is called
/// again for retries, with another target for redirects and forks. A point
/// with no hooks and a bus nobody listens to cost one atomic load each.
///
/// ```
/// use llmspell_core::ComponentId;
/// use llmspell_hooks::{GuardPoints, GuardSpec, GuardedRunner, HookContext, HookExecutor,
///     HookPoint, HookRegistry, HookResult, sync_hook_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let registry = HookRegistry::new();
/// let _h = registry.register(HookPoint::BeforeToolExecution, sync_hook_fn(|ctx| {
///     Ok(HookResult::Modified(json!({ "x": ctx.data["x"].as_i64().unwrap_or(0) * 10 })))
/// }));
/// let runner = GuardedRunner::new(HookExecutor::new(registry));
/// let spec = GuardSpec::new(ComponentId::tool("double"), GuardPoints::tool());
/// let ctx = HookContext::new(HookPoint::BeforeToolExecution, spec.component().clone(), json!({ "x": 2 }));
/// let out = runner
///     .run(&spec, ctx, |call| async move { Ok(json!(call.input["x"].as_i64().unwrap_or(0) * 2)) })
///     .await?;
/// assert_eq!(out.output, json!(40));
/// # Ok::<(), llmspell_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct GuardedRunner {
    executor: HookExecutor,
    cache: Arc<dyn HookCache>,
    config: RunnerConfig,
}

enum Phase {
    Failed,
    Cancelled,
}

impl GuardedRunner {
    /// A runner with an in-memory cache of 10,000 entries.
    pub fn new(executor: HookExecutor) -> Self {
        Self {
            executor,
            cache: Arc::new(MemoryHookCache::default()),
            config: RunnerConfig::default(),
        }
    }

    /// Uses `cache` for `Cache` results.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn HookCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Sets the retry and redirect bounds.
    #[must_use]
    pub fn with_config(mut self, config: RunnerConfig) -> Self {
        self.config = config;
        self
    }

    /// The executor.
    pub fn executor(&self) -> &HookExecutor {
        &self.executor
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<dyn HookCache> {
        &self.cache
    }

    fn listening(&self, spec: &GuardSpec) -> bool {
        spec.topics.is_some() && self.executor.bus().is_some_and(|b| !b.is_idle())
    }

    /// Whether a run of `spec` would do anything besides calling the
    /// operation: a hook on one of its points, a listener for its events, or
    /// a slow-operation budget with a `PerformanceThresholdExceeded` hook.
    /// When false, callers may call the operation directly and skip building
    /// a context (what [`run`](GuardedRunner::run) does itself).
    pub fn is_passthrough(&self, spec: &GuardSpec) -> bool {
        let registry = self.executor.registry();
        !registry.has_hooks(&spec.points.before)
            && !registry.has_hooks(&spec.points.after)
            && !registry.has_hooks(&spec.points.error)
            && !self.listening(spec)
            && (self.config.slow_operation.is_none()
                || !registry.has_hooks(&HookPoint::PerformanceThresholdExceeded))
    }

    /// Runs `op` guarded by the hooks of `spec`'s points. `ctx` is the Before
    /// context: its `data` is the input; its correlation id, parent, language
    /// and metadata are the operation's.
    ///
    /// # Errors
    /// `Cancelled { hook, reason }` when a hook cancels; `HookFailed` when a
    /// fail-closed hook fails; otherwise the operation's (possibly
    /// hook-modified) error.
    pub async fn run<F, Fut>(
        &self,
        spec: &GuardSpec,
        ctx: HookContext,
        op: F,
    ) -> Result<GuardOutcome>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        let started = quanta::Instant::now();
        // Only with a budget and a hook to tell: the context of the
        // PerformanceThresholdExceeded firing.
        let watch = match self.config.slow_operation {
            Some(budget)
                if self
                    .executor
                    .registry()
                    .has_hooks(&HookPoint::PerformanceThresholdExceeded) =>
            {
                Some((
                    budget,
                    ctx.derive(
                        HookPoint::PerformanceThresholdExceeded,
                        spec.component.clone(),
                        Value::Null,
                    ),
                ))
            }
            _ => None,
        };
        let result = if self.is_passthrough(spec) {
            let target = spec.component.name.clone();
            let call = OperationCall {
                target: target.clone(),
                input: ctx.data,
                attempt: 1,
                fork: false,
            };
            op(call).await.map(|output| GuardOutcome {
                output,
                target,
                attempts: 1,
                cache_hit: false,
                replaced: false,
                forks: Vec::new(),
                elapsed: started.elapsed(),
            })
        } else {
            self.run_hooked(spec, ctx, op, started).await
        };
        match watch {
            Some((budget, ctx)) if started.elapsed() > budget => {
                Box::pin(self.too_slow(ctx, budget, started.elapsed(), result)).await
            }
            _ => result,
        }
    }

    /// Fires `PerformanceThresholdExceeded` for an operation that ran past
    /// [`RunnerConfig::slow_operation`] (data: `{ subject = "operation",
    /// component, component_type, elapsed_ms, budget_ms, ok }`). A `Cancel`
    /// there turns the outcome into `Cancelled`; other results are not
    /// honoured at this point.
    async fn too_slow(
        &self,
        mut ctx: HookContext,
        budget: Duration,
        elapsed: Duration,
        result: Result<GuardOutcome>,
    ) -> Result<GuardOutcome> {
        ctx.data = json!({
            "subject": "operation",
            "component": &*ctx.component.name,
            "component_type": ctx.component.kind.as_str(),
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            "budget_ms": budget.as_secs_f64() * 1000.0,
            "ok": result.is_ok(),
        });
        let fired = self.executor.fire(ctx).await?;
        fired.cancelled()?;
        fired.ignore("only cancel applies");
        result
    }

    async fn run_hooked<F, Fut>(
        &self,
        spec: &GuardSpec,
        mut ctx: HookContext,
        op: F,
        started: quanta::Instant,
    ) -> Result<GuardOutcome>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        let points = &spec.points;
        let registry = self.executor.registry();
        let later_hooks = registry.has_hooks(&points.after) || registry.has_hooks(&points.error);
        // Copies of the input cost as much as small operations, so they are
        // made only where a hook could need them: the original for retries
        // (any hook may ask for one), the post-Before input for redirects and
        // retries decided after the operation ran.
        let original =
            (later_hooks || registry.has_hooks(&points.before)).then(|| ctx.data.clone());
        self.emit(spec, &ctx, |t| &t.started, || json!({ "input": &ctx.data }))
            .await;
        let mut attempt = 1u32;
        let mut target: Arc<str> = spec.component.name.clone();
        // The components run so far; filled at the first redirect (with the
        // guarded component first), so a call that never redirects allocates
        // nothing for it.
        let mut visited: Vec<Arc<str>> = Vec::new();
        let mut forks: Vec<ForkReport> = Vec::new();

        'attempts: loop {
            let mut cache_hit = false;
            let mut replaced = false;
            ctx.point = points.before.clone();
            if attempt > 1 {
                ctx.data = original.clone().unwrap_or_default();
            }
            ctx.elapsed = None;
            if attempt > 1 {
                ctx.metadata
                    .insert(ATTEMPT_KEY.to_owned(), attempt.to_string());
                // An earlier attempt's cache hit says nothing of this one.
                ctx.metadata.remove(CACHE_HIT_KEY);
            }
            let before = match self.executor.execute_point(&mut ctx).await {
                Ok(o) => o,
                Err(e) => return Err(self.fail(spec, &ctx, e, Phase::Failed).await),
            };
            let input = std::mem::take(&mut ctx.data);
            // After and Error hooks may redirect or retry, which needs the
            // post-Before input again. When the Before hooks left the input as
            // it was, the original copy serves for that and the operation
            // takes this one (a comparison is cheaper than a copy).
            let keep = later_hooks && original.as_ref() != Some(&input);
            let mut held = Some(input);
            let mut op_input = || {
                if keep {
                    held.clone().unwrap_or_default()
                } else {
                    held.take().unwrap_or_default()
                }
            };
            let (before_result, decided_by) = before.into_parts();
            let mut store: Option<(String, Duration)> = None;
            let mut result: Result<Value> = match before_result {
                HookResult::Cancel(reason) => {
                    let err = Error::Cancelled {
                        hook: decided_by,
                        reason,
                    };
                    return Err(self.fail(spec, &ctx, err, Phase::Cancelled).await);
                }
                HookResult::Redirect(to) => {
                    if let Err(e) = self.redirect(spec, &mut target, &mut visited, &to) {
                        return Err(self.fail(spec, &ctx, e, Phase::Failed).await);
                    }
                    op(self.call(&target, op_input(), attempt, false)).await
                }
                HookResult::Replace(value) => {
                    replaced = true;
                    Ok(value)
                }
                HookResult::Retry {
                    delay,
                    max_attempts: asked,
                } => {
                    let max_attempts = asked.clamp(1, self.config.max_attempts);
                    if attempt < max_attempts {
                        self.wait(delay).await?;
                        attempt += 1;
                        continue 'attempts;
                    }
                    let err = Error::Cancelled {
                        hook: decided_by,
                        reason: format!(
                            "asked to retry, but the limit of {max_attempts} attempt(s) is reached"
                        ),
                    };
                    return Err(self.fail(spec, &ctx, err, Phase::Cancelled).await);
                }
                HookResult::Fork { operations } => {
                    let main = op(self.call(&target, op_input(), attempt, false));
                    let (main, reports) = join(main, self.forks(&op, operations, attempt)).await;
                    self.report_forks(spec, &ctx, &reports).await;
                    forks.extend(reports);
                    main
                }
                HookResult::Cache { key, ttl } => match self.cache.get(&key) {
                    Some(hit) => {
                        cache_hit = true;
                        Ok(hit)
                    }
                    None => {
                        store = Some((key, ttl));
                        op(self.call(&target, op_input(), attempt, false)).await
                    }
                },
                HookResult::Continue | HookResult::Modified(_) | HookResult::Skipped(_) => {
                    op(self.call(&target, op_input(), attempt, false)).await
                }
            };
            // After and Error hooks exist whenever they can redirect; then the
            // input was kept, or is the original.
            let kept = if keep { held } else { None };
            let input: &Value = kept.as_ref().or(original.as_ref()).unwrap_or(&NO_INPUT);

            loop {
                match result {
                    Ok(output) => {
                        if let Some((key, ttl)) = store.take() {
                            self.cache.put(&key, output.clone(), ttl);
                        }
                        ctx.point = points.after.clone();
                        ctx.data = output;
                        ctx.elapsed = Some(started.elapsed());
                        if cache_hit {
                            // After hooks that account for work done (cost
                            // tracking) must not count a served copy again.
                            ctx.metadata
                                .insert(CACHE_HIT_KEY.to_owned(), "true".to_owned());
                        }
                        let after = match self.executor.execute_point(&mut ctx).await {
                            Ok(o) => o,
                            Err(e) => return Err(self.fail(spec, &ctx, e, Phase::Failed).await),
                        };
                        let output = std::mem::take(&mut ctx.data);
                        let (after_result, decided_by) = after.into_parts();
                        let finish =
                            |output: Value,
                             replaced: bool,
                             forks: Vec<ForkReport>,
                             target: Arc<str>| GuardOutcome {
                                output,
                                target,
                                attempts: attempt,
                                cache_hit,
                                replaced,
                                forks,
                                elapsed: started.elapsed(),
                            };
                        match after_result {
                            HookResult::Continue
                            | HookResult::Modified(_)
                            | HookResult::Skipped(_) => {
                                return Ok(self
                                    .completed(spec, &ctx, finish(output, replaced, forks, target))
                                    .await);
                            }
                            HookResult::Cancel(reason) => {
                                let err = Error::Cancelled {
                                    hook: decided_by,
                                    reason,
                                };
                                return Err(self.fail(spec, &ctx, err, Phase::Cancelled).await);
                            }
                            HookResult::Replace(value) => {
                                return Ok(self
                                    .completed(spec, &ctx, finish(value, true, forks, target))
                                    .await);
                            }
                            HookResult::Redirect(to) => {
                                if let Err(e) = self.redirect(spec, &mut target, &mut visited, &to)
                                {
                                    return Err(self.fail(spec, &ctx, e, Phase::Failed).await);
                                }
                                // The target runs: its output is not the cached one.
                                cache_hit = false;
                                ctx.metadata.remove(CACHE_HIT_KEY);
                                result =
                                    op(self.call(&target, input.clone(), attempt, false)).await;
                                continue;
                            }
                            HookResult::Retry {
                                delay,
                                max_attempts: asked,
                            } => {
                                let max_attempts = asked.clamp(1, self.config.max_attempts);
                                if attempt < max_attempts {
                                    self.wait(delay).await?;
                                    attempt += 1;
                                    continue 'attempts;
                                }
                                return Ok(self
                                    .completed(spec, &ctx, finish(output, replaced, forks, target))
                                    .await);
                            }
                            HookResult::Fork { operations } => {
                                let reports = self.forks(&op, operations, attempt).await;
                                self.report_forks(spec, &ctx, &reports).await;
                                forks.extend(reports);
                                return Ok(self
                                    .completed(spec, &ctx, finish(output, replaced, forks, target))
                                    .await);
                            }
                            HookResult::Cache { key, ttl } => {
                                self.cache.put(&key, output.clone(), ttl);
                                return Ok(self
                                    .completed(spec, &ctx, finish(output, replaced, forks, target))
                                    .await);
                            }
                        }
                    }
                    Err(error) => {
                        ctx.point = points.error.clone();
                        ctx.data = error.to_json();
                        ctx.elapsed = Some(started.elapsed());
                        let on_error = match self.executor.execute_point(&mut ctx).await {
                            Ok(o) => o,
                            Err(e) => return Err(self.fail(spec, &ctx, e, Phase::Failed).await),
                        };
                        let error = if on_error.modified {
                            Error::from_json(&ctx.data)
                        } else {
                            error
                        };
                        match on_error.into_parts().0 {
                            HookResult::Continue
                            | HookResult::Modified(_)
                            | HookResult::Skipped(_)
                            | HookResult::Cache { .. } => {
                                return Err(self.fail(spec, &ctx, error, Phase::Failed).await);
                            }
                            HookResult::Cancel(_) => {
                                return Err(self.fail(spec, &ctx, error, Phase::Cancelled).await);
                            }
                            HookResult::Replace(value) => {
                                replaced = true;
                                store = None;
                                result = Ok(value);
                                continue;
                            }
                            HookResult::Redirect(to) => {
                                if let Err(e) = self.redirect(spec, &mut target, &mut visited, &to)
                                {
                                    tracing::warn!(error = %e, "fallback redirect refused");
                                    return Err(self.fail(spec, &ctx, error, Phase::Failed).await);
                                }
                                result =
                                    op(self.call(&target, input.clone(), attempt, false)).await;
                                continue;
                            }
                            HookResult::Retry {
                                delay,
                                max_attempts: asked,
                            } => {
                                let max_attempts = asked.clamp(1, self.config.max_attempts);
                                if attempt < max_attempts {
                                    self.wait(delay).await?;
                                    attempt += 1;
                                    continue 'attempts;
                                }
                                return Err(self.fail(spec, &ctx, error, Phase::Failed).await);
                            }
                            HookResult::Fork { operations } => {
                                let reports = self.forks(&op, operations, attempt).await;
                                self.report_forks(spec, &ctx, &reports).await;
                                return Err(self.fail(spec, &ctx, error, Phase::Failed).await);
                            }
                        }
                    }
                }
            }
        }
    }

    fn call(&self, target: &Arc<str>, input: Value, attempt: u32, fork: bool) -> OperationCall {
        OperationCall {
            target: target.clone(),
            input,
            attempt,
            fork,
        }
    }

    fn redirect(
        &self,
        spec: &GuardSpec,
        target: &mut Arc<str>,
        visited: &mut Vec<Arc<str>>,
        to: &str,
    ) -> Result<()> {
        let refuse = |why: String| Error::Execution {
            component: spec.component.to_string(),
            message: format!("redirect to {to:?} refused: {why}"),
        };
        if visited.is_empty() {
            visited.push(spec.component.name.clone());
        }
        if visited.iter().any(|v| &**v == to) {
            return Err(refuse(format!(
                "it would loop (already ran on {:?})",
                visited.iter().map(|v| &**v).collect::<Vec<_>>()
            )));
        }
        if visited.len() > self.config.max_redirects as usize {
            return Err(refuse(format!(
                "more than {} redirects",
                self.config.max_redirects
            )));
        }
        let to: Arc<str> = Arc::from(to);
        visited.push(to.clone());
        *target = to;
        Ok(())
    }

    async fn wait(&self, delay: Duration) -> Result<()> {
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

    async fn forks<F, Fut>(
        &self,
        op: &F,
        operations: Vec<ForkOperation>,
        attempt: u32,
    ) -> Vec<ForkReport>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        let runs = operations.into_iter().map(|o| {
            let target: Arc<str> = Arc::from(o.target.as_str());
            let fut = op(OperationCall {
                target,
                input: o.input,
                attempt,
                fork: true,
            });
            async move {
                ForkReport {
                    target: o.target,
                    result: fut.await,
                }
            }
        });
        join_all(runs).await
    }

    async fn report_forks(&self, spec: &GuardSpec, ctx: &HookContext, reports: &[ForkReport]) {
        for r in reports {
            self.emit(
                spec,
                ctx,
                |t| &t.forked,
                || serde_json::to_value(r).unwrap_or(Value::Null),
            )
            .await;
        }
    }

    async fn fail(&self, spec: &GuardSpec, ctx: &HookContext, error: Error, phase: Phase) -> Error {
        match phase {
            Phase::Cancelled => {
                let (hook, reason) = match &error {
                    Error::Cancelled { hook, reason } => (hook.clone(), reason.clone()),
                    other => (String::new(), other.to_string()),
                };
                self.emit(
                    spec,
                    ctx,
                    |t| &t.cancelled,
                    || json!({ "hook": hook, "reason": reason, "error": error.to_json() }),
                )
                .await;
            }
            Phase::Failed => {
                self.emit(
                    spec,
                    ctx,
                    |t| &t.failed,
                    || json!({ "error": error.to_json() }),
                )
                .await;
            }
        }
        error
    }

    /// Publishes the `completed` event of `outcome` and hands it back.
    async fn completed(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        outcome: GuardOutcome,
    ) -> GuardOutcome {
        self.emit(
            spec,
            ctx,
            |t| &t.completed,
            || {
                json!({
                    "output": &outcome.output,
                    "target": &*outcome.target,
                    "attempts": outcome.attempts,
                    "cache_hit": outcome.cache_hit,
                    "duration_ms": outcome.elapsed.as_secs_f64() * 1000.0,
                })
            },
        )
        .await;
        outcome
    }

    async fn emit(
        &self,
        spec: &GuardSpec,
        ctx: &HookContext,
        topic: impl Fn(&Topics) -> &Topic,
        data: impl FnOnce() -> Value,
    ) {
        let (Some(topics), Some(bus)) = (&spec.topics, self.executor.bus()) else {
            return;
        };
        let topic = topic(topics);
        if bus.is_idle() || !bus.has_subscribers(topic.as_str()) {
            return;
        }
        let mut ev = UniversalEvent::new(topic.clone(), data())
            .with_language(ctx.language)
            .with_correlation_id(ctx.correlation_id.clone())
            .with_source(spec.component.to_string());
        if let Some(parent) = &ctx.parent_id {
            ev = ev.with_parent_id(parent.clone());
        }
        if let Err(e) = bus.publish_now(ev).await {
            tracing::debug!(error = %e, "lifecycle event not delivered everywhere");
        }
    }
}

/// The input after-the-operation redirects and retries see when no copy was
/// needed (no After or Error hooks).
static NO_INPUT: Value = Value::Null;

impl std::fmt::Debug for GuardedRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedRunner")
            .field("config", &self.config)
            .finish()
    }
}
