//! The globals Lua scripts see.
//!
//! `Hook`, `Event`, `Tool`, `JSON`, `print` and `llmspell`, as
//! `SCRIPT_API.md` specifies them. Each global is a table of functions;
//! handles (hooks, subscriptions) are userdata with methods.

mod event;
mod hook;
mod json;
mod tool;

use std::future::Future;
use std::rc::{Rc, Weak};

use mlua::{FromLuaMulti, Function, IntoLua, Lua, Value as LuaValue};
use serde_json::Value;

use super::conversion::lua_to_json;
use super::engine::LuaEngine;
use super::errors;

/// Wraps a raw host function returning `(ok, value_or_message)` so that a
/// failure is raised with `error(message, 2)`: the message then carries the
/// script's `file:line`, for uncaught errors and for `pcall` alike.
fn wrap(lua: &Lua, raw: Function) -> mlua::Result<Function> {
    lua.load(
        r#"
        local raw = ...
        return function(...)
            local ok, v = raw(...)
            if ok then return v end
            error(v, 2)
        end
        "#,
    )
    .set_name("=llmspell")
    .call(raw)
}

fn outcome<R: IntoLua>(lua: &Lua, r: mlua::Result<R>) -> mlua::Result<(bool, LuaValue)> {
    match r {
        Ok(v) => Ok((true, v.into_lua(lua)?)),
        Err(e) => Ok((
            false,
            LuaValue::String(lua.create_string(errors::message(&e))?),
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

/// An async script-facing function (the calling coroutine waits) whose
/// errors point at the calling line.
pub(super) fn async_function<A, R, F, Fut>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    A: FromLuaMulti + 'static,
    R: IntoLua + 'static,
    F: Fn(Lua, A) -> Fut + 'static,
    Fut: Future<Output = mlua::Result<R>> + 'static,
{
    let raw = lua.create_async_function(move |lua, args: A| {
        let fut = f(lua.clone(), args);
        async move { outcome(&lua, fut.await) }
    })?;
    wrap(lua, raw)
}

/// Installs every global into the engine's state.
pub(crate) fn install(engine: &Rc<LuaEngine>) -> mlua::Result<()> {
    let lua = &engine.lua;
    let weak = Rc::downgrade(engine);
    hook::install(lua, weak.clone())?;
    event::install(lua, weak.clone())?;
    tool::install(lua, weak)?;
    json::install(lua)?;
    install_print(lua)?;
    let llmspell = lua.create_table()?;
    llmspell.set("version", env!("CARGO_PKG_VERSION"))?;
    lua.globals().set("llmspell", llmspell)?;
    Ok(())
}

fn install_print(lua: &Lua) -> mlua::Result<()> {
    let print = lua.create_function(|lua, args: mlua::MultiValue| {
        let tostring: mlua::Function = lua.globals().get("tostring")?;
        let mut parts = Vec::with_capacity(args.len());
        for a in args {
            parts.push(tostring.call::<String>(a)?);
        }
        println!("{}", parts.join("\t"));
        Ok(())
    })?;
    lua.globals().set("print", print)
}

/// The engine behind a global, or an error if it is shutting down.
pub(super) fn engine(weak: &Weak<LuaEngine>) -> mlua::Result<Rc<LuaEngine>> {
    weak.upgrade()
        .ok_or_else(|| mlua::Error::runtime("the Lua engine is shutting down"))
}

/// A script-facing error.
pub(super) fn fail(message: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(message.into())
}

/// Converts an argument to JSON, naming the function and argument on error.
pub(super) fn arg_json(value: &LuaValue, what: &str) -> mlua::Result<Value> {
    lua_to_json(value).map_err(|e| fail(format!("{what}: {e}")))
}

/// The Lua type name of a value, for messages.
pub(super) fn type_of(value: &LuaValue) -> &'static str {
    value.type_name()
}

/// A string argument or a clear error.
pub(super) fn arg_string(value: &LuaValue, what: &str) -> mlua::Result<String> {
    match value {
        LuaValue::String(s) => Ok(s.to_str()?.to_string()),
        other => Err(fail(format!(
            "{what} must be a string, got {}",
            type_of(other)
        ))),
    }
}
