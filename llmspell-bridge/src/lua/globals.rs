//! The globals Lua scripts see.
//!
//! `Hook`, `Event`, `Tool`, `Agent`, `Workflow`, `State`, `Trace`, `JSON`, `print`
//! and `llmspell`, as `docs/user-guide/lua-api.md` documents them. Each global is a table of functions;
//! handles (hooks, subscriptions) are userdata with methods.

pub(crate) mod agent;
mod event;
mod hook;
mod json;
mod spec;
mod state;
mod tool;
mod trace;
mod workflow;

use std::future::Future;
use std::rc::{Rc, Weak};

use mlua::{FromLuaMulti, Function, IntoLua, Lua, Value as LuaValue};
use serde_json::Value;

use super::conversion::lua_to_json;
use super::engine::LuaEngine;
use super::errors;
use crate::HostError;

/// Wraps a raw host function returning `(ok, value_or_error)` so that a
/// failure is raised at the caller: the error table's message then carries
/// the script's `file:line`, for uncaught errors and for `pcall` alike.
fn wrap(lua: &Lua, raw: Function) -> mlua::Result<Function> {
    lua.load(
        r#"
        local raw, raise = ...
        return function(...)
            local ok, v = raw(...)
            if ok then return v end
            raise(v)
        end
        "#,
    )
    .set_name("=llmspell")
    .call((raw, errors::raiser(lua)?))
}

/// A host function's answer as the wrappers take it: `(true, value)`, or
/// `(false, error table)`.
fn outcome<R: IntoLua>(lua: &Lua, r: mlua::Result<R>) -> mlua::Result<(bool, LuaValue)> {
    match r {
        Ok(v) => Ok((true, v.into_lua(lua)?)),
        Err(e) => Ok((
            false,
            LuaValue::Table(errors::error_table(lua, &errors::host_error(&e))?),
        )),
    }
}

/// A script-facing function whose errors point at the calling line.
pub(super) fn function<A, R, F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    A: FromLuaMulti,
    R: IntoLua,
    F: Fn(&Lua, A) -> mlua::Result<R> + 'static,
{
    let raw = lua.create_function(move |lua, args: A| outcome(lua, f(lua, args)))?;
    wrap(lua, raw)
}

/// A global's function that reaches its engine: `f` receives the engine (a
/// script-facing error if it is shutting down) and the arguments.
pub(super) fn engine_function<A, R, F>(
    lua: &Lua,
    weak: &Weak<LuaEngine>,
    f: F,
) -> mlua::Result<Function>
where
    A: FromLuaMulti,
    R: IntoLua,
    F: Fn(&Lua, &Rc<LuaEngine>, A) -> mlua::Result<R> + 'static,
{
    let weak = weak.clone();
    function(lua, move |lua, args: A| f(lua, &engine(&weak)?, args))
}

type Pending = std::pin::Pin<Box<dyn Future<Output = mlua::Result<LuaValue>>>>;

thread_local! {
    /// Host calls that had to wait, parked between the synchronous attempt
    /// and the asynchronous finish (see [`async_function`]).
    static PARKED: std::cell::RefCell<(u64, std::collections::HashMap<u64, Pending>)> =
        std::cell::RefCell::new((0, std::collections::HashMap::new()));
}

/// An async script-facing function whose errors point at the calling line.
///
/// Most host calls (a tool call whose hooks are Lua functions that do not
/// wait, a publish with room in every queue) finish without waiting, and
/// mlua's async machinery costs a few microseconds per call. So the call is
/// first run synchronously, polled once; only if it has to wait is it parked
/// and finished through an async function, the calling coroutine yielding
/// as usual meanwhile.
pub(super) fn async_function<A, R, F, Fut>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    A: FromLuaMulti + 'static,
    R: IntoLua + 'static,
    F: Fn(Lua, A) -> Fut + 'static,
    Fut: Future<Output = mlua::Result<R>> + 'static,
{
    async_function_settled_by(lua, f, SETTLE)
}

/// How an [`async_function`] hands its outcome to the script: the value, or
/// the error raised at the calling line.
const SETTLE: &str = r#"
local try_now, finish, raise = ...
return function(...)
    local ok, v = try_now(...)
    if ok == nil then ok, v = finish(v) end
    if ok then return v end
    raise(v)
end
"#;

/// [`async_function`] with a Lua wrapper of its own (`settle`, a chunk that
/// receives `try_now, finish, raise` and returns the script-facing
/// function), for functions that finish their result in Lua.
pub(super) fn async_function_settled_by<A, R, F, Fut>(
    lua: &Lua,
    f: F,
    settle: &str,
) -> mlua::Result<Function>
where
    A: FromLuaMulti + 'static,
    R: IntoLua + 'static,
    F: Fn(Lua, A) -> Fut + 'static,
    Fut: Future<Output = mlua::Result<R>> + 'static,
{
    let try_now = lua.create_function(move |lua, args: A| {
        let fut = f(lua.clone(), args);
        let owner = lua.clone();
        let mut fut: Pending = Box::pin(async move {
            let v = fut.await?;
            v.into_lua(&owner)
        });
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => {
                let (ok, v) = outcome(lua, r)?;
                Ok((LuaValue::Boolean(ok), v))
            }
            std::task::Poll::Pending => {
                let token = PARKED.with(|p| {
                    let mut p = p.borrow_mut();
                    p.0 += 1;
                    let token = p.0;
                    p.1.insert(token, fut);
                    token
                });
                Ok((LuaValue::Nil, LuaValue::Integer(token as i64)))
            }
        }
    })?;
    let finish = lua.create_async_function(|lua, token: i64| async move {
        let parked = PARKED.with(|p| p.borrow_mut().1.remove(&(token as u64)));
        match parked {
            Some(fut) => outcome(&lua, fut.await),
            None => outcome::<LuaValue>(&lua, Err(fail("internal: a parked host call was lost"))),
        }
    })?;
    lua.load(settle)
        .set_name("=llmspell")
        .call((try_now, finish, errors::raiser(lua)?))
}

