//! The natives behind `Trace`.

use boa_engine::{Context, JsValue};
use serde_json::Value;

use super::{NativeResult, arg, arg_json, arg_string, engine, fail, promise, to_js};

/// The trace id argument of `Trace.<name>`.
fn id(args: &[JsValue], name: &str) -> NativeResult<String> {
    arg_string(
        &arg(args, 0),
        &format!("Trace.{name}: argument 1 (a trace or correlation id)"),
    )
}

pub(super) fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let id = id(args, "get")?;
    promise(ctx, async move {
        host.trace_json(&id)
            .await
            .map_err(|m| m.context("Trace.get"))
    })
}

pub(super) fn analyse(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let id = id(args, "analyse")?;
    let opts = match arg(args, 1) {
        v if v.is_null_or_undefined() => Value::Null,
        v => arg_json(&v, "Trace.analyse: argument 2 (options)", ctx)?,
    };
    promise(ctx, async move {
        host.trace_analysis(&id, &opts)
            .await
            .map_err(|m| m.context("Trace.analyse"))
    })
}

pub(super) fn render(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let id = id(args, "render")?;
    promise(ctx, async move {
        host.trace_text(&id)
            .await
            .map_err(|m| m.context("Trace.render"))
    })
}

pub(super) fn recent(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let limit = match arg(args, 0) {
        v if v.is_null_or_undefined() => 20,
        v => match v.as_number() {
            Some(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => {
                return Err(fail(format!(
                    "Trace.recent: argument 1 (how many) must be a positive integer, got {}",
                    v.display()
                )));
            }
        },
    };
    to_js(&host.recent_traces(limit), ctx)
}
