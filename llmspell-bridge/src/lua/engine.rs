//! The Lua engine thread.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use llmspell_core::Language;
use mlua::{Function, HookTriggers, Lua, MultiValue, Value as LuaValue, VmState};

use super::conversion::{call_with_context, event_to_lua, json_to_lua, lua_to_json};
use super::{errors, globals, sandbox};
use crate::engine::{
    CallArgs, CallResult, Due, EngineHandle, Functions, ServedEngine, Started, finish_later,
    nested, not_json,
};
use crate::memory::{Mark, StopRequest};
use crate::{Host, Result, ScriptError};

/// How often (in VM instructions) running Lua code checks its deadline.
const DEADLINE_CHECK_EVERY: u32 = 1000;

thread_local! {
    /// Deadlines of the callbacks running on this engine thread, innermost
    /// last. Lua runs one coroutine at a time and callbacks nest (a hook runs
    /// inside the `Tool.invoke` of the callback that called it), so the top
    /// is the deadline of the code running now; an empty stack means no limit
    /// (main chunks).
    static DEADLINES: RefCell<Vec<(Instant, Duration)>> = const { RefCell::new(Vec::new()) };
    /// The engine's memory watch (`MemoryUsageHigh`).
    static MEMORY: RefCell<Option<MemoryWatch>> = const { RefCell::new(None) };
}

/// Watches a Lua state's memory against its high-water mark, and carries
/// stop requests of `MemoryUsageHigh` hooks to the running code.
struct MemoryWatch {
    host: Host,
    mark: Mark,
    limit: usize,
    stop: StopRequest,
}

impl MemoryWatch {
    /// Checked with the deadline: reports a crossing of the mark, and
    /// raises an error when a hook asked to stop.
    fn check(&mut self, lua: &Lua) -> mlua::Result<()> {
        let used = lua.used_memory() as u64;
        if self.mark.crossed(used) {
            crate::memory::report(
                &self.host,
                serde_json::json!({
                    "source": "lua",
                    "used_bytes": used,
                    "mark_bytes": self.mark.at(),
                    "limit_bytes": self.limit,
                }),
                vec![self.stop.clone()],
            );
        }
        match self.stop.lock().take() {
            Some(message) => Err(mlua::Error::runtime(message)),
            None => Ok(()),
        }
    }
}

/// A callback's future, its deadline in force whenever it is polled.
struct WithDeadline<F> {
    fut: Pin<Box<F>>,
    deadline: Option<Due>,
}

impl<F: Future> Future for WithDeadline<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.deadline {
            Some(d) => {
                DEADLINES.with(|s| s.borrow_mut().push(d));
                let r = self.fut.as_mut().poll(cx);
                DEADLINES.with(|s| s.borrow_mut().pop());
                r
            }
            None => self.fut.as_mut().poll(cx),
        }
    }
}

/// The instruction-count hook of every Lua thread: raises an error in code
/// running past the innermost deadline, so even a busy loop stops.
fn deadline_hook(lua: &Lua, _debug: &mlua::debug::Debug<'_>) -> mlua::Result<VmState> {
    MEMORY.with(|m| match m.borrow_mut().as_mut() {
        Some(watch) => watch.check(lua),
        None => Ok(()),
    })?;
    let over = DEADLINES
        .with(|s| s.borrow().last().copied())
        .filter(|(at, _)| Instant::now() >= *at);
    match over {
        Some((_, limit)) => Err(mlua::Error::runtime(format!(
            "time limit of {} ms exceeded",
            limit.as_millis()
        ))),
        None => Ok(VmState::Continue),
    }
}

/// Starts the Lua engine on its own thread and returns its handle once the
/// state is ready.
pub(crate) fn start(host: Host) -> Result<EngineHandle> {
    let spin = host.inner.config.handoff_spin;
    crate::engine::spawn_engine(Language::Lua, spin, move |handle| {
        LuaEngine::new(handle, host).map_err(|e| errors::message(&e))
    })
}

/// The Lua state and everything the runtime keeps in it.
pub(crate) struct LuaEngine {
    pub(crate) lua: Lua,
    pub(crate) handle: EngineHandle,
    pub(crate) host: Host,
    /// The functions kept for the runtime.
    functions: Functions<Function>,
}

