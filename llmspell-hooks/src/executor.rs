//! Running the hooks of a point: ordering, timeouts, breakers, fail modes.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use llmspell_events::{EventBus, Topic, UniversalEvent};
use serde_json::json;

use crate::breaker::{BreakerState, CallOutcome, Permit, Transition};
use crate::monitor::Recorded;
use crate::registry::{FailMode, HookEntry};
use crate::telemetry::{self, HookRun, SpanIndex};
use crate::trace::{HookCall, TraceRecorder};
use crate::{
    HookContext, HookPoint, HookRecorder, HookRegistry, HookResult, LazyTimeout, PerformanceMonitor,
};

/// The topic of the event published when a fail-open hook could not run and
/// was skipped: data `{ hook_id, hook_name, point, component, reason }`.
pub const SKIPPED_TOPIC: &str = "hook.skipped";

/// Executor-wide defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct ExecutorConfig {
    /// Per-call timeout of hooks that set none. Default 5 s. (A timeout
    /// interrupts a hook at its next await; script engines also interrupt
    /// busy loops.)
    pub default_timeout: Option<Duration>,
    /// Calls slower than this count as slow for breakers, unless the point
    /// has its own budget. Default 100 ms.
    pub default_slow_budget: Duration,
    /// Slow-call budgets per point.
    pub point_budgets: HashMap<HookPoint, Duration>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        let mut point_budgets = HashMap::new();
        // Points around model calls and whole workflows naturally take longer.
        for p in [
            HookPoint::BeforeLlmCall,
            HookPoint::AfterLlmCall,
            HookPoint::LlmError,
        ] {
            point_budgets.insert(p, Duration::from_secs(1));
        }
        Self {
            default_timeout: Some(Duration::from_secs(5)),
            default_slow_budget: Duration::from_millis(100),
            point_budgets,
        }
    }
}

impl ExecutorConfig {
    /// Sets the slow-call budget of `point`.
    pub fn budget(mut self, point: HookPoint, budget: Duration) -> Self {
        self.point_budgets.insert(point, budget);
        self
    }

    /// Sets the default timeout (`None`: no timeout).
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// Sets the default slow-call budget.
    pub fn default_slow_budget(mut self, budget: Duration) -> Self {
        self.default_slow_budget = budget;
        self
    }
}

/// What running a point's hooks decided.
///
/// Small on purpose (the common answer, "go on", is returned on every
/// firing): a decisive result is boxed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointOutcome {
    decision: Option<Box<Decision>>,
    /// How many hooks ran.
    pub ran: u32,
    /// Whether any hook's `Modified` changed the context's `data`.
    pub modified: bool,
    /// How many fail-open hooks could not run and were skipped (they failed,
    /// or their breaker refused the call). Each skip is also counted in the
    /// hook's figures and published as a `hook.skipped` event.
    pub skipped: u32,
    /// How long the hooks that ran took, together.
    pub hook_time: Duration,
}

/// A decisive result and the hook that returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The result.
    pub result: HookResult,
    /// The deciding hook's name.
    pub hook: String,
}

static CONTINUE: HookResult = HookResult::Continue;

impl PointOutcome {
    /// Nothing ran or everything continued.
    pub const CONTINUE: PointOutcome = PointOutcome {
        decision: None,
        ran: 0,
        modified: false,
        skipped: 0,
        hook_time: Duration::ZERO,
    };

    /// The first decisive result, or `Continue`. (`Modified` results are
    /// already applied to the context's `data`.)
    #[inline]
    pub fn result(&self) -> &HookResult {
        self.decision.as_ref().map_or(&CONTINUE, |d| &d.result)
    }

    /// The name of the hook that decided, if one did.
    #[inline]
    pub fn decided_by(&self) -> Option<&str> {
        self.decision.as_ref().map(|d| d.hook.as_str())
    }

    /// The decision, if a hook made one.
    #[inline]
    pub fn into_decision(self) -> Option<Decision> {
        self.decision.map(|d| *d)
    }
}

/// Builds a [`HookExecutor`].
#[must_use]
pub struct HookExecutorBuilder {
    registry: HookRegistry,
    bus: Option<EventBus>,
    config: ExecutorConfig,
    recorder: Option<HookRecorder>,
    traces: Option<TraceRecorder>,
}

