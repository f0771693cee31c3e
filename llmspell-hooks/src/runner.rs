//! The guarded operation runner: the one place hook results are honoured.
//!
//! - `spec.rs`: what a guarded operation is (component, points, topics);
//! - `decision.rs`: the decision table, a pure function of a point's result;
//! - `sequence.rs`: one guarded run carrying the decisions out;
//! - `lifecycle.rs`: the lifecycle events.

mod decision;
mod isolation;
mod lifecycle;
mod sequence;
mod spec;

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ExecutionContext, Result};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument;

pub use isolation::{BudgetPolicy, ComponentBudget, ComponentHookStats};
pub use spec::{GuardPoints, GuardSpec};

use crate::telemetry::{self, OperationTrace};
use crate::{HookCache, HookContext, HookExecutor, HookPoint, MemoryHookCache};

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
    /// Wall time of the whole guarded sequence; zero on the pass-through
    /// path, where nothing but the operation runs and nothing is timed.
    pub elapsed: Duration,
    /// Whether the run took the pass-through path: no hook on the
    /// operation's points and no listener for its events, so the output is
    /// the operation's own, untouched.
    pub passthrough: bool,
}

impl GuardOutcome {
    /// The outcome of a pass-through run of `target`.
    fn direct(target: Arc<str>, output: Value) -> Self {
        Self {
            output,
            target,
            attempts: 1,
            cache_hit: false,
            replaced: false,
            forks: Vec::new(),
            elapsed: Duration::ZERO,
            passthrough: true,
        }
    }
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
/// hooks, honouring every [`HookResult`](crate::HookResult) as
/// `docs/user-guide/hooks-guide.md` tabulates (the table is the pure
/// function of `runner/decision.rs`), and publishing lifecycle events with the operation's
/// correlation id and language. Tools, agents and workflows all use it.
///
/// The operation is a closure called with an [`OperationCall`]; it is called
/// again for retries, with another target for redirects and forks. A point
/// with no hooks and a bus nobody listens to cost one atomic load each.
///
/// ```
/// use llmspell_core::{ComponentId, ExecutionContext};
/// use llmspell_hooks::{GuardPoints, GuardSpec, GuardedRunner, HookExecutor, HookPoint,
///     HookRegistry, HookResult, sync_hook_fn};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let registry = HookRegistry::new();
/// let _h = registry.register(HookPoint::BeforeToolExecution, sync_hook_fn(|ctx| {
///     Ok(HookResult::Modified(json!({ "x": ctx.data["x"].as_i64().unwrap_or(0) * 10 })))
/// }));
/// let runner = GuardedRunner::new(HookExecutor::new(registry));
/// let spec = GuardSpec::new(ComponentId::tool("double"), GuardPoints::tool());
/// let exec = ExecutionContext::native();
/// let out = runner
///     .run(&spec, &exec, json!({ "x": 2 }), |call| async move {
///         Ok(json!(call.input["x"].as_i64().unwrap_or(0) * 2))
///     })
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
    /// Per-component hook time and budgets, shared by the runner's clones.
    isolation: Arc<isolation::Isolation>,
}

impl GuardedRunner {
    /// A runner with an in-memory cache of 10,000 entries.
    pub fn new(executor: HookExecutor) -> Self {
        Self {
            executor,
            cache: Arc::new(MemoryHookCache::default()),
            config: RunnerConfig::default(),
            isolation: Arc::default(),
        }
    }

    /// Gives the components `budget.component` names a budget of hook time
    /// per call (replacing one for the same component and kind). Past it,
    /// `PerformanceThresholdExceeded` fires (data `{ subject = "component",
    /// component, component_type, hook_ms, budget_ms, policy }`) and the
    /// policy applies. Shared by every clone of this runner.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for a zero budget or a bad glob.
    pub fn set_component_budget(&self, budget: ComponentBudget) -> crate::Result<()> {
        self.isolation.set(budget)
    }

    /// Removes the budgets of `component` for `kind` (`None`: of any
    /// kind); whether there was one.
    pub fn remove_component_budget(
        &self,
        component: &str,
        kind: Option<llmspell_core::ComponentType>,
    ) -> bool {
        self.isolation.remove(component, kind)
    }

    /// The budgets set.
    pub fn component_budgets(&self) -> Vec<ComponentBudget> {
        self.isolation.budgets()
    }

    /// Hook time per component (calls in which hooks ran, total and largest
    /// per call, calls over budget), with a total per component kind (name
    /// `*`).
    pub fn component_hook_stats(&self) -> Vec<ComponentHookStats> {
        self.isolation.stats()
    }

    /// Uses `cache` for `Cache` results.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn HookCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Sets the retry and redirect bounds and the slow-operation budget.
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

