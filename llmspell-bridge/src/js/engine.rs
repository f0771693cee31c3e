//! The JavaScript engine thread.
//!
//! One boa [`Context`] lives on the engine's thread. Code reaches it in two
//! ways:
//! - from the engine's own task set (a command from another thread, a
//!   subscription callback, a host call that finished): the context is free
//!   and is borrowed for the duration of the call, after which the promise
//!   jobs that call queued are run;
//! - from inside a native function that is polling a host call (a hook that
//!   fires inside the same script's `Tool.invoke`): the native function lends
//!   its `&mut Context` through a scoped thread-local for the duration of the
//!   poll, and the nested call borrows it from there. No call ever waits for
//!   the context while another holds it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use boa_engine::object::builtins::JsPromise;
use boa_engine::{Context, JsObject, JsResult, JsValue, Module, NativeFunction, Source};
use llmspell_agents::{AgentContext, LifecycleAgent};
use llmspell_core::{Language, Workflow};
use scoped_tls_hkt::scoped_thread_local;
use tokio::sync::oneshot;

use super::conversion::{context_to_js, js_to_json, json_to_js};
use super::{errors, natives};
use crate::engine::{
    BusyGuard, CallArgs, CallResult, Due, EngineHandle, Functions, ServedEngine, Started,
    finish_later, nested, not_json, script_failed,
};
use crate::{Host, HostError, Result, ScriptError};

/// Loop iterations timed at start-up to learn how fast this build runs
/// loops (see [`JsEngine::loop_limit`]).
const CALIBRATION_ITERATIONS: u32 = 20_000;

/// How many time limits' worth of empty-loop iterations a call may run.
const LOOP_LIMIT_FACTOR: f64 = 2.0;

/// The fewest loop iterations a time-limited call may run.
const MIN_LOOP_LIMIT: u64 = 10_000;

scoped_thread_local!(
    /// The context lent by the native function running now, if any.
    static mut LENT: Context
);

thread_local! {
    /// The engine of this thread (one JavaScript engine per engine thread).
    static ENGINE: RefCell<Option<Rc<JsEngine>>> = const { RefCell::new(None) };
}

/// The engine running on this thread.
pub(crate) fn current() -> Option<Rc<JsEngine>> {
    ENGINE.with(|e| e.borrow().clone())
}

/// Starts the JavaScript engine on its own thread and returns its handle
/// once the context is ready.
pub(crate) fn start(host: Host) -> Result<EngineHandle> {
    let spin = host.inner.config.handoff_spin;
    crate::engine::spawn_engine(Language::Javascript, spin, move |handle| {
        let engine = JsEngine::new(handle, host)?;
        ENGINE.with(|slot| *slot.borrow_mut() = Some(engine.clone()));
        Ok(engine)
    })
}

/// Remembers promises rejected while no handler was attached; those still
/// unhandled a turn later are reported like callback errors.
#[derive(Default)]
struct RejectionTracker {
    unhandled: RefCell<Vec<JsObject>>,
}

impl boa_engine::context::HostHooks for RejectionTracker {
    fn promise_rejection_tracker(
        &self,
        promise: &JsObject<boa_engine::builtins::promise::Promise>,
        operation: boa_engine::builtins::promise::OperationType,
        _context: &mut Context,
    ) {
        use boa_engine::builtins::promise::OperationType;
        let promise = promise.clone().upcast();
        let mut unhandled = self.unhandled.borrow_mut();
        match operation {
            OperationType::Reject => unhandled.push(promise),
            OperationType::Handle => unhandled.retain(|p| *p != promise),
        }
    }
}

/// Handles scripts hold to host objects, by number: agents, workflows and
/// the contexts of running agent handlers.
#[derive(Default)]
pub(crate) struct Handles {
    next: Cell<u64>,
    pub(crate) agents: RefCell<HashMap<u64, LifecycleAgent>>,
    pub(crate) workflows: RefCell<HashMap<u64, Arc<dyn Workflow>>>,
    pub(crate) agent_contexts: RefCell<HashMap<u64, AgentContext>>,
    /// Handle numbers of agents and workflows by name, so asking for the
    /// same component again does not add an entry.
    by_name: RefCell<HashMap<(bool, String), u64>>,
}

impl Handles {
    /// A fresh handle number.
    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next.get() + 1;
        self.next.set(id);
        id
    }

    /// The handle number of an agent (the same one for the same name).
    pub(crate) fn agent(&self, agent: LifecycleAgent) -> u64 {
        let key = (true, agent.name().to_owned());
        let id = self.id_for(key);
        self.agents.borrow_mut().insert(id, agent);
        id
    }

    /// The handle number of a workflow (the same one for the same name).
    pub(crate) fn workflow(&self, workflow: Arc<dyn Workflow>) -> u64 {
        let key = (false, workflow.metadata().name().to_owned());
        let id = self.id_for(key);
        self.workflows.borrow_mut().insert(id, workflow);
        id
    }

    fn id_for(&self, key: (bool, String)) -> u64 {
        if let Some(id) = self.by_name.borrow().get(&key) {
            return *id;
        }
        let id = self.next_id();
        self.by_name.borrow_mut().insert(key, id);
        id
    }
}

