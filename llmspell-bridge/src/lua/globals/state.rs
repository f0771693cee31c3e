//! The `State` global: the session's values, kept across runs of a named
//! session.

use std::rc::Weak;

use mlua::{Lua, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, engine_function, fail};
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let state = lua.create_table()?;
    state.set(
        "get",
        engine_function(lua, &weak, |lua, engine, key: LuaValue| {
            let key = arg_string(&key, "State.get: argument 1 (the key)")?;
            let v = engine
                .host
                .state_get(&key)
                .map_err(|m| fail(m.context("State.get")))?;
            json_to_lua(lua, &v)
        })?,
    )?;
    state.set(
        "set",
        engine_function(
            lua,
            &weak,
            |_, engine, (key, value): (LuaValue, LuaValue)| {
                let key = arg_string(&key, "State.set: argument 1 (the key)")?;
                let value = arg_json(&value, "State.set: argument 2 (the value)")?;
                engine
                    .host
                    .state_set(&key, value)
                    .map(|()| true)
                    .map_err(|m| fail(m.context("State.set")))
            },
        )?,
    )?;
    state.set(
        "delete",
        engine_function(lua, &weak, |_, engine, key: LuaValue| {
            let key = arg_string(&key, "State.delete: argument 1 (the key)")?;
            engine
                .host
                .state_delete(&key)
                .map_err(|m| fail(m.context("State.delete")))
        })?,
    )?;
    state.set(
        "keys",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.state_keys())
        })?,
    )?;
    state.set(
        "save",
        async_function(lua, move |_, ()| {
            let w = weak.clone();
            async move {
                let host = engine(&w)?.host.clone();
                host.state_save()
                    .await
                    .map_err(|m| fail(m.context("State.save")))
            }
        })?,
    )?;
    lua.globals().set("State", state)
}
