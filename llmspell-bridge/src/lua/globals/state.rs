//! The `State` global: the session's values, kept across runs of a named
//! session.

use std::rc::Weak;

use mlua::{Lua, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, fail, function};
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let state = lua.create_table()?;

    let w = weak.clone();
    state.set(
        "get",
        function(lua, move |lua, key: LuaValue| {
            let host = engine(&w)?.host.clone();
            let key = arg_string(&key, "State.get: argument 1 (the key)")?;
            let v = host
                .state_get(&key)
                .map_err(|m| fail(format!("State.get: {m}")))?;
            json_to_lua(lua, &v)
        })?,
    )?;

    let w = weak.clone();
    state.set(
        "set",
        function(lua, move |_, (key, value): (LuaValue, LuaValue)| {
            let host = engine(&w)?.host.clone();
            let key = arg_string(&key, "State.set: argument 1 (the key)")?;
            let value = arg_json(&value, "State.set: argument 2 (the value)")?;
            host.state_set(&key, value)
                .map(|()| true)
                .map_err(|m| fail(format!("State.set: {m}")))
        })?,
    )?;

    let w = weak.clone();
    state.set(
        "delete",
        function(lua, move |_, key: LuaValue| {
            let host = engine(&w)?.host.clone();
            let key = arg_string(&key, "State.delete: argument 1 (the key)")?;
            host.state_delete(&key)
                .map_err(|m| fail(format!("State.delete: {m}")))
        })?,
    )?;

    let w = weak.clone();
    state.set(
        "keys",
        function(lua, move |lua, ()| {
            let host = engine(&w)?.host.clone();
            json_to_lua(lua, &host.state_keys())
        })?,
    )?;

    let w = weak;
    state.set(
        "save",
        async_function(lua, move |_, ()| {
            let w = w.clone();
            async move {
                let host = engine(&w)?.host.clone();
                host.state_save()
                    .await
                    .map_err(|m| fail(format!("State.save: {m}")))
            }
        })?,
    )?;

    lua.globals().set("State", state)
}