/// The JavaScript context and everything the runtime keeps for it.
pub(crate) struct JsEngine {
    context: RefCell<Context>,
    pub(crate) handle: EngineHandle,
    pub(crate) host: Host,
    /// The functions kept for the runtime.
    functions: Functions<JsObject>,
    pub(crate) handles: Handles,
    /// Promises of kept calls that had not settled when the call returned,
    /// by token: their settlement is sent here.
    settlements: RefCell<HashMap<u64, oneshot::Sender<CallResult>>>,
    next_settlement: Cell<u64>,
    /// Loop iterations per millisecond an empty loop runs in this build.
    loops_per_ms: f64,
    /// The loop-iteration limit of the call running now (restored as nested
    /// calls return).
    loop_limit: Cell<u64>,
    /// The last promise job the engine stopped (a loop budget or the
    /// recursion limit), and a signal for main chunks waiting on jobs.
    job_failure: RefCell<Option<String>>,
    job_failed: tokio::sync::Notify,
    rejections: Rc<RejectionTracker>,
    /// Whether a check of unhandled rejections is already scheduled.
    rejection_check: Cell<bool>,
}

impl JsEngine {
    fn new(handle: EngineHandle, host: Host) -> std::result::Result<Rc<Self>, String> {
        let rejections = Rc::new(RejectionTracker::default());
        let mut context = Context::builder()
            .host_hooks(rejections.clone())
            .build()
            .map_err(|e| format!("cannot create a JavaScript context: {e}"))?;
        let loops_per_ms = calibrate(&mut context)?;
        let engine = Rc::new(JsEngine {
            context: RefCell::new(context),
            handle,
            host,
            functions: Functions::default(),
            handles: Handles::default(),
            settlements: RefCell::new(HashMap::new()),
            next_settlement: Cell::new(1),
            loops_per_ms,
            loop_limit: Cell::new(u64::MAX),
            job_failure: RefCell::new(None),
            job_failed: tokio::sync::Notify::new(),
            rejections,
            rejection_check: Cell::new(false),
        });
        {
            let mut ctx = engine.context.borrow_mut();
            natives::install(&engine, &mut ctx).map_err(|e| errors::message(&e, &mut ctx))?;
        }
        Ok(engine)
    }

    /// Runs `f` with the context: the one a native function lent, or the
    /// engine's own when nothing holds it (then the promise jobs `f` queued
    /// run before this returns).
    pub(crate) fn enter<R>(
        &self,
        f: impl FnOnce(&mut Context) -> R,
    ) -> std::result::Result<R, String> {
        if LENT.is_set() {
            return Ok(LENT.with(f));
        }
        let Ok(mut ctx) = self.context.try_borrow_mut() else {
            return Err(
                "the JavaScript engine is busy (a call re-entered it outside a host call)".into(),
            );
        };
        let r = f(&mut ctx);
        self.run_jobs(&mut ctx);
        Ok(r)
    }

    /// Runs queued promise jobs. Continuations of async code run under the
    /// loop limit of the handler time limit.
    fn run_jobs(&self, ctx: &mut Context) {
        let limit = self.loop_limit_for(Some(self.host.inner.live.handler_timeout()));
        let previous = self.set_loop_limit(ctx, limit);
        if let Err(e) = ctx.run_jobs() {
            // Only errors scripts cannot catch end a job (a loop budget, the
            // recursion limit); main chunks waiting on jobs fail with it
            // rather than wait for a continuation that will never run.
            let message = errors::message(&e, ctx);
            eprintln!("javascript: the engine stopped a promise job: {message}");
            *self.job_failure.borrow_mut() = Some(message);
            self.job_failed.notify_waiters();
        }
        self.set_loop_limit(ctx, previous);
        if !self.rejections.unhandled.borrow().is_empty() && !self.rejection_check.replace(true) {
            self.schedule_rejection_check();
        }
    }

