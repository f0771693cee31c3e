//! The `Agent` global, agent handles, and the `agent` argument of handlers.

use std::rc::Weak;

use llmspell_agents::{AgentContext, LifecycleAgent};
use llmspell_core::Language;
use mlua::{AnyUserData, Lua, Table, UserData, UserDataFields, UserDataMethods, Value as LuaValue};

use super::spec::to_script_value;
use super::{arg_json, arg_string, async_function, call_exec, engine, engine_function, fail};
use crate::Host;
use crate::lua::conversion::json_to_lua;
use crate::lua::engine::LuaEngine;

/// `a = Agent.create(...)`: `a.name`, `a:invoke(input)`,
/// `a:invoke_tool(name, params)`, `a:state()`, `a:pause()`, `a:resume()`,
/// `a:terminate()`.
pub(crate) struct LuaAgent {
    pub(crate) agent: LifecycleAgent,
    pub(crate) host: Host,
}

/// The `agent` a basic agent's handler receives: `agent.name`,
/// `agent:invoke_tool(name, params)` (attributed to this invocation),
/// `agent:parameters()`, `agent:state()`, `agent:is_cancelled()`,
/// `agent:checkpoint()`.
pub(crate) struct LuaAgentContext {
    pub(crate) cx: AgentContext,
}

fn params_or_empty(params: LuaValue, what: &str) -> mlua::Result<serde_json::Value> {
    match params {
        LuaValue::Nil => Ok(serde_json::json!({})),
        other => arg_json(&other, what),
    }
}

fn handle_methods(lua: &Lua) -> mlua::Result<Table> {
    let methods = lua.create_table()?;
    methods.set(
        "invoke",
        async_function(
            lua,
            |lua, (this, input, opts): (AnyUserData, LuaValue, LuaValue)| async move {
                let (agent, host) = {
                    let a = this.borrow::<LuaAgent>()?;
                    (a.agent.clone(), a.host.clone())
                };
                let input = arg_json(&input, "agent:invoke: argument 1 (the input)")?;
                let exec = call_exec(&opts, "agent:invoke: argument 2 (options)")?;
                let out = host
                    .agent_invoke(&agent, input, &exec)
                    .await
                    .map_err(fail)?;
                json_to_lua(&lua, &out)
            },
        )?,
    )?;
    let invoke_tool = async_function(
        lua,
        |lua, (this, name, params, opts): (AnyUserData, LuaValue, LuaValue, LuaValue)| async move {
            let (agent, host) = {
                let a = this.borrow::<LuaAgent>()?;
                (a.agent.clone(), a.host.clone())
            };
            let name = arg_string(&name, "agent:invoke_tool: argument 1 (the tool name)")?;
            let params = params_or_empty(params, "agent:invoke_tool: argument 2 (params)")?;
            let exec = call_exec(&opts, "agent:invoke_tool: argument 3 (options)")?;
            let out = host
                .agent_invoke_tool(&agent, &name, params, &exec)
                .await
                .map_err(fail)?;
            json_to_lua(&lua, &out)
        },
    )?;
    methods.set("invoke_tool", invoke_tool.clone())?;
    methods.set("invokeTool", invoke_tool)?;
    for op in ["pause", "resume", "terminate"] {
        methods.set(
            op,
            async_function(lua, move |_, this: AnyUserData| async move {
                let (agent, host) = {
                    let a = this.borrow::<LuaAgent>()?;
                    (a.agent.clone(), a.host.clone())
                };
                host.agent_transition(&agent, op, Language::Lua)
                    .await
                    .map_err(fail)?;
                Ok(true)
            })?,
        )?;
    }
    Ok(methods)
}

impl UserData for LuaAgent {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("name", |_, this| Ok(this.agent.name().to_owned()));
        fields.add_meta_field_with("__index", handle_methods);
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("state", |_, this, ()| Ok(this.agent.state().as_str()));
        methods.add_method("type", |_, this, ()| Ok(this.agent.kind().to_owned()));
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!(
                "Agent({}, {})",
                this.agent.name(),
                this.agent.state().as_str()
            ))
        });
    }
}

fn context_methods(lua: &Lua) -> mlua::Result<Table> {
    let methods = lua.create_table()?;
    let invoke_tool = async_function(
        lua,
        |lua, (this, name, params): (AnyUserData, LuaValue, LuaValue)| async move {
            let cx = this.borrow::<LuaAgentContext>()?.cx.clone();
            let name = arg_string(&name, "agent:invoke_tool: argument 1 (the tool name)")?;
            let params = params_or_empty(params, "agent:invoke_tool: argument 2 (params)")?;
            let out = cx.invoke_tool(&name, params).await.map_err(fail)?;
            json_to_lua(&lua, &out)
        },
    )?;
    methods.set("invoke_tool", invoke_tool.clone())?;
    methods.set("invokeTool", invoke_tool)?;
    methods.set(
        "checkpoint",
        async_function(lua, |_, this: AnyUserData| async move {
            let cx = this.borrow::<LuaAgentContext>()?.cx.clone();
            cx.checkpoint().await.map_err(fail)?;
            Ok(true)
        })?,
    )?;
    Ok(methods)
}

impl UserData for LuaAgentContext {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("name", |_, this| Ok(this.cx.name().to_owned()));
        fields.add_meta_field_with("__index", context_methods);
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("state", |_, this, ()| Ok(this.cx.state().as_str()));
        methods.add_method("attempt", |_, this, ()| Ok(this.cx.attempt()));
        methods.add_method("is_cancelled", |_, this, ()| Ok(this.cx.is_cancelled()));
        methods.add_method("parameters", |lua, this, ()| {
            json_to_lua(
                lua,
                &serde_json::Value::Object(this.cx.parameters().clone()),
            )
        });
        methods.add_method("correlation_id", |_, this, ()| {
            Ok(this.cx.exec().correlation_id.to_string())
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("AgentContext({})", this.cx.name()))
        });
    }
}

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let agent = lua.create_table()?;

    let w = weak.clone();
    agent.set(
        "create",
        async_function(lua, move |_, spec: LuaValue| {
            let w = w.clone();
            async move {
                let engine = engine(&w)?;
                let spec = to_script_value(&engine, &spec, "Agent.create")?;
                let host = engine.host.clone();
                drop(engine);
                let agent = host
                    .agent_create(spec, Language::Lua)
                    .await
                    .map_err(|m| fail(m.context("Agent.create")))?;
                Ok(LuaAgent { agent, host })
            }
        })?,
    )?;

    agent.set(
        "list",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.agent_list())
        })?,
    )?;

    agent.set(
        "get",
        engine_function(lua, &weak, |lua, engine, name: LuaValue| {
            let name = arg_string(&name, "Agent.get: argument 1 (the agent name)")?;
            match engine.host.agent_get(&name) {
                Some(agent) => Ok(LuaValue::UserData(lua.create_userdata(LuaAgent {
                    agent,
                    host: engine.host.clone(),
                })?)),
                None => Ok(LuaValue::Nil),
            }
        })?,
    )?;

    lua.globals().set("Agent", agent)
}
