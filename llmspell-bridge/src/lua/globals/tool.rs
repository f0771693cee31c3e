//! The `Tool` global.

use std::rc::Weak;

use llmspell_core::Language;
use mlua::{Function, Lua, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, engine_function, fail, type_of};
use crate::engine::ServedEngine;
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let tool = lua.create_table()?;
    let w = weak.clone();
    tool.set(
        "list",
        async_function(lua, move |lua, ()| {
            let w = w.clone();
            async move {
                let host = engine(&w)?.host.clone();
                let list = host
                    .tool_list(Language::Lua)
                    .await
                    .map_err(|m| fail(m.context("Tool.list")))?;
                json_to_lua(&lua, &list)
            }
        })?,
    )?;
    tool.set(
        "info",
        engine_function(lua, &weak, |lua, engine, name: LuaValue| {
            let name = arg_string(&name, "Tool.info: argument 1 (the tool name)")?;
            let info = engine
                .host
                .tool_info(&name)
                .map_err(|m| fail(m.context("Tool.info")))?;
            json_to_lua(lua, &info)
        })?,
    )?;
    tool.set("invoke", invoke(lua, weak.clone())?)?;
    tool.set("register", register(lua, &weak)?)?;
    lua.globals().set("Tool", tool)
}

/// `Tool.invoke(name, params, options)`: the tool's output.
fn invoke(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    async_function(
        lua,
        move |lua, (name, params, opts): (LuaValue, LuaValue, LuaValue)| {
            let w = weak.clone();
            async move {
                let host = engine(&w)?.host.clone();
                let name = arg_string(&name, "Tool.invoke: argument 1 (the tool name)")?;
                let params = match params {
                    LuaValue::Nil => serde_json::json!({}),
                    other => arg_json(&other, "Tool.invoke: argument 2 (params)")?,
                };
                let exec = super::call_exec(&opts, "Tool.invoke: argument 3 (options)")?;
                let out = host.tool_invoke(&name, params, &exec).await.map_err(fail)?;
                json_to_lua(&lua, &out)
            }
        },
    )
}

/// `Tool.register { name, description, parameters, handler, ... }`.
fn register(lua: &Lua, weak: &Weak<LuaEngine>) -> mlua::Result<Function> {
    engine_function(lua, weak, |_, engine, spec: LuaValue| {
        let table = match &spec {
            LuaValue::Table(t) => t.clone(),
            other => {
                return Err(fail(format!(
                    "Tool.register takes a table, got {}",
                    type_of(other)
                )));
            }
        };
        let handler = match table.get::<LuaValue>("handler")? {
            LuaValue::Function(f) => f,
            other => {
                return Err(fail(format!(
                    "Tool.register: `handler` must be a function, got {}",
                    type_of(&other)
                )));
            }
        };
        let mut spec_json = serde_json::Map::new();
        for pair in table.pairs::<String, LuaValue>() {
            let (key, value) =
                pair.map_err(|_| fail("Tool.register: field names must be strings"))?;
            if key != "handler" {
                spec_json.insert(
                    key.clone(),
                    arg_json(&value, &format!("Tool.register: `{key}`"))?,
                );
            }
        }
        let spec_json = serde_json::Value::Object(spec_json);
        let function = engine.keep(handler);
        engine
            .host
            .tool_register(&spec_json, function)
            .map_err(|m| fail(m.context("Tool.register")))?;
        Ok(true)
    })
}
