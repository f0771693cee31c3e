//! What every script engine shares: a thread of its own, a command channel,
//! and callbacks the rest of the runtime can call from any thread.
//!
//! An engine implements [`ServedEngine`] (its function type, how it calls
//! one, how it runs a file) and gets the rest from here: the command loop,
//! calls from its own thread without a hop ([`LocalEngine`]), the functions
//! it keeps (`functions`), the nesting limit and time limits of calls
//! (`calls`), subscriptions with their pumps and pulls (`subscriptions`),
//! and waits (`waits`).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::Duration;

use llmspell_core::Language;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::ScriptError;

mod calls;
mod functions;
mod subscriptions;
mod waits;

pub(crate) use calls::{Due, due, finish_later, nested, not_json, script_failed};
pub(crate) use functions::Functions;
pub use functions::ScriptFunction;
pub(crate) use subscriptions::{Pulls, subscribe, subscription_id};
use waits::spin_for;
pub(crate) use waits::{Millis, sleep};

/// Identifies a script function an engine keeps for the runtime (a hook, a
/// subscription callback, a tool handler, …).
pub(crate) type CallbackId = u64;

/// The answer of a script function: its return value as JSON, or why it
/// failed.
pub(crate) type CallResult = Result<Value, crate::HostError>;

/// The arguments of a call into a script. Contexts and events have their
/// own variants so engines can build their native objects directly instead
/// of going through a JSON value first.
///
/// A context may be borrowed: a call made on the engine's own thread (a
/// hook inside the same script's `Tool.invoke`) reads it in place, and only
/// a call sent to another thread copies it.
#[derive(Debug, Clone)]
pub enum CallArgs<'a> {
    /// JSON values, one per argument.
    Values(Vec<Value>),
    /// A hook context (the hook function's only argument).
    Context(std::borrow::Cow<'a, llmspell_hooks::HookContext>),
    /// An event (a subscription callback's only argument).
    Event(Arc<llmspell_events::UniversalEvent>),
    /// An agent handler's arguments: the input, and the invocation's
    /// context (which engines present as an object with `name`,
    /// `invoke_tool`, `parameters`, `state`, ...).
    Agent(Value, Box<llmspell_agents::AgentContext>),
}

impl Default for CallArgs<'_> {
    fn default() -> Self {
        CallArgs::Values(Vec::new())
    }
}

impl CallArgs<'_> {
    /// The same arguments owning everything, to be sent to another thread.
    pub fn into_owned(self) -> CallArgs<'static> {
        match self {
            CallArgs::Values(v) => CallArgs::Values(v),
            CallArgs::Context(c) => CallArgs::Context(std::borrow::Cow::Owned(c.into_owned())),
            CallArgs::Event(e) => CallArgs::Event(e),
            CallArgs::Agent(input, cx) => CallArgs::Agent(input, cx),
        }
    }
}

/// Work sent to an engine thread.
// `Call` (every hook and callback call from another thread) is the large
// and the frequent variant; boxing its arguments would add an allocation
// per call to save channel-slot bytes for the rare `Run` and `Release`.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Run a script file's main chunk.
    Run {
        name: String,
        source: String,
        reply: oneshot::Sender<Result<(), ScriptError>>,
    },
    /// Call a kept function with JSON arguments, within `deadline`.
    Call {
        id: CallbackId,
        args: CallArgs<'static>,
        deadline: Option<Duration>,
        reply: oneshot::Sender<CallResult>,
    },
    /// Forget a kept function.
    Release { id: CallbackId },
    /// Stop the engine.
    Shutdown,
}

/// How a call started on the engine's own thread went.
pub(crate) enum Started {
    /// It finished without waiting.
    Done(CallResult),
    /// It waits on the host; the engine finishes it and answers here.
    Waiting(oneshot::Receiver<CallResult>),
}

