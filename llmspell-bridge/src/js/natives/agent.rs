//! The natives behind `Agent`, agent handles and the `agent` argument of
//! handlers.

use std::rc::Rc;

use boa_engine::{Context, JsValue};
use serde_json::{Value, json};

use super::{
    JS, NativeResult, arg, arg_id, arg_json, arg_string, call_exec, engine, fail, handle, params,
    promise, to_js,
};
use crate::HostError;
use crate::js::conversion::to_script_value;
use crate::js::engine::JsEngine;

/// The argument a basic agent's handler receives: the prelude turns the
/// handle number into an agent-context object.
pub(crate) fn agent_context_arg(id: u64) -> JsValue {
    JsValue::from(id as f64)
}

fn agent_of(engine: &JsEngine, v: &JsValue) -> NativeResult<llmspell_agents::LifecycleAgent> {
    handle(
        &engine.handles.agents,
        v,
        "agent",
        "not an agent of this runtime",
    )
}

pub(super) fn create(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let spec = to_script_value(&engine, &arg(args, 0), "Agent.create", ctx).map_err(fail)?;
    let host = engine.host.clone();
    let weak = Rc::downgrade(&engine);
    drop(engine);
    promise(ctx, async move {
        let agent = host
            .agent_create(spec, JS)
            .await
            .map_err(|m| m.context("Agent.create"))?;
        let engine = weak
            .upgrade()
            .ok_or("the JavaScript engine is shutting down")?;
        Ok(json!(engine.handles.agent(agent)))
    })
}

pub(super) fn invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let input = arg_json(&arg(args, 1), "agent.invoke: argument 1 (the input)", ctx)?;
    let exec = call_exec(&arg(args, 2), "agent.invoke: argument 2 (options)", ctx)?;
    let host = engine.host.clone();
    drop(engine);
    promise(
        ctx,
        async move { host.agent_invoke(&agent, input, &exec).await },
    )
}

/// The tool name and parameters of `agent.invoke_tool` (arguments 2 and 3
/// of the native).
fn tool_args(args: &[JsValue], ctx: &mut Context) -> NativeResult<(String, Value)> {
    let name = arg_string(
        &arg(args, 1),
        "agent.invoke_tool: argument 1 (the tool name)",
    )?;
    let params = params(&arg(args, 2), "agent.invoke_tool: argument 2 (params)", ctx)?;
    Ok((name, params))
}

pub(super) fn invoke_tool(
    _: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let (name, params) = tool_args(args, ctx)?;
    let exec = call_exec(
        &arg(args, 3),
        "agent.invoke_tool: argument 3 (options)",
        ctx,
    )?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.agent_invoke_tool(&agent, &name, params, &exec).await
    })
}

pub(super) fn info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    to_js(
        &json!({ "name": agent.name(), "type": agent.kind(), "state": agent.state().as_str() }),
        ctx,
    )
}

pub(super) fn transition(
    _: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let op = arg_string(&arg(args, 1), "agent operation")?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.agent_transition(&agent, &op, JS).await?;
        Ok(Value::Bool(true))
    })
}

pub(super) fn list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    to_js(&engine()?.host.agent_list(), ctx)
}

pub(super) fn get(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(&arg(args, 0), "Agent.get: argument 1 (the agent name)")?;
    let Some(agent) = engine.host.agent_get(&name) else {
        return Ok(JsValue::null());
    };
    Ok(JsValue::from(engine.handles.agent(agent) as f64))
}

fn agent_context(engine: &JsEngine, v: &JsValue) -> NativeResult<llmspell_agents::AgentContext> {
    handle(
        &engine.handles.agent_contexts,
        v,
        "agent",
        "the agent's invocation has ended; use the agent handle instead",
    )
}

pub(super) fn ctx_info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    to_js(
        &json!({
            "name": cx.name(),
            "state": cx.state().as_str(),
            "attempt": cx.attempt(),
            "is_cancelled": cx.is_cancelled(),
            "parameters": Value::Object(cx.parameters().clone()),
            "correlation_id": cx.exec().correlation_id.to_string(),
        }),
        ctx,
    )
}

pub(super) fn ctx_invoke_tool(
    _: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    let (name, params) = tool_args(args, ctx)?;
    drop(engine);
    promise(ctx, async move {
        cx.invoke_tool(&name, params).await.map_err(HostError::from)
    })
}

pub(super) fn ctx_checkpoint(
    _: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    drop(engine);
    promise(ctx, async move {
        cx.checkpoint().await.map_err(|e| e.to_string())?;
        Ok(Value::Bool(true))
    })
}

pub(super) fn ctx_release(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let id = arg_id(&arg(args, 0), "agent")?;
    engine.handles.agent_contexts.borrow_mut().remove(&id);
    Ok(JsValue::undefined())
}
