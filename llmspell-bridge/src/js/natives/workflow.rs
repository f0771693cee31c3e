//! The natives behind `Workflow` and workflow handles.

use boa_engine::{Context, JsValue, js_string};

use super::{
    NativeResult, arg, arg_json, arg_string, call_exec, engine, fail, handle, promise, to_js,
};
use crate::WorkflowKind;
use crate::js::conversion::to_script_value;
use crate::js::engine::JsEngine;

fn workflow_of(
    engine: &JsEngine,
    v: &JsValue,
) -> NativeResult<std::sync::Arc<dyn llmspell_core::Workflow>> {
    handle(
        &engine.handles.workflows,
        v,
        "workflow",
        "not a workflow of this runtime",
    )
}

pub(super) fn build(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let kind = WorkflowKind::named(&arg_string(&arg(args, 0), "workflow kind")?).map_err(fail)?;
    let ctor = format!("Workflow.{}", kind.as_str());
    let spec = to_script_value(&engine, &arg(args, 1), &ctor, ctx).map_err(fail)?;
    let workflow = engine.host.workflow_build(kind, &spec).map_err(fail)?;
    Ok(JsValue::from(engine.handles.workflow(workflow) as f64))
}

pub(super) fn execute(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let workflow = workflow_of(&engine, &arg(args, 0))?;
    let input = arg_json(&arg(args, 1), "wf.execute: argument 1 (the input)", ctx)?;
    let exec = call_exec(&arg(args, 2), "wf.execute: argument 2 (options)", ctx)?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.workflow_execute(&workflow, input, &exec).await
    })
}

pub(super) fn name(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let workflow = workflow_of(&engine, &arg(args, 0))?;
    Ok(js_string!(workflow.metadata().name()).into())
}

pub(super) fn list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    to_js(&engine()?.host.workflow_list(), ctx)
}

pub(super) fn get(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(
        &arg(args, 0),
        "Workflow.get: argument 1 (the workflow name)",
    )?;
    let Some(workflow) = engine.host.workflow_get(&name) else {
        return Ok(JsValue::null());
    };
    Ok(JsValue::from(engine.handles.workflow(workflow) as f64))
}