/// The engine-thread side of an engine, reachable without a channel hop
/// from code already running on that thread.
pub(crate) trait LocalEngine {
    /// Which engine this is.
    fn engine_id(&self) -> u64;
    /// Calls a kept function, running it at once until it finishes or waits.
    fn start_call(
        &self,
        id: CallbackId,
        args: &CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Started;
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<dyn LocalEngine>>> = const { RefCell::new(None) };
}

/// Makes `engine` the local engine of the current thread.
pub(crate) fn install_local(engine: Rc<dyn LocalEngine>) {
    LOCAL.with(|l| *l.borrow_mut() = Some(engine));
}

static NEXT_ENGINE: AtomicU64 = AtomicU64::new(1);

/// Counters the runtime reads to decide whether everything is quiet.
#[derive(Default)]
pub(crate) struct Activity {
    /// Tasks running on the engine (script chunks, callbacks, calls).
    pub(crate) busy: AtomicUsize,
    /// Commands sent but not yet taken by the engine.
    pub(crate) pending: AtomicUsize,
}

/// A handle to an engine thread; cheap to clone and `Send`.
#[derive(Clone)]
pub struct EngineHandle {
    pub(crate) inner: Arc<EngineShared>,
}

pub(crate) struct EngineShared {
    pub(crate) id: u64,
    pub(crate) language: Language,
    pub(crate) thread: Mutex<Option<ThreadId>>,
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) activity: Activity,
    /// Subscriptions whose callbacks this engine runs (for quiescence).
    pub(crate) callback_subscriptions: Mutex<Vec<llmspell_events::SubscriptionId>>,
    /// Subscriptions made without a callback, for `Event.receive`.
    pub(crate) pulls: Pulls,
    /// How long a hand-off polls before sleeping ([`crate::RuntimeConfig::handoff_spin`]).
    pub(crate) spin: Duration,
    /// The engine thread, joined when the runtime stops.
    pub(crate) join: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EngineHandle {
    pub(crate) fn new(
        language: Language,
        tx: mpsc::UnboundedSender<Command>,
        spin: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(EngineShared {
                id: NEXT_ENGINE.fetch_add(1, Ordering::Relaxed),
                language,
                thread: Mutex::new(None),
                tx,
                activity: Activity::default(),
                callback_subscriptions: Mutex::new(Vec::new()),
                pulls: Pulls::default(),
                spin,
                join: Mutex::new(None),
            }),
        }
    }

    /// The engine's language.
    pub fn language(&self) -> Language {
        self.inner.language
    }