    /// A turn from now, reports the promises still rejected with no handler
    /// (a handler attached meanwhile, as `await` does, clears them).
    fn schedule_rejection_check(&self) {
        let busy = BusyGuard::new(&self.handle);
        tokio::task::spawn_local(async move {
            tokio::task::yield_now().await;
            let Some(engine) = current() else { return };
            engine.rejection_check.set(false);
            let promises: Vec<JsObject> =
                engine.rejections.unhandled.borrow_mut().drain(..).collect();
            let messages = engine.enter(|ctx| {
                promises
                    .iter()
                    .filter_map(|p| JsPromise::from_object(p.clone()).ok())
                    .filter_map(|p| match p.state() {
                        boa_engine::builtins::promise::PromiseState::Rejected(v) => {
                            Some(errors::rejection_message(&v, ctx))
                        }
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            });
            let host = engine.host.clone();
            drop(engine);
            for message in messages.unwrap_or_default() {
                host.report_callback_error(
                    Language::Javascript,
                    "promise (unhandled rejection)",
                    &message,
                )
                .await;
            }
            drop(busy);
        });
    }

    /// Polls `fut` once with `ctx` lent to nested calls (hooks written in
    /// JavaScript that the host call fires).
    pub(crate) fn poll_lending<F: Future + ?Sized>(
        ctx: &mut Context,
        fut: Pin<&mut F>,
    ) -> Poll<F::Output> {
        let waker = futures::task::noop_waker();
        let mut cx = TaskContext::from_waker(&waker);
        LENT.set(ctx, || fut.poll(&mut cx))
    }

    /// How many loop iterations a call limited to `deadline` may run: as many
    /// as an empty loop runs in twice that time, so that a tight loop is
    /// stopped between one and two time limits (no limit without a deadline).
    fn loop_limit_for(&self, deadline: Option<Duration>) -> u64 {
        match deadline {
            Some(d) => {
                let n = LOOP_LIMIT_FACTOR * self.loops_per_ms * d.as_secs_f64() * 1000.0;
                if n.is_finite() && n < u64::MAX as f64 {
                    (n as u64).max(MIN_LOOP_LIMIT)
                } else {
                    u64::MAX
                }
            }
            None => u64::MAX,
        }
    }

    fn set_loop_limit(&self, ctx: &mut Context, limit: u64) -> u64 {
        let previous = self.loop_limit.replace(limit);
        let mut limits = ctx.runtime_limits();
        limits.set_loop_iteration_limit(limit);
        ctx.set_runtime_limits(limits);
        previous
    }

    /// Runs a file as an ES module (so top-level `await` works) and waits
    /// until its evaluation settles.
    async fn run_module(&self, name: &str, source: &str) -> std::result::Result<(), ScriptError> {
        let started = self.enter(|ctx| -> std::result::Result<JsPromise, ScriptError> {
            let path = std::path::Path::new(name);
            let src = Source::from_bytes(source).with_path(path);
            let module =
                Module::parse(src, None, ctx).map_err(|e| errors::script_error(&e, name, ctx))?;
            Ok(module.load_link_evaluate(ctx))
        });
        let promise = match started {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(e),
            Err(m) => return Err(ScriptError::message(m)),
        };
        match self.settle(promise.into(), None) {
            Started::Done(r) => r.map(|_| ()).map_err(|e| module_error(e.message(), name)),
            Started::Waiting(rx) => {
                tokio::pin!(rx);
                loop {
                    tokio::select! {
                        r = &mut rx => return match r {
                            Ok(r) => r.map(|_| ()).map_err(|e| module_error(e.message(), name)),
                            Err(_) => Err(ScriptError::message("the script was dropped")),
                        },
                        () = self.job_failed.notified() => {
                            if let Some(m) = self.job_failure.borrow_mut().take() {
                                return Err(ScriptError {
                                    file: Some(name.to_owned()),
                                    line: None,
                                    message: format!("the script was stopped while it waited: {m}"),
                                });
                            }
                        }
                    }
                }
            }
        }
    }

    /// A call's result: at once for a plain value or a settled promise, else
    /// when the promise settles (abandoned at `due`, the instant its time
    /// limit passes, with that limit).
    fn settle(&self, value: JsValue, due: Option<Due>) -> Started {
        let Some(promise) = value.as_promise() else {
            return Started::Done(
                self.enter(|ctx| js_to_json(&value, ctx))
                    .map_err(|m| HostError::new("other", m))
                    .and_then(|r| r.map_err(not_json)),
            );
        };
        let token = self.next_settlement.get();
        self.next_settlement.set(token + 1);
        let (tx, rx) = oneshot::channel();
        self.settlements.borrow_mut().insert(token, tx);
        let attached = self.enter(|ctx| -> JsResult<()> {
            let on_ok = NativeFunction::from_copy_closure(move |_, args, ctx| {
                let v = args.first().cloned().unwrap_or_default();
                let r = js_to_json(&v, ctx).map_err(not_json);
                settle_token(token, r);
                Ok(JsValue::undefined())
            })
            .to_js_function(ctx.realm());
            let on_err = NativeFunction::from_copy_closure(move |_, args, ctx| {
                let v = args.first().cloned().unwrap_or_default();
                settle_token(
                    token,
                    Err(script_failed(errors::rejection_message(&v, ctx))),
                );
                Ok(JsValue::undefined())
            })
            .to_js_function(ctx.realm());
            promise.then(Some(on_ok), Some(on_err), ctx)?;
            Ok(())
        });
        if let Err(m) = attached
            .map_err(HostError::from)
            .and_then(|r| r.map_err(|e| script_failed(e.to_string())))
        {
            self.settlements.borrow_mut().remove(&token);
            return Started::Done(Err(m));
        }
        // The reactions may already have run (a settled promise, jobs run).
        let mut rx = rx;
        if let Ok(r) = rx.try_recv() {
            return Started::Done(r);
        }
        let answer = async move {
            rx.await
                .unwrap_or_else(|_| Err(HostError::new("other", "the promise was dropped")))
        };
        // Abandoned: forget where its settlement would go.
        let abandon = move || {
            if let Some(engine) = current() {
                engine.settlements.borrow_mut().remove(&token);
            }
        };
        finish_later(&self.handle, answer, due, abandon)
    }

    /// The JavaScript arguments of a call.
    fn prepare(
        &self,
        args: &CallArgs<'_>,
        ctx: &mut Context,
    ) -> std::result::Result<Vec<JsValue>, String> {
        let conv = |v: &serde_json::Value, ctx: &mut Context| {
            json_to_js(v, ctx).map_err(|e| errors::message(&e, ctx))
        };
        Ok(match args {
            CallArgs::Values(values) => {
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    out.push(conv(v, ctx)?);
                }
                out
            }
            CallArgs::Context(hook_ctx) => {
                vec![context_to_js(hook_ctx, ctx).map_err(|e| errors::message(&e, ctx))?]
            }
            CallArgs::Event(ev) => vec![conv(&Host::event_json(ev), ctx)?],
            CallArgs::Agent(input, cx) => {
                let id = self.handles.next_id();
                self.handles
                    .agent_contexts
                    .borrow_mut()
                    .insert(id, (**cx).clone());
                vec![conv(input, ctx)?, natives::agent_context_arg(id)]
            }
        })
    }
}

/// Delivers the settlement of a kept call's promise.
fn settle_token(token: u64, result: CallResult) {
    if let Some(engine) = current() {
        let tx = engine.settlements.borrow_mut().remove(&token);
        if let Some(tx) = tx {
            let _ = tx.send(result);
        }
    }
}

/// A module's failure as `file:line: message`.
fn module_error(message: &str, file: &str) -> ScriptError {
    ScriptError::parse(message, Some(file))
}

/// Times an empty loop to learn how many iterations this build runs per
/// millisecond: the fastest of three runs of an already compiled function.
fn calibrate(ctx: &mut Context) -> std::result::Result<f64, String> {
    let fail = |e: boa_engine::JsError| format!("the JavaScript engine failed to start: {e}");
    let f = ctx
        .eval(Source::from_bytes(
            "(n) => { for (let i = 0; i < n; i++) {} return n; }",
        ))
        .map_err(fail)?;
    let f = f
        .as_callable()
        .ok_or("the JavaScript engine failed to start: no calibration function")?;
    let n = JsValue::from(CALIBRATION_ITERATIONS);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        f.call(&JsValue::undefined(), std::slice::from_ref(&n), ctx)
            .map_err(fail)?;
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(f64::from(CALIBRATION_ITERATIONS) / best.max(0.000_1))
}

impl ServedEngine for JsEngine {
    type Function = JsObject;