impl HookExecutorBuilder {
    /// Publishes breaker transitions (`hook.breaker.*`) on `bus`.
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Sets the defaults.
    pub fn config(mut self, config: ExecutorConfig) -> Self {
        self.config = config;
        self
    }

    /// Records executions of replayable hooks with `recorder`.
    pub fn recorder(mut self, recorder: HookRecorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Records the operations run through a [`GuardedRunner`](crate::GuardedRunner)
    /// over this executor, and the hook firings inside them, in `traces`
    /// (see [`TraceRecorder`]). While a recorder is set, no guarded run is a
    /// pass-through: each is recorded.
    pub fn traces(mut self, traces: TraceRecorder) -> Self {
        self.traces = Some(traces);
        self
    }

    /// Builds the executor.
    pub fn build(self) -> HookExecutor {
        let topic = |t: &str| Topic::new(t).ok();
        let budgets = HookPoint::all()
            .map(|p| {
                self.config
                    .point_budgets
                    .get(&p)
                    .copied()
                    .unwrap_or(self.config.default_slow_budget)
            })
            .collect();
        let custom_budgets = self.config.point_budgets.keys().any(HookPoint::is_custom);
        HookExecutor {
            inner: Arc::new(Inner {
                registry: self.registry,
                bus: self.bus,
                budgets,
                custom_budgets,
                config: self.config,
                recorder: self.recorder,
                traces: self.traces,
                trace_topic: topic(crate::TRACE_TOPIC),
                topics: [
                    topic("hook.breaker.opened"),
                    topic("hook.breaker.half_open"),
                    topic("hook.breaker.closed"),
                ],
                skipped_topic: topic(SKIPPED_TOPIC),
                spans: SpanIndex::new(),
            }),
        }
    }
}

struct Inner {
    registry: HookRegistry,
    bus: Option<EventBus>,
    config: ExecutorConfig,
    /// Slow-call budgets of the built-in points, by index (no hashing on the hot path).
    budgets: Box<[Duration]>,
    /// Whether any custom point has a budget of its own.
    custom_budgets: bool,
    recorder: Option<HookRecorder>,
    /// Where operations and hook firings are traced, when they are.
    traces: Option<TraceRecorder>,
    trace_topic: Option<Topic>,
    topics: [Option<Topic>; 3],
    skipped_topic: Option<Topic>,
    /// The open operation spans, while spans are recorded.
    spans: SpanIndex,
}

/// A hook that ran past its slow budget, or whose breaker just opened.
struct Exceeded<'a> {
    entry: &'a HookEntry,
    elapsed: Duration,
    budget: Duration,
    /// Why the breaker opened, when it just did.
    opened: Option<String>,
}

/// Runs the hooks of a point, in order, each behind its circuit breaker,
/// timed, with its timeout and fail mode. Cheap to clone.
///
/// For each hook: a hook an administrator disabled (`enabled = false`, or a
/// breaker forced open), one limited to another component, or one whose
/// `should_run` says no is passed over, whatever its fail mode; otherwise it
/// runs. `Continue` and `Skipped` go on, `Modified` replaces `ctx.data` and
/// goes on, any other result ends the chain and is returned.
///
/// **The fail mode is a promise.** A hook that cannot run (it errors,
/// panics, times out, returns an invalid result, or its breaker is open or
/// half-open and refuses the call) is skipped when it is fail-open (counted,
/// logged and published as a [`SKIPPED_TOPIC`] event) and fails the whole
/// point with `HookFailed { hook, message }` when it is fail-closed; the
/// message says why (`"breaker open since …"`). A fail-closed hook is never
/// skipped silently.
#[derive(Clone)]
pub struct HookExecutor {
    inner: Arc<Inner>,
}

enum Failure {
    Error(String),
    Panic(String),
    Timeout(Duration),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Error(m) => m.clone(),
            Failure::Panic(m) => format!("panicked: {m}"),
            Failure::Timeout(d) => format!("timed out after {} ms", d.as_millis()),
        }
    }
}

impl HookExecutor {
    /// An executor over `registry` with default settings and no bus.
    pub fn new(registry: HookRegistry) -> Self {
        Self::builder(registry).build()
    }