    /// Whether a run of `spec` would do nothing besides calling the
    /// operation: no hook on one of its points, no listener for its events,
    /// no slow-operation budget with a `PerformanceThresholdExceeded` hook,
    /// and no subscriber recording operation spans (see
    /// [`TELEMETRY_TARGET`](crate::TELEMETRY_TARGET)). [`run`](Self::run)
    /// checks it itself and then builds no context.
    pub fn is_passthrough(&self, spec: &GuardSpec) -> bool {
        !telemetry::enabled() && self.executor.traces().is_none() && self.hookless(spec)
    }

    /// Whether a run of `spec` has no hook or listener to run: the operation
    /// alone is called (within its span, when spans are recorded).
    fn hookless(&self, spec: &GuardSpec) -> bool {
        let registry = self.executor.registry();
        !registry.has_hooks(&spec.points.before)
            && !registry.has_hooks(&spec.points.after)
            && !registry.has_hooks(&spec.points.error)
            && !self.listening(spec)
            && (self.config.slow_operation.is_none()
                || !registry.has_hooks(&HookPoint::PerformanceThresholdExceeded))
    }

    /// Runs `op` on `input` as the operation of `exec`, guarded by the hooks
    /// of `spec`'s points. The hook context (correlation id, parent,
    /// language, attempt and metadata of `exec`) is built only when a hook or
    /// listener needs it.
    ///
    /// # Errors
    /// `Cancelled { hook, reason }` when a hook cancels; `HookFailed` when a
    /// fail-closed hook cannot run; otherwise the operation's (possibly
    /// hook-modified) error.
    pub async fn run<F, Fut>(
        &self,
        spec: &GuardSpec,
        exec: &ExecutionContext,
        input: Value,
        op: F,
    ) -> Result<GuardOutcome>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        self.run_with(spec, exec, input, |_| {}, op).await
    }

    /// As [`run`](Self::run); `amend` adds to the hook context when one is
    /// built (metadata of the operation's own: a workflow's step and branch).
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_with<F, Fut>(
        &self,
        spec: &GuardSpec,
        exec: &ExecutionContext,
        input: Value,
        amend: impl FnOnce(&mut HookContext),
        op: F,
    ) -> Result<GuardOutcome>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        if self.is_passthrough(spec) {
            let target = spec.component.name.clone();
            let call = OperationCall {
                target: target.clone(),
                input,
                attempt: exec.attempt,
                fork: false,
            };
            return op(call).await.map(|o| GuardOutcome::direct(target, o));
        }
        let mut ctx = HookContext::for_operation(
            spec.points.before.clone(),
            spec.component.clone(),
            exec,
            input,
        );
        amend(&mut ctx);
        Box::pin(self.run_context(spec, ctx, op)).await
    }

    /// Runs `op` guarded by the hooks of `spec`'s points with a context
    /// built by the caller: its `data` is the input; its correlation id,
    /// parent, language and metadata are the operation's. The context is
    /// used even when no hook would need it (see [`run`](Self::run)).
    ///
    /// While a subscriber records [`TELEMETRY_TARGET`](crate::TELEMETRY_TARGET)
    /// the run is an `llmspell.operation` span, the child of the operation
    /// that encloses it by correlation id.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_context<'a, F, Fut>(
        &'a self,
        spec: &'a GuardSpec,
        ctx: HookContext,
        op: F,
    ) -> impl std::future::Future<Output = Result<GuardOutcome>> + 'a
    where
        F: Fn(OperationCall) -> Fut + 'a,
        Fut: std::future::Future<Output = Result<Value>> + 'a,
    {
        use futures::FutureExt;
        if self.executor.traces().is_none() && !telemetry::enabled() {
            return futures::future::Either::Left(
                self.guard(spec, ctx, op).map(|(result, _)| result),
            );
        }
        // Boxed: the observed run's future is several times the size of the
        // plain one, and every guarded call's future would carry it.
        futures::future::Either::Right(Box::pin(self.run_observed(spec, ctx, op)))
    }

    /// [`run_context`](Self::run_context) while traces are recorded or
    /// spans exported.
    async fn run_observed<F, Fut>(
        &self,
        spec: &GuardSpec,
        ctx: HookContext,
        op: F,
    ) -> Result<GuardOutcome>
    where
        F: Fn(OperationCall) -> Fut,
        Fut: std::future::Future<Output = Result<Value>>,
    {
        let recorded = self.executor.traces().map(|t| t.begin(spec, &ctx));
        let otel = telemetry::enabled().then(|| {
            OperationTrace::start(
                self.executor.spans(),
                spec,
                &ctx.correlation_id,
                ctx.parent_id.as_ref(),
            )
        });
        if recorded.is_none() && otel.is_none() {
            return self.guard(spec, ctx, op).await.0;
        }
        let language = ctx.language;
        let run = self.guard(spec, ctx, op);
        let run = async {
            match &recorded {
                Some(span) => span.scope(run).await,
                None => run.await,
            }
        };
        let (result, attempts) = match &otel {
            Some(trace) => run.instrument(trace.span().clone()).await,
            None => run.await,
        };
        if let Some(trace) = otel {
            trace.finish(&result, attempts);
        }
        let publish = self.span_listened();
        if let Some((trace, span)) = recorded.and_then(|r| r.finish(&result, attempts, publish)) {
            self.publish_span(&trace, &span, language).await;
        }
        result
    }

    /// Whether someone subscribes to [`TRACE_TOPIC`](crate::TRACE_TOPIC)
    /// (persistence of `trace.**` does).
    fn span_listened(&self) -> bool {
        match (self.executor.bus(), self.executor.trace_topic()) {
            (Some(bus), Some(topic)) => !bus.is_idle() && bus.has_subscribers(topic.as_str()),
            _ => false,
        }
    }

    /// Publishes a finished span on [`TRACE_TOPIC`](crate::TRACE_TOPIC).
    async fn publish_span(
        &self,
        trace: &llmspell_core::CorrelationId,
        span: &crate::trace::Span,
        language: llmspell_core::Language,
    ) {
        let (Some(bus), Some(topic)) = (self.executor.bus(), self.executor.trace_topic()) else {
            return;
        };
        let ev = crate::trace::span_event(topic, trace, span, language);
        if let Err(e) = bus.publish_now(ev).await {
            tracing::debug!(error = %e, "trace span not delivered everywhere");
        }
    }

    /// [`run_context`](Self::run_context) without its span; also returns
    /// the attempts made.
    ///
    /// A plain function returning its future: what the run needs is built
    /// here and moved into the future once (an `async fn` would keep its
    /// arguments and the state made of them side by side, and every guarded
    /// call moves that future).
    fn guard<'a, F, Fut>(
        &'a self,
        spec: &'a GuardSpec,
        ctx: HookContext,
        op: F,
    ) -> impl std::future::Future<Output = (Result<GuardOutcome>, u32)> + 'a
    where
        F: Fn(OperationCall) -> Fut + 'a,
        Fut: std::future::Future<Output = Result<Value>> + 'a,
    {
        let started = llmspell_core::clock::instant();
        // Only with a budget and a hook to tell: the context of the
        // PerformanceThresholdExceeded firing (boxed: it is rare, and the
        // future of every guarded call would carry it).
        let watch = self
            .config
            .slow_operation
            .filter(|_| {
                self.executor
                    .registry()
                    .has_hooks(&HookPoint::PerformanceThresholdExceeded)
            })
            .map(|budget| {
                let ctx = ctx.derive(
                    HookPoint::PerformanceThresholdExceeded,
                    spec.component.clone(),
                    Value::Null,
                );
                Box::new((budget, ctx))
            });
        let mut run = if self.hookless(spec) {
            Guard::Direct {
                op,
                target: spec.component.name.clone(),
                input: ctx.data,
                attempt: ctx.attempt,
            }
        } else {
            Guard::Sequence(sequence::Sequence::new(self, spec, op, ctx, started))
        };
        async move {
            let (result, attempts) = match &mut run {
                Guard::Direct {
                    op,
                    target,
                    input,
                    attempt,
                } => {
                    let call = OperationCall {
                        target: target.clone(),
                        input: std::mem::take(input),
                        attempt: *attempt,
                        fork: false,
                    };
                    let result = op(call).await.map(|o| GuardOutcome {
                        elapsed: llmspell_core::clock::since(started),
                        ..GuardOutcome::direct(target.clone(), o)
                    });
                    (result, 1)
                }
                Guard::Sequence(sequence) => sequence.run().await,
            };
            let result = match watch {
                Some(watch) if llmspell_core::clock::since(started) > watch.0 => {
                    let (budget, ctx) = *watch;
                    let elapsed = llmspell_core::clock::since(started);
                    Box::pin(self.too_slow(ctx, budget, elapsed, result)).await
                }
                _ => result,
            };
            (result, attempts)
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

    /// Waits `delay` before another attempt.
    async fn wait(&self, delay: Duration) -> Result<()> {
        if delay.is_zero() {
            return Ok(());
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(llmspell_core::Error::other(
                "a retry delay needs a tokio runtime with timers",
            ));
        }
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// How [`GuardedRunner::guard`] runs an operation.
#[allow(
    clippy::large_enum_variant,
    reason = "it lives in the guarded call's future, already boxed; boxing the sequence would add an allocation per call"
)]
enum Guard<'r, F> {
    /// No hook at any of its points: the operation alone.
    Direct {
        op: F,
        target: std::sync::Arc<str>,
        input: Value,
        attempt: u32,
    },
    /// The full sequence of points.
    Sequence(sequence::Sequence<'r, F>),
}

impl std::fmt::Debug for GuardedRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedRunner")
            .field("config", &self.config)
            .finish()
    }
}
