//! The natives behind `State`.

use boa_engine::{Context, JsValue};
use serde_json::Value;

use super::{NativeResult, arg, arg_json, arg_string, engine, fail, promise, to_js};

pub(super) fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.get: argument 1 (the key)")?;
    let v = host
        .state_get(&key)
        .map_err(|m| fail(m.context("State.get")))?;
    to_js(&v, ctx)
}

pub(super) fn set(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.set: argument 1 (the key)")?;
    let value = match arg(args, 1) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "State.set: argument 2 (the value)", ctx)?,
    };
    host.state_set(&key, value)
        .map_err(|m| fail(m.context("State.set")))?;
    Ok(true.into())
}

pub(super) fn delete(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.delete: argument 1 (the key)")?;
    host.state_delete(&key)
        .map(JsValue::from)
        .map_err(|m| fail(m.context("State.delete")))
}

pub(super) fn keys(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    to_js(&host.state_keys(), ctx)
}

pub(super) fn save(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    promise(ctx, async move {
        host.state_save()
            .await
            .map(Value::from)
            .map_err(|m| m.context("State.save"))
    })
}
