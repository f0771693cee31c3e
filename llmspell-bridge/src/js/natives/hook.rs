//! The natives behind `Hook`.

use boa_engine::{Context, JsValue, js_string};
use serde_json::{Value, json};

use super::{
    JS, NativeResult, arg, arg_json, arg_string, engine, fail, promise_with, to_js, type_of,
};
use crate::HookBody;
use crate::engine::ServedEngine;
use crate::host::CallOptions;
use crate::js::conversion::json_to_js;

pub(super) fn register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let point = arg_string(&arg(args, 0), "Hook.register: argument 1 (the hook point)")?;
    let body = hook_body(&engine, &arg(args, 1), "Hook.register: argument 2", ctx)?;
    let opts = match arg(args, 2) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.register: argument 3 (options)", ctx)?,
    };
    let (id, point) = engine
        .host
        .register_hook(&point, body, &opts)
        .map_err(|m| fail(m.context("Hook.register")))?;
    to_js(
        &json!({ "id": id.to_string(), "point": point.to_string() }),
        ctx,
    )
}

/// A hook a script gives: a function, or a composite as the prelude's
/// `Hook.sequential` and the others build it (`{ kind, members, threshold }`).
fn hook_body(
    engine: &crate::js::engine::JsEngine,
    value: &JsValue,
    what: &str,
    ctx: &mut Context,
) -> NativeResult<HookBody> {
    if let Some(f) = value.as_callable() {
        return Ok(HookBody::Function(engine.keep(f.clone())));
    }
    let invalid = || {
        fail(format!(
            "{what} must be a function or a composite hook (Hook.sequential, Hook.first_match, \
             Hook.parallel, Hook.voting), got {}",
            type_of(value)
        ))
    };
    let Some(obj) = value.as_object() else {
        return Err(invalid());
    };
    let kind = obj.get(js_string!("__composite"), ctx)?;
    let Some(kind) = kind.as_string().map(|k| k.to_std_string_escaped()) else {
        return Err(invalid());
    };
    let members = obj.get(js_string!("members"), ctx)?;
    let members = members
        .as_object()
        .filter(|m| m.is_array())
        .ok_or_else(|| {
            fail(format!(
                "Hook.{kind}: argument 1 must be a list of hook functions"
            ))
        })?;
    let len = members.get(js_string!("length"), ctx)?.to_u32(ctx)?;
    let mut bodies = Vec::with_capacity(len as usize);
    for i in 0..len {
        let m = members.get(i, ctx)?;
        bodies.push(hook_body(
            engine,
            &m,
            &format!("Hook.{kind}: hook {}", i + 1),
            ctx,
        )?);
    }
    let threshold = obj.get(js_string!("threshold"), ctx)?;
    let threshold = if threshold.is_null_or_undefined() {
        None
    } else {
        Some(
            threshold
                .as_number()
                .ok_or_else(|| fail(format!("Hook.{kind}: `threshold` must be a number")))?,
        )
    };
    HookBody::composite(&kind, bodies, threshold).map_err(fail)
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

pub(super) fn command(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let point = arg_string(&arg(args, 0), "Hook.command: argument 1 (the hook point)")?;
    let argv = arg_json(
        &arg(args, 1),
        "Hook.command: argument 2 (the program and its arguments)",
        ctx,
    )?;
    let argv: Vec<String> = serde_json::from_value(argv).map_err(|_| {
        fail("Hook.command: argument 2 must be a list of strings: the program and its arguments (no shell)")
    })?;
    let opts = match arg(args, 2) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.command: argument 3 (options)", ctx)?,
    };
    let (id, point) = engine
        .host
        .register_command(&point, argv, &opts)
        .map_err(|m| fail(m.context("Hook.command")))?;
    to_js(
        &json!({ "id": id.to_string(), "point": point.to_string() }),
        ctx,
    )
}

pub(super) fn replay(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let filter = match arg(args, 0) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.replay: argument 1 (filter)", ctx)?,
    };
    promise_with(
        ctx,
        async move {
            host.replay(&filter)
                .await
                .map_err(|m| m.context("Hook.replay"))
        },
        |reports, ctx| json_to_js(&reports, ctx),
    )
}

pub(super) fn budget(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let component = arg_string(
        &arg(args, 0),
        "Hook.budget: argument 1 (a component name or glob)",
    )?;
    let opts = match arg(args, 1) {
        v if v.is_null_or_undefined() => Value::Null,
        v => arg_json(&v, "Hook.budget: argument 2 (options)", ctx)?,
    };
    Ok(engine
        .host
        .set_component_budget(&component, &opts)
        .map_err(|m| fail(m.context("Hook.budget")))?
        .into())
}

pub(super) fn component_stats(
    _: &JsValue,
    _: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    to_js(&engine()?.host.component_hook_stats(), ctx)
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
