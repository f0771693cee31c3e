//! The natives behind `Hook`.

use boa_engine::{Context, JsValue, js_string};
use serde_json::{Value, json};

use super::{
    JS, NativeResult, arg, arg_json, arg_string, engine, fail, promise_with, to_js, type_of,
};
use crate::engine::ServedEngine;
use crate::host::CallOptions;
use crate::js::conversion::json_to_js;

pub(super) fn register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let point = arg_string(&arg(args, 0), "Hook.register: argument 1 (the hook point)")?;
    let f = match arg(args, 1).as_callable() {
        Some(f) => f,
        None => {
            return Err(fail(format!(
                "Hook.register: argument 2 must be a function, got {}",
                type_of(&arg(args, 1))
            )));
        }
    };
    let opts = match arg(args, 2) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.register: argument 3 (options)", ctx)?,
    };
    let function = engine.keep(f);
    let (id, point) = engine
        .host
        .register_hook(&point, function, &opts)
        .map_err(|m| fail(m.context("Hook.register")))?;
    to_js(
        &json!({ "id": id.to_string(), "point": point.to_string() }),
        ctx,
    )
}

pub(super) fn unregister(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let v = arg(args, 0);
    let id = v.as_string().ok_or_else(|| {
        fail(format!(
            "Hook.unregister expects a hook handle or a hook id string, got {}",
            type_of(&v)
        ))
    })?;
    Ok(engine
        .host
        .unregister_hook(&id.to_std_string_escaped())
        .into())
}

pub(super) fn use_builtin(
    _: &JsValue,
    args: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(
        &arg(args, 0),
        "Hook.use: argument 1 (the built-in hook's name)",
    )?;
    let opts = match arg(args, 1) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.use: argument 2 (options)", ctx)?,
    };
    let used = engine
        .host
        .use_builtin(&name, &opts)
        .map_err(|m| fail(m.context("Hook.use")))?;
    to_js(&used.to_json(), ctx)
}

pub(super) fn report(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let target = arg_string(
        &arg(args, 0),
        "Hook.report: argument 1 (a built-in hook's name or handle)",
    )?;
    promise_with(
        ctx,
        async move {
            host.builtin_report(&target)
                .await
                .map_err(|m| m.context("Hook.report"))
        },
        |report, ctx| json_to_js(&report, ctx),
    )
}

pub(super) fn list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let filter = arg_json(&arg(args, 0), "Hook.list", ctx)?;
    let list = engine
        .host
        .list_hooks(&filter)
        .map_err(|m| fail(m.context("Hook.list")))?;
    to_js(&list, ctx)
}

pub(super) fn points(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    to_js(&engine()?.host.points(), ctx)
}

pub(super) fn fire(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let point = arg_string(&arg(args, 0), "Hook.fire: argument 1 (the hook point)")?;
    let data = arg_json(&arg(args, 1), "Hook.fire: argument 2 (data)", ctx)?;
    let options = match arg(args, 2) {
        v if v.is_null_or_undefined() => CallOptions::default(),
        v if v.is_string() => CallOptions {
            component: Some(arg_string(&v, "Hook.fire: argument 3 (component name)")?),
            ..CallOptions::default()
        },
        v => CallOptions::parse(&arg_json(&v, "Hook.fire: argument 3 (options)", ctx)?, true)
            .map_err(|m| fail(m.context("Hook.fire: argument 3")))?,
    };
    // Kept to tell whether any hook changed the data: if none did, the
    // caller's own object is handed back instead of a converted copy.
    let given = arg(args, 1);
    let original = given.is_object().then(|| data.clone());
    promise_with(
        ctx,
        async move {
            host.fire(&point, data, &options, JS)
                .await
                .map_err(|m| m.context("Hook.fire"))
        },
        move |fired, ctx| {
            use boa_engine::property::Attribute;
            let data = match original {
                Some(o) if fired.data_unchanged(&o) => given,
                _ => json_to_js(&fired.data, ctx)?,
            };
            let mut fields = Vec::with_capacity(fired.fields.len());
            for (k, v) in &fired.fields {
                fields.push((*k, json_to_js(v, ctx)?));
            }
            let all = Attribute::all();
            let mut out = crate::js::conversion::new_object(ctx);
            out.property(js_string!("action"), js_string!(fired.action), all)
                .property(js_string!("data"), data, all);
            for (k, v) in fields {
                out.property(js_string!(k), v, all);
            }
            Ok(out.build().into())
        },
    )
}