/// Installs every global into the engine's state.
pub(crate) fn install(engine: &Rc<LuaEngine>) -> mlua::Result<()> {
    let lua = &engine.lua;
    let weak = Rc::downgrade(engine);
    errors::install(lua)?;
    hook::install(lua, weak.clone())?;
    event::install(lua, weak.clone())?;
    tool::install(lua, weak.clone())?;
    agent::install(lua, weak.clone())?;
    state::install(lua, weak.clone())?;
    trace::install(lua, weak.clone())?;
    workflow::install(lua, weak)?;
    json::install(lua)?;
    install_print(lua)?;
    let llmspell = lua.create_table()?;
    llmspell.set("version", env!("CARGO_PKG_VERSION"))?;
    llmspell.set("sleep", sleep_function(lua)?)?;
    let args = lua.create_sequence_from(engine.host.inner.config.script_args.iter().cloned())?;
    args.set_metatable(Some(mlua::LuaSerdeExt::array_metatable(lua)))?;
    llmspell.set("args", args)?;
    llmspell.set("session", engine.host.session_name())?;
    lua.globals().set("llmspell", llmspell)?;
    Ok(())
}

/// `llmspell.sleep(ms)`: pauses the calling script for `ms` milliseconds
/// (0: just lets waiting callbacks run), delivering callbacks meanwhile.
fn sleep_function(lua: &Lua) -> mlua::Result<Function> {
    // Not `async_function`: its synchronous first attempt would swallow the
    // yield of `sleep(0)`; this one always suspends the calling coroutine.
    let raw = lua.create_async_function(|lua, ms: LuaValue| async move {
        match crate::engine::sleep(millis(&ms)) {
            Ok(pause) => {
                pause.await;
                outcome(&lua, Ok(true))
            }
            Err(m) => outcome::<bool>(&lua, Err(fail(m))),
        }
    })?;
    wrap(lua, raw)
}

fn install_print(lua: &Lua) -> mlua::Result<()> {
    let print = lua.create_function(|lua, args: mlua::MultiValue| {
        let tostring: mlua::Function = lua.globals().get("tostring")?;
        let mut parts = Vec::with_capacity(args.len());
        for a in args {
            parts.push(tostring.call::<String>(a)?);
        }
        // A closed stdout (`llmspell run x.lua | head`) must not stop the
        // script; the line is dropped.
        use std::io::Write;
        let mut line = parts.join("\t");
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
        Ok(())
    })?;
    lua.globals().set("print", print)
}

/// The engine behind a global, or an error if it is shutting down.
pub(super) fn engine(weak: &Weak<LuaEngine>) -> mlua::Result<Rc<LuaEngine>> {
    weak.upgrade()
        .ok_or_else(|| fail(HostError::new("other", "the Lua engine is shutting down")))
}

/// A script-facing error: a [`HostError`], or a message about a wrong
/// argument (`invalid_input`).
pub(super) fn fail(e: impl Into<HostError>) -> mlua::Error {
    mlua::Error::external(e.into())
}

/// Converts an argument to JSON, naming the function and argument on error.
pub(super) fn arg_json(value: &LuaValue, what: &str) -> mlua::Result<Value> {
    lua_to_json(value).map_err(|e| fail(format!("{what}: {e}")))
}

/// A number of milliseconds as [`crate::engine::Millis`] reads it.
pub(super) fn millis(value: &LuaValue) -> crate::engine::Millis {
    use crate::engine::Millis;
    match value {
        LuaValue::Nil => Millis::Absent,
        LuaValue::Integer(i) => Millis::Number(*i as f64),
        LuaValue::Number(n) => Millis::Number(*n),
        other => Millis::Other(type_of(other)),
    }
}

/// The Lua type name of a value, for messages.
pub(super) fn type_of(value: &LuaValue) -> &'static str {
    match value {
        // Lua's own `type()` says "number" for both.
        LuaValue::Integer(_) | LuaValue::Number(_) => "number",
        LuaValue::UserData(_) | LuaValue::LightUserData(_) => "userdata",
        other => other.type_name(),
    }
}

/// The execution context of a Lua call given `opts` (`nil` or a table of
/// [`CallOptions`](crate::host::CallOptions) without `component`).
pub(super) fn call_exec(
    opts: &LuaValue,
    what: &str,
) -> mlua::Result<llmspell_core::ExecutionContext> {
    let options = match opts {
        LuaValue::Nil => crate::host::CallOptions::default(),
        other => crate::host::CallOptions::parse(&arg_json(other, what)?, false)
            .map_err(|m| fail(m.context(what)))?,
    };
    Ok(options.exec(llmspell_core::Language::Lua))
}

/// A string argument or a clear error.
pub(super) fn arg_string(value: &LuaValue, what: &str) -> mlua::Result<String> {
    arg_str(value, what).map(|s| String::from(&*s))
}

/// A string argument, borrowed from Lua (no copy), or a clear error.
pub(super) fn arg_str(value: &LuaValue, what: &str) -> mlua::Result<mlua::BorrowedStr> {
    match value {
        LuaValue::String(s) => s.to_str(),
        other => Err(fail(format!(
            "{what} must be a string, got {}",
            type_of(other)
        ))),
    }
}