impl LuaEngine {
    fn new(handle: EngineHandle, host: Host) -> mlua::Result<Rc<Self>> {
        let config = &host.inner.config;
        let lua = sandbox::new_lua(config.allow_unsafe, config.memory_limit)?;
        // Most values the host builds (hook contexts, events, results) die
        // young; the generational collector sweeps them without re-marking
        // the whole state (about 6% fewer instructions per hook call).
        lua.gc_set_mode(mlua::prelude::LuaGcMode::Generational(
            mlua::prelude::LuaGcGenParams::default(),
        ));
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(DEADLINE_CHECK_EVERY),
            deadline_hook,
        )?;
        let stop = StopRequest::default();
        host.inner.lua_stops.lock().push(stop.clone());
        let mark = (config.memory_limit as f64 * config.memory_high_water) as u64;
        MEMORY.with(|m| {
            *m.borrow_mut() = Some(MemoryWatch {
                host: host.clone(),
                mark: Mark::new(mark),
                limit: config.memory_limit,
                stop,
            });
        });
        let engine = Rc::new(LuaEngine {
            lua,
            handle,
            host,
            functions: Functions::default(),
        });
        super::conversion::install_context_call(&engine.lua)?;
        globals::install(&engine)?;
        Ok(engine)
    }

    async fn run_chunk(&self, name: &str, source: &str) -> std::result::Result<(), ScriptError> {
        let chunk = self.lua.load(source).set_name(format!("@{name}"));
        chunk
            .exec_async()
            .await
            .map_err(|e| errors::script_error(&e, name))
    }

    /// Starts a call of `f` with `args` as Lua values (not yet polled).
    fn start(
        &self,
        f: &Function,
        args: &CallArgs<'_>,
    ) -> mlua::Result<mlua::function::AsyncCallFuture<LuaValue>> {
        let args = match args {
            CallArgs::Context(ctx) => return call_with_context(&self.lua, f, ctx),
            CallArgs::Values(values) => {
                let mut v = Vec::with_capacity(values.len());
                for a in values {
                    v.push(json_to_lua(&self.lua, a)?);
                }
                MultiValue::from_vec(v)
            }
            CallArgs::Event(ev) => {
                MultiValue::from_vec(vec![LuaValue::Table(event_to_lua(&self.lua, ev)?)])
            }
            CallArgs::Agent(input, cx) => MultiValue::from_vec(vec![
                json_to_lua(&self.lua, input)?,
                LuaValue::UserData(
                    self.lua
                        .create_userdata(globals::agent::LuaAgentContext { cx: (**cx).clone() })?,
                ),
            ]),
        };
        Ok(f.call_async(args))
    }
}

fn convert(r: mlua::Result<LuaValue>) -> CallResult {
    match r {
        Ok(v) => lua_to_json(&v).map_err(not_json),
        Err(e) => Err(errors::callback_error(&e)),
    }
}

impl ServedEngine for LuaEngine {
    type Function = Function;

    fn handle(&self) -> &EngineHandle {
        &self.handle
    }

    fn host(&self) -> &Host {
        &self.host
    }

    fn functions(&self) -> &Functions<Function> {
        &self.functions
    }

    /// Runs `f` in a coroutine with `args`, interrupted once `deadline` has
    /// passed; returns at once if it finishes without waiting, else finishes
    /// it on the engine's task set.
    fn call_function(
        &self,
        f: Function,
        args: &CallArgs<'_>,
        deadline: Option<Duration>,
    ) -> Started {
        let call = match self.start(&f, args) {
            Ok(call) => call,
            Err(e) => return Started::Done(Err(errors::callback_error(&e))),
        };
        let mut fut = WithDeadline {
            fut: Box::pin(call),
            deadline: crate::engine::due(deadline),
        };
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        match nested(|| Pin::new(&mut fut).poll(&mut cx)) {
            Err(m) => Started::Done(Err(m)),
            Ok(Poll::Ready(r)) => Started::Done(convert(r)),
            Ok(Poll::Pending) => {
                let due = fut.deadline;
                finish_later(&self.handle, async move { convert(fut.await) }, due, || {})
            }
        }
    }

    fn run_file(
        self: Rc<Self>,
        name: String,
        source: String,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<(), ScriptError>>>> {
        Box::pin(async move { self.run_chunk(&name, &source).await })
    }
}