    fn handle(&self) -> &EngineHandle {
        &self.handle
    }

    fn host(&self) -> &Host {
        &self.host
    }

    fn functions(&self) -> &Functions<JsObject> {
        &self.functions
    }

    /// Calls `f` with `args`, limited to `deadline`; a returned promise is
    /// awaited (within the same deadline).
    fn call_function(
        &self,
        f: JsObject,
        args: &CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Started {
        // The limit counts from the call, waiting included (as in Lua).
        let due = crate::engine::due(deadline);
        let limit = self.loop_limit_for(deadline);
        let outcome = nested(|| {
            self.enter(|ctx| -> std::result::Result<JsValue, HostError> {
                let args = self.prepare(args, ctx)?;
                let previous = self.set_loop_limit(ctx, limit.min(self.loop_limit.get()));
                let r = f.call(&JsValue::undefined(), &args, ctx);
                self.set_loop_limit(ctx, previous);
                r.map_err(|e| errors::callback_error(&e, ctx, deadline))
            })
        });
        let value = match outcome {
            Ok(Ok(Ok(v))) => v,
            Ok(Ok(Err(e))) | Err(e) => return Started::Done(Err(e)),
            Ok(Err(m)) => return Started::Done(Err(HostError::new("other", m))),
        };
        self.settle(value, due)
    }

    fn run_file(
        self: Rc<Self>,
        name: String,
        source: String,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<(), ScriptError>>>> {
        Box::pin(async move { self.run_module(&name, &source).await })
    }
}