    /// A builder.
    pub fn builder(registry: HookRegistry) -> HookExecutorBuilder {
        HookExecutorBuilder {
            registry,
            bus: None,
            config: ExecutorConfig::default(),
            recorder: None,
            traces: None,
        }
    }

    /// The trace recorder, when operations are traced.
    pub fn traces(&self) -> Option<&TraceRecorder> {
        self.inner.traces.as_ref()
    }

    /// The topic finished spans are published on.
    pub(crate) fn trace_topic(&self) -> Option<&Topic> {
        self.inner.trace_topic.as_ref()
    }

    /// The registry.
    pub fn registry(&self) -> &HookRegistry {
        &self.inner.registry
    }

    /// The open operation spans (see `telemetry.rs`).
    pub(crate) fn spans(&self) -> &SpanIndex {
        &self.inner.spans
    }

    /// The bus transitions are published on.
    pub fn bus(&self) -> Option<&EventBus> {
        self.inner.bus.as_ref()
    }

    /// Per-hook counters and latency percentiles.
    pub fn monitor(&self) -> PerformanceMonitor {
        PerformanceMonitor::new(self.inner.registry.clone())
    }

    /// The slow-call budget of `point`.
    pub fn budget(&self, point: &HookPoint) -> Duration {
        match point.index() {
            Some(i) => self.inner.budgets[i],
            // Custom points rarely have budgets of their own: skip hashing
            // the name when none has.
            None if !self.inner.custom_budgets => self.inner.config.default_slow_budget,
            None => self
                .inner
                .config
                .point_budgets
                .get(point)
                .copied()
                .unwrap_or(self.inner.config.default_slow_budget),
        }
    }

