//! The natives behind `Tool`.

use boa_engine::{Context, JsValue};

use super::{
    JS, NativeResult, arg, arg_json, arg_string, call_exec, engine, fail, params, promise, to_js,
};
use crate::engine::ServedEngine;

pub(super) fn list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    promise(ctx, async move {
        host.tool_list(JS).await.map_err(|m| m.context("Tool.list"))
    })
}

pub(super) fn info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(&arg(args, 0), "Tool.info: argument 1 (the tool name)")?;
    let info = engine
        .host
        .tool_info(&name)
        .map_err(|m| fail(m.context("Tool.info")))?;
    to_js(&info, ctx)
}

pub(super) fn invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let name = arg_string(&arg(args, 0), "Tool.invoke: argument 1 (the tool name)")?;
    let params = params(&arg(args, 1), "Tool.invoke: argument 2 (params)", ctx)?;
    let exec = call_exec(&arg(args, 2), "Tool.invoke: argument 3 (options)", ctx)?;
    promise(
        ctx,
        async move { host.tool_invoke(&name, params, &exec).await },
    )
}

pub(super) fn register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let spec = arg_json(&arg(args, 0), "Tool.register", ctx)?;
    let handler = arg(args, 1)
        .as_callable()
        .ok_or_else(|| fail("Tool.register: `handler` must be a function"))?;
    let function = engine.keep(handler);
    engine
        .host
        .tool_register(&spec, function)
        .map_err(|m| fail(m.context("Tool.register")))?;
    Ok(true.into())
}