    pub(crate) fn send(&self, command: Command) -> bool {
        self.inner.activity.pending.fetch_add(1, Ordering::SeqCst);
        if self.inner.tx.send(command).is_err() {
            self.inner.activity.pending.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Asks the engine to stop and waits up to `patience` for its thread to
    /// end (a script busy past that is left to finish on its own; its
    /// thread ends when it does). Returns whether the thread ended.
    pub(crate) fn stop(&self, patience: Duration) -> bool {
        let _ = self.inner.tx.send(Command::Shutdown);
        let Some(thread) = self.inner.join.lock().take() else {
            return true;
        };
        if self.on_engine_thread() {
            return false;
        }
        let deadline = std::time::Instant::now() + patience;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = thread.join();
        true
    }

    fn on_engine_thread(&self) -> bool {
        *self.inner.thread.lock() == Some(std::thread::current().id())
    }

    /// Calls a kept function. On the engine's own thread it runs at once (no
    /// channel hop; the hook-inside-`Tool.invoke` case); elsewhere it is sent
    /// to the engine and awaited.
    pub(crate) async fn call(
        &self,
        id: CallbackId,
        args: CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> CallResult {
        if self.on_engine_thread() {
            // Start the call synchronously; nothing engine-local is held
            // across the await below, so this future stays `Send`.
            let started = LOCAL.with(|l| {
                let local = l.borrow();
                match local.as_ref() {
                    Some(e) if e.engine_id() == self.inner.id => {
                        Some(e.start_call(id, &args, deadline))
                    }
                    _ => None,
                }
            });
            match started {
                Some(Started::Done(r)) => return r,
                Some(Started::Waiting(rx)) => {
                    return rx.await.unwrap_or_else(|_| {
                        Err(crate::HostError::new("other", "the script engine stopped"))
                    });
                }
                None => {}
            }
        }
        let (reply, rx) = oneshot::channel();
        if !self.send(Command::Call {
            id,
            args: args.into_owned(),
            deadline,
            reply,
        }) {
            return Err(crate::HostError::new(
                "other",
                format!("the {} engine stopped", self.inner.language),
            ));
        }
        let mut rx = rx;
        if let Some(answer) = spin_for(self.inner.spin, || match rx.try_recv() {
            Ok(r) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(crate::HostError::new(
                "other",
                "the script engine stopped before answering",
            ))),
        })
        .await
        {
            return answer;
        }
        rx.await.unwrap_or_else(|_| {
            Err(crate::HostError::new(
                "other",
                "the script engine stopped before answering",
            ))
        })
    }

    /// Whether the engine is idle: nothing running, nothing queued, and no
    /// event waiting for one of its callbacks.
    pub(crate) fn is_idle(&self, bus: &llmspell_events::EventBus) -> bool {
        let a = &self.inner.activity;
        if a.busy.load(Ordering::SeqCst) > 0 || a.pending.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let subs = self.inner.callback_subscriptions.lock().clone();
        subs.iter()
            .all(|id| bus.subscription(*id).is_none_or(|s| s.queued == 0))
    }
}

/// Counts a task as running until dropped.
pub(crate) struct BusyGuard(Arc<EngineShared>);

impl BusyGuard {
    pub(crate) fn new(engine: &EngineHandle) -> Self {
        engine.inner.activity.busy.fetch_add(1, Ordering::SeqCst);
        Self(engine.inner.clone())
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.activity.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The engine-thread side of an engine, as the shared parts use it: the
/// command loop, [`LocalEngine`] calls, subscriptions and their pumps.
pub(crate) trait ServedEngine: 'static {
    /// A script function as the engine keeps it.
    type Function: Clone + 'static;
    /// The engine's handle.
    fn handle(&self) -> &EngineHandle;
    /// The runtime's shared registries.
    fn host(&self) -> &crate::Host;
    /// The functions the engine keeps for the runtime.
    fn functions(&self) -> &Functions<Self::Function>;
    /// Calls `f` with `args`, interrupted once `deadline` has passed,
    /// running it at once until it finishes or waits.
    fn call_function(
        &self,
        f: Self::Function,
        args: &CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Started;
    /// Runs a script file's main chunk to completion.
    fn run_file(
        self: Rc<Self>,
        name: String,
        source: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ScriptError>>>>;

    /// Keeps `f` for calls from the runtime and returns a `Send` handle.
    fn keep(&self, f: Self::Function) -> ScriptFunction {
        self.functions().keep(self.handle(), f)
    }
}

impl<E: ServedEngine> LocalEngine for E {
    fn engine_id(&self) -> u64 {
        self.handle().inner.id
    }

    fn start_call(
        &self,
        id: CallbackId,
        args: &CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Started {
        match self.functions().get(id) {
            Some(f) => self.call_function(f, args, deadline),
            None => Started::Done(Err(crate::HostError::new(
                "other",
                "the script function was released",
            ))),
        }
    }
}

/// The command loop of an engine thread: runs files and calls, each counted
/// as busy until it answers, until the engine is shut down.
pub(crate) async fn serve<E: ServedEngine>(
    engine: Rc<E>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let spin = engine.handle().inner.spin;
    loop {
        let next = spin_for(spin, || match rx.try_recv() {
            Ok(cmd) => Some(Some(cmd)),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => Some(None),
        })
        .await;
        let cmd = match next {
            Some(cmd) => cmd,
            None => rx.recv().await,
        };
        let Some(cmd) = cmd else { break };
        // Count the work as running before it stops counting as queued.
        let busy = BusyGuard::new(engine.handle());
        engine
            .handle()
            .inner
            .activity
            .pending
            .fetch_sub(1, Ordering::SeqCst);
        match cmd {
            Command::Run {
                name,
                source,
                reply,
            } => {
                let run = engine.clone().run_file(name, source);
                tokio::task::spawn_local(async move {
                    let r = run.await;
                    drop(busy);
                    let _ = reply.send(r);
                });
            }
            Command::Call {
                id,
                args,
                deadline,
                reply,
            } => match engine.start_call(id, &args, deadline) {
                Started::Done(r) => {
                    drop(busy);
                    let _ = reply.send(r);
                }
                Started::Waiting(rx) => {
                    tokio::task::spawn_local(async move {
                        let r = rx.await.unwrap_or_else(|_| {
                            Err(crate::HostError::new("other", "the call was dropped"))
                        });
                        drop(busy);
                        let _ = reply.send(r);
                    });
                }
            },
            Command::Release { id } => engine.functions().release(id),
            Command::Shutdown => break,
        }
    }
}

/// The stack of an engine thread: 64 MiB of address space, touched only as
/// deep as calls actually nest (script calls nest on it, a hook inside the
/// same script's `Tool.invoke`; room for [`calls::MAX_NESTED_CALLS`] levels in
/// debug builds).
const ENGINE_STACK_BYTES: usize = 64 << 20;

/// Starts an engine on a thread of its own ([`ENGINE_STACK_BYTES`] of
/// stack, a current-thread tokio runtime and a task set): `make` builds the engine
/// there, then the thread serves commands until shutdown. Returns the
/// handle once the engine is ready.
pub(crate) fn spawn_engine<E, F>(
    language: Language,
    spin: Duration,
    make: F,
) -> crate::Result<EngineHandle>
where
    E: ServedEngine,
    F: FnOnce(EngineHandle) -> Result<Rc<E>, String> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = EngineHandle::new(language, tx, spin);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let h = handle.clone();
    let thread = std::thread::Builder::new()
        .name(format!("llmspell-{language}"))
        .stack_size(ENGINE_STACK_BYTES)
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the engine's runtime: {e}")));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let engine = match make(h.clone()) {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                *h.inner.thread.lock() = Some(std::thread::current().id());
                install_local(engine.clone());
                let _ = ready_tx.send(Ok(()));
                serve(engine, rx).await;
                // Pull subscriptions end with their engine.
                h.inner.pulls.clear();
            });
        })
        .map_err(|e| crate::Error::Config {
            field: "engine",
            message: format!("cannot start the {language} engine thread: {e}"),
        })?;
    *handle.inner.join.lock() = Some(thread);
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(message)) => Err(crate::Error::Config {
            field: "engine",
            message,
        }),
        Err(_) => Err(crate::Error::EngineStopped(language.to_string())),
    }
}