    /// Runs the hooks of `ctx.point` on `ctx`.
    ///
    /// A point without hooks answers at its first poll after one atomic load.
    ///
    /// # Errors
    /// `HookFailed { hook, message }` when a fail-closed hook fails.
    #[inline]
    pub fn execute_point<'a>(
        &'a self,
        ctx: &'a mut HookContext,
    ) -> impl Future<Output = llmspell_core::Result<PointOutcome>> + Send + 'a {
        // Creating the running future only stores its arguments; an empty
        // point never polls it and allocates nothing.
        let running = if self.inner.registry.has_hooks(&ctx.point) {
            Some(self.run_point(ctx, false))
        } else {
            None
        };
        PointFuture::new(running)
    }

    /// [`execute_point`](Self::execute_point) running only the fail-closed
    /// hooks (a call past its component's hook budget with
    /// `BudgetPolicy::SkipFailOpen`).
    pub(crate) async fn execute_point_closed_only(
        &self,
        ctx: &mut HookContext,
    ) -> llmspell_core::Result<PointOutcome> {
        if self.inner.registry.has_hooks(&ctx.point) {
            self.run_point(ctx, true).await
        } else {
            Ok(PointOutcome::CONTINUE)
        }
    }

    async fn run_point(
        &self,
        ctx: &mut HookContext,
        closed_only: bool,
    ) -> llmspell_core::Result<PointOutcome> {
        let snapshot = self.inner.registry.firing_snapshot(&ctx.point);
        let mut outcome = PointOutcome::CONTINUE;
        let budget = self.budget(&ctx.point);
        // One clock read per hook: the end of one call starts the next.
        let mut clock = llmspell_core::clock::instant();
        // Hashed at the first hook limited to a component.
        let mut component = None;
        let traced = telemetry::enabled();
        for entry in snapshot.iter() {
            if closed_only && entry.fail_mode == FailMode::Open {
                continue;
            }
            if let Some(glob) = &entry.component_glob {
                if !glob.is_match(&*ctx.component.name) {
                    continue;
                }
            } else if let Some(name) = &entry.component {
                let hash = *component
                    .get_or_insert_with(|| crate::registry::component_hash(&ctx.component.name));
                if entry.component_hash != hash || **name != *ctx.component.name {
                    continue;
                }
            }
            let Some(permit) = self.admit(entry, ctx, &mut outcome)? else {
                continue;
            };
            outcome.ran += 1;
            let before = match (&self.inner.recorder, &entry.replay) {
                (Some(_), Some(_)) => Some(Box::new(ctx.clone())),
                _ => None,
            };
            let span = traced.then(|| telemetry::hook_span(&self.inner.spans, entry, ctx));
            let started = clock;
            let result = self.call(entry, ctx, started).await;
            clock = llmspell_core::clock::instant();
            let elapsed = clock.saturating_duration_since(started);
            outcome.hook_time += elapsed;
            if let Some(span) = span {
                traced_call(span, entry, &result, elapsed);
            }
            if let Some(traces) = &self.inner.traces {
                let error = result.as_ref().err().map(Failure::message);
                let call = HookCall {
                    started,
                    elapsed,
                    result: result.as_ref().ok(),
                    failed: result.is_err(),
                    skipped: result.is_err() && entry.fail_mode == FailMode::Open,
                    error,
                };
                traces.hook(entry, ctx, call);
            }
            let hook_budget = entry.slow_budget.unwrap_or(budget);
            let slow = elapsed > hook_budget;
            let opened = self.account(entry, permit, &result, elapsed, slow);
            if let Some(before) = before {
                // Boxed: recording is rare and its future is large.
                Box::pin(self.record(entry, &before, &result, elapsed)).await;
            }
            if slow || opened.is_some() {
                let exceeded = Exceeded {
                    entry,
                    elapsed,
                    budget: hook_budget,
                    opened,
                };
                Box::pin(self.threshold_exceeded(ctx, exceeded)).await?;
            }
            match result {
                Ok(HookResult::Continue | HookResult::Skipped(_)) => {}
                Ok(HookResult::Modified(data)) => {
                    ctx.data = data;
                    outcome.modified = true;
                }
                Ok(decisive) => {
                    outcome.decision = Some(Box::new(Decision {
                        result: decisive,
                        hook: entry.meta.name.clone(),
                    }));
                    return Ok(outcome);
                }
                Err(failure) => {
                    self.hook_cannot_run(entry, ctx, failure.message())?;
                    outcome.skipped += 1;
                }
            }
        }
        Ok(outcome)
    }

    /// Whether `entry` (limited to no component or to `ctx`'s) runs on
    /// `ctx` now: passed over when switched off or its `should_run` says no;
    /// then its
    /// breaker's permit. A refusal is handled by the hook's fail mode
    /// (`Err` for a fail-closed hook); `None` means "go to the next hook".
    #[inline]
    fn admit(
        &self,
        entry: &HookEntry,
        ctx: &HookContext,
        outcome: &mut PointOutcome,
    ) -> llmspell_core::Result<Option<Permit>> {
        if !entry.enabled.load(Ordering::Acquire) || !entry.hook.should_run(ctx) {
            return Ok(None);
        }
        let (permit, opened) = entry.breaker.try_acquire();
        if let Some(t) = opened {
            self.publish_transition(entry, &t);
        }
        match permit {
            Permit::Allowed | Permit::Probe => Ok(Some(permit)),
            // An administrator's decision, whatever the fail mode.
            Permit::Withheld => {
                entry.stats.skip();
                Ok(None)
            }
            Permit::Rejected => {
                entry.stats.skip();
                let why = entry.breaker.rejection();
                if telemetry::enabled() {
                    let span = telemetry::hook_span(&self.inner.spans, entry, ctx);
                    let run = HookRun {
                        action: None,
                        error: Some(&why),
                        failed: false,
                        skipped: entry.fail_mode == FailMode::Open,
                        elapsed: Duration::ZERO,
                    };
                    telemetry::hook_ran(span, &run);
                }
                if let Some(traces) = &self.inner.traces {
                    let call = HookCall {
                        started: llmspell_core::clock::instant(),
                        elapsed: Duration::ZERO,
                        result: None,
                        failed: false,
                        skipped: entry.fail_mode == FailMode::Open,
                        error: Some(why.clone()),
                    };
                    traces.hook(entry, ctx, call);
                }
                self.hook_cannot_run(entry, ctx, why)?;
                outcome.skipped += 1;
                Ok(None)
            }
        }
    }

    /// Counts a call in the hook's figures and its breaker; returns why the
    /// breaker opened, when this call opened it (kept for the threshold
    /// point; the common case keeps nothing).
    #[inline]
    fn account(
        &self,
        entry: &HookEntry,
        permit: Permit,
        result: &Result<HookResult, Failure>,
        elapsed: Duration,
        slow: bool,
    ) -> Option<String> {
        let recorded = match result {
            Ok(_) => Recorded::Ok,
            Err(Failure::Timeout(_)) => Recorded::Timeout,
            Err(_) => Recorded::Error,
        };
        entry.stats.record(elapsed, recorded);
        let outcome = CallOutcome {
            failed: result.is_err(),
            slow,
        };
        let t = entry.breaker.record(permit, outcome)?;
        self.publish_transition(entry, &t);
        (t.to == BreakerState::Open).then_some(t.reason)
    }

    /// Records a replayable hook's execution.
    async fn record(
        &self,
        entry: &HookEntry,
        before: &HookContext,
        result: &Result<HookResult, Failure>,
        elapsed: Duration,
    ) {
        let (Some(recorder), Some(replay)) = (&self.inner.recorder, &entry.replay) else {
            return;
        };
        let as_result = match result {
            Ok(r) => Ok(r.clone()),
            Err(failure) => Err(failure.message()),
        };
        recorder
            .record(
                replay.as_ref(),
                &entry.meta.name,
                before,
                &as_result,
                elapsed,
            )
            .await;
    }

    /// A hook could not run (it failed, or its breaker refused the call): a
    /// fail-closed hook fails the point with `HookFailed`; a fail-open one is
    /// skipped, logged and reported as a `hook.skipped` event.
    fn hook_cannot_run(
        &self,
        entry: &HookEntry,
        ctx: &HookContext,
        why: String,
    ) -> llmspell_core::Result<()> {
        match entry.fail_mode {
            FailMode::Closed => Err(llmspell_core::Error::HookFailed {
                hook: entry.meta.name.clone(),
                message: why,
            }),
            FailMode::Open => {
                tracing::warn!(hook = %entry.meta.name, point = %ctx.point, reason = %why, "hook could not run; skipped (fail-open)");
                if let Some(topic) = &self.inner.skipped_topic {
                    self.publish_about(
                        entry,
                        topic,
                        json!({ "component": ctx.component.name.as_ref(), "reason": why }),
                        Some(ctx),
                    );
                }
                Ok(())
            }
        }
    }

    /// Fires `PerformanceThresholdExceeded` for a hook that ran past its slow
    /// budget or whose breaker just opened. A `Cancel` there fails the point
    /// being run (and so the operation) with `Cancelled`; other results are
    /// not honoured at this point. Hooks of the point itself never re-fire it.
    async fn threshold_exceeded(
        &self,
        ctx: &HookContext,
        exceeded: Exceeded<'_>,
    ) -> llmspell_core::Result<()> {
        let point = HookPoint::PerformanceThresholdExceeded;
        if ctx.point == point || !self.inner.registry.has_hooks(&point) {
            return Ok(());
        }
        let Exceeded {
            entry,
            elapsed,
            budget,
            opened,
        } = exceeded;
        let data = json!({
            "subject": "hook",
            "hook_id": entry.id.to_string(),
            "hook_name": entry.meta.name,
            "point": ctx.point.to_string(),
            "component": ctx.component.name.as_ref(),
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            "budget_ms": budget.as_secs_f64() * 1000.0,
            "breaker_opened": opened,
        });
        let fired = self
            .fire(ctx.derive(point, ctx.component.clone(), data))
            .await?;
        fired.cancelled()?;
        fired.ignore("only cancel applies");
        Ok(())
    }
    async fn call(
        &self,
        entry: &HookEntry,
        ctx: &mut HookContext,
        started: quanta::Instant,
    ) -> Result<HookResult, Failure> {
        let fut = AssertUnwindSafe(entry.hook.execute(ctx)).catch_unwind();
        let timeout = entry.timeout.or(self.inner.config.default_timeout);
        let caught = match timeout {
            Some(after) => LazyTimeout::started_at(fut, after, started)
                .await
                .map_err(|_| Failure::Timeout(after))?,
            None => fut.await,
        };
        match caught {
            Ok(Ok(result)) if entry.meta.returns.contains(result.action()) => Ok(result),
            Ok(Ok(result)) => Err(Failure::Error(format!(
                "returned {}, which it does not declare (it declares: {})",
                result.action(),
                entry.meta.returns
            ))),
            Ok(Err(e)) => Err(Failure::Error(e.to_string())),
            Err(panic) => Err(Failure::Panic(panic_message(panic.as_ref()))),
        }
    }

    fn publish_transition(&self, entry: &HookEntry, t: &Transition) {
        let state = t.to;
        let index = match state {
            BreakerState::Open | BreakerState::ForcedOpen => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Closed | BreakerState::Disabled => 2,
        };
        tracing::info!(hook = %entry.meta.name, point = %entry.point, state = %state, reason = %t.reason, "hook breaker transition");
        if let Some(topic) = &self.inner.topics[index] {
            self.publish_about(
                entry,
                topic,
                json!({ "state": state.as_str(), "reason": t.reason }),
                None,
            );
        }
    }

    /// Publishes an event about `entry` (the hook system's own events:
    /// breaker transitions, skips) on `topic`, with `{ hook_id, hook_name,
    /// point }` added to `data`, and the correlation of `ctx` when given.
    /// Only while someone subscribes; never waits and never passes the emit
    /// hooks (`try_publish`), so a failing emit hook cannot loop through it.
    fn publish_about(
        &self,
        entry: &HookEntry,
        topic: &Topic,
        mut data: serde_json::Value,
        ctx: Option<&HookContext>,
    ) {
        let Some(bus) = &self.inner.bus else { return };
        if bus.is_idle() || !bus.has_subscribers(topic.as_str()) {
            return;
        }
        if let serde_json::Value::Object(o) = &mut data {
            o.insert("hook_id".into(), entry.id.to_string().into());
            o.insert("hook_name".into(), entry.meta.name.clone().into());
            o.insert("point".into(), entry.point.to_string().into());
        }
        let mut ev = UniversalEvent::new(topic.clone(), data).with_source("hooks");
        if let Some(ctx) = ctx {
            ev = ev.with_origin(ctx.language, &ctx.correlation_id, ctx.parent_id.as_ref());
        }
        if let Err(e) = bus.try_publish(ev) {
            tracing::debug!(error = %e, topic = %topic, "could not publish an event about a hook");
        }
    }
}

