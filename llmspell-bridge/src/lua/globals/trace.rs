//! The `Trace` global: correlation traces (the operations of one trace and
//! the hook firings inside each) and their analysis.

use std::rc::Weak;

use mlua::{Lua, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, engine_function, fail};
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;

/// `Trace.get/analyse/render(id, …)`: one async host call on a trace id.
fn by_id(lua: &Lua, weak: &Weak<LuaEngine>, name: &'static str) -> mlua::Result<mlua::Function> {
    let weak = weak.clone();
    async_function(lua, move |lua, (id, opts): (LuaValue, LuaValue)| {
        let w = weak.clone();
        async move {
            let what = format!("Trace.{name}");
            let id = arg_string(
                &id,
                &format!("{what}: argument 1 (a trace or correlation id)"),
            )?;
            let opts = arg_json(&opts, &format!("{what}: argument 2 (options)"))?;
            let host = engine(&w)?.host.clone();
            let v = match name {
                "get" => host.trace_json(&id).await,
                "analyse" => host.trace_analysis(&id, &opts).await,
                _ => host.trace_text(&id).await,
            }
            .map_err(|m| fail(m.context(&what)))?;
            json_to_lua(&lua, &v)
        }
    })
}

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let trace = lua.create_table()?;
    trace.set("get", by_id(lua, &weak, "get")?)?;
    trace.set("analyse", by_id(lua, &weak, "analyse")?)?;
    trace.set("render", by_id(lua, &weak, "render")?)?;
    trace.set(
        "recent",
        engine_function(lua, &weak, |lua, engine, limit: Option<i64>| {
            let limit = match limit {
                None => 20,
                Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
                Some(n) => {
                    return Err(fail(format!(
                        "Trace.recent: argument 1 (how many) must be a positive integer, got {n}"
                    )));
                }
            };
            json_to_lua(lua, &engine.host.recent_traces(limit))
        })?,
    )?;
    lua.globals().set("Trace", trace)
}