impl std::fmt::Debug for HookExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookExecutor")
            .field("registry", &self.inner.registry)
            .finish()
    }
}

/// Records a hook call on its span and closes it.
fn traced_call(
    span: tracing::Span,
    entry: &HookEntry,
    result: &Result<HookResult, Failure>,
    elapsed: Duration,
) {
    let message = result.as_ref().err().map(Failure::message);
    let run = HookRun {
        action: result.as_ref().ok().map(HookResult::action),
        error: message.as_deref(),
        failed: result.is_err(),
        skipped: result.is_err() && entry.fail_mode == FailMode::Open,
        elapsed,
    };
    telemetry::hook_ran(span, &run);
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// The future of [`HookExecutor::execute_point`]: ready at its first poll
/// for a point without hooks, otherwise the run over the point's hooks
/// (kept inline, not boxed).
///
/// The running future sits in a `ManuallyDrop` so that dropping the future
/// of an empty point is one inlined check in the caller's crate; the drop of
/// a run is out of line.
struct PointFuture<F> {
    running: std::mem::ManuallyDrop<Option<F>>,
}

impl<F> PointFuture<F> {
    #[inline(always)]
    fn new(running: Option<F>) -> Self {
        Self {
            running: std::mem::ManuallyDrop::new(running),
        }
    }
}

impl<F: Future<Output = llmspell_core::Result<PointOutcome>>> Future for PointFuture<F> {
    type Output = llmspell_core::Result<PointOutcome>;

    #[inline(always)]
    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `running` is structurally pinned: it is never moved out of
        // `self`, and `Drop` drops it in place.
        let running = unsafe { self.map_unchecked_mut(|s| &mut *s.running) };
        match running.as_pin_mut() {
            Some(fut) => fut.poll(cx),
            None => Poll::Ready(Ok(PointOutcome::CONTINUE)),
        }
    }
}

impl<F> Drop for PointFuture<F> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.running.is_some() {
            drop_running(&mut self.running);
        }
    }
}

/// Drops a run of [`PointFuture`] in place.
#[inline(never)]
#[allow(unsafe_code)]
fn drop_running<F>(running: &mut std::mem::ManuallyDrop<Option<F>>) {
    // SAFETY: called once, from `PointFuture::drop`; `running` is not used
    // afterwards.
    unsafe { std::mem::ManuallyDrop::drop(running) }
}
