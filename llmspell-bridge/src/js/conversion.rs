//! JSON ↔ JavaScript, in one place.
//!
//! Rules (also in `docs/user-guide/javascript-api.md`), the same as Lua's
//! where the languages allow:
//! - `null` ↔ `null`; `undefined` becomes `null` at the top and inside
//!   arrays, and an object property holding `undefined` is left out (as
//!   `JSON.stringify` does); booleans and strings as they are.
//! - Numbers: an integral number within ±2^53 becomes a JSON integer (so
//!   Lua receives `42`, not `42.0`), any other finite number a float; NaN
//!   and infinities are refused.
//! - Arrays ↔ arrays (empty ones stay arrays); other objects become JSON
//!   objects of their own enumerable string-keyed properties.
//! - Functions, symbols, bigints, agent and workflow handles, cyclic
//!   values and nesting deeper than [`MAX_DEPTH`] are errors naming the
//!   path of the offending value (`.list[2].f`, indices from 0).

use boa_engine::property::PropertyKey;
use boa_engine::{Context, JsObject, JsResult, JsValue, JsVariant, js_string};
use serde_json::{Map, Number, Value};

use crate::ScriptValue;

use super::engine::JsEngine;

/// The deepest nesting converted either way.
pub(crate) const MAX_DEPTH: usize = 64;

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// The hidden property naming an agent handle's number.
pub(crate) const AGENT_KEY: &str = "__llmspell_agent";
/// The hidden property naming a workflow handle's number.
pub(crate) const WORKFLOW_KEY: &str = "__llmspell_workflow";

pub(crate) use crate::convert_error::ConvertError;

fn err(path: &str, message: impl Into<String>) -> ConvertError {
    ConvertError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Converts JSON to a JavaScript value.
pub(crate) fn json_to_js(value: &Value, ctx: &mut Context) -> JsResult<JsValue> {
    JsValue::from_json(value, ctx)
}

/// Converts a JavaScript value to JSON.
pub(crate) fn js_to_json(value: &JsValue, ctx: &mut Context) -> Result<Value, ConvertError> {
    let mut seen = Vec::new();
    Ok(to_json(value, "", 0, &mut seen, ctx)?.unwrap_or(Value::Null))
}

/// The number as JSON: integral values within ±2^53 as integers.
fn number(n: f64, path: &str) -> Result<Value, ConvertError> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        return Ok(Value::Number((n as i64).into()));
    }
    Number::from_f64(n).map(Value::Number).ok_or_else(|| {
        err(
            path,
            format!("cannot convert {n} to JSON (NaN and infinities have no JSON form)"),
        )
    })
}

/// `None` for `undefined` (left out of objects).
fn to_json(
    value: &JsValue,
    path: &str,
    depth: usize,
    seen: &mut Vec<JsObject>,
    ctx: &mut Context,
) -> Result<Option<Value>, ConvertError> {
    Ok(Some(match value.variant() {
        JsVariant::Undefined => return Ok(None),
        JsVariant::Null => Value::Null,
        JsVariant::Boolean(b) => Value::Bool(b),
        JsVariant::Integer32(i) => Value::Number(i.into()),
        JsVariant::Float64(n) => number(n, path)?,
        JsVariant::String(s) => Value::String(s.to_std_string_escaped()),
        JsVariant::BigInt(_) => return Err(err(path, "cannot convert a bigint to JSON")),
        JsVariant::Symbol(_) => return Err(err(path, "cannot convert a symbol to JSON")),
        JsVariant::Object(obj) => object_to_json(&obj, path, depth, seen, ctx)?,
    }))
}

fn object_to_json(
    obj: &JsObject,
    path: &str,
    depth: usize,
    seen: &mut Vec<JsObject>,
    ctx: &mut Context,
) -> Result<Value, ConvertError> {
    if obj.is_callable() {
        return Err(err(path, "cannot convert a function to JSON"));
    }
    if let Some(kind) = handle_kind(obj, ctx) {
        return Err(err(
            path,
            format!("{kind} handle is not data and cannot be converted to JSON"),
        ));
    }
    if depth >= MAX_DEPTH {
        return Err(err(path, format!("nesting deeper than {MAX_DEPTH} levels")));
    }
    if seen.iter().any(|o| o == obj) {
        return Err(err(path, "cyclic value (an object contains itself)"));
    }
    seen.push(obj.clone());
    let js = |e: boa_engine::JsError| err(path, e.to_string());
    let out = if obj.is_array() {
        let len = obj
            .get(js_string!("length"), ctx)
            .map_err(js)?
            .as_number()
            .unwrap_or(0.0) as u64;
        let mut items = Vec::with_capacity(len.min(1 << 16) as usize);
        for i in 0..len {
            let v = obj.get(i, ctx).map_err(js)?;
            let p = format!("{path}[{i}]");
            items.push(to_json(&v, &p, depth + 1, seen, ctx)?.unwrap_or(Value::Null));
        }
        Value::Array(items)
    } else {
        let mut map = Map::new();
        for key in obj.own_property_keys(ctx).map_err(js)? {
            let name = match &key {
                PropertyKey::String(s) => s.to_std_string_escaped(),
                PropertyKey::Index(i) => i.get().to_string(),
                PropertyKey::Symbol(_) => continue,
            };
            let enumerable = obj
                .borrow()
                .properties()
                .get(&key)
                .is_none_or(|d| d.enumerable().unwrap_or(true));
            if !enumerable {
                continue;
            }
            let v = obj.get(key, ctx).map_err(js)?;
            let p = format!("{path}.{name}");
            if let Some(v) = to_json(&v, &p, depth + 1, seen, ctx)? {
                map.insert(name, v);
            }
        }
        Value::Object(map)
    };
    seen.pop();
    Ok(out)
}

/// `"an agent"` or `"a workflow"` for a handle object.
fn handle_kind(obj: &JsObject, ctx: &mut Context) -> Option<&'static str> {
    if obj
        .has_own_property(js_string!(AGENT_KEY), ctx)
        .unwrap_or(false)
    {
        Some("an agent")
    } else if obj
        .has_own_property(js_string!(WORKFLOW_KEY), ctx)
        .unwrap_or(false)
    {
        Some("a workflow")
    } else {
        None
    }
}

/// The handle number stored under `key`, if `obj` is such a handle.
pub(crate) fn handle_id(obj: &JsObject, key: &str, ctx: &mut Context) -> Option<u64> {
    if !obj.has_own_property(js_string!(key), ctx).unwrap_or(false) {
        return None;
    }
    obj.get(js_string!(key), ctx)
        .ok()
        .and_then(|v| v.as_number())
        .map(|n| n as u64)
}

/// A hook context as the hook function's `ctx` object, built directly: the
/// same fields as in Lua (`point`, `component` { `type`, `name`, `id` },
/// `correlation_id`, `parent_id`, `language`, `data`, `metadata`, `elapsed`).
pub(crate) fn context_to_js(
    hc: &llmspell_hooks::HookContext,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    use boa_engine::object::ObjectInitializer;
    use boa_engine::property::Attribute;
    let all = Attribute::all();
    let data = json_to_js(&hc.data, ctx)?;
    let component = ObjectInitializer::new(ctx)
        .property(
            js_string!("type"),
            js_string!(hc.component.kind.as_str()),
            all,
        )
        .property(js_string!("name"), js_string!(&*hc.component.name), all)
        .property(
            js_string!("id"),
            js_string!(hc.component.id.to_string()),
            all,
        )
        .build();
    let mut metadata = ObjectInitializer::new(ctx);
    for (k, v) in &hc.metadata {
        metadata.property(js_string!(k.as_str()), js_string!(v.as_str()), all);
    }
    let metadata = metadata.build();
    let mut t = ObjectInitializer::new(ctx);
    t.property(js_string!("point"), js_string!(hc.point.to_string()), all)
        .property(js_string!("component"), component, all)
        .property(
            js_string!("correlation_id"),
            js_string!(hc.correlation_id.to_string()),
            all,
        );
    if let Some(p) = hc.parent_id {
        t.property(js_string!("parent_id"), js_string!(p.to_string()), all);
    }
    t.property(
        js_string!("language"),
        js_string!(hc.language.as_str()),
        all,
    )
    .property(js_string!("data"), data, all)
    .property(js_string!("metadata"), metadata, all);
    if let Some(e) = hc.elapsed {
        t.property(js_string!("elapsed"), e.as_secs_f64() * 1000.0, all);
    }
    Ok(t.build().into())
}

/// Converts a spec object (`Agent.create`'s config, a workflow definition):
/// functions become kept [`crate::ScriptFunction`]s, agent and workflow
/// handles become component references, everything else is JSON under the
/// rules above. `what` prefixes error messages.
pub(crate) fn to_script_value(
    engine: &JsEngine,
    value: &JsValue,
    what: &str,
    ctx: &mut Context,
) -> Result<ScriptValue, String> {
    spec_value(engine, value, what, "", 0, ctx)
}

fn spec_value(
    engine: &JsEngine,
    value: &JsValue,
    what: &str,
    path: &str,
    depth: usize,
    ctx: &mut Context,
) -> Result<ScriptValue, String> {
    let Some(obj) = value.as_object() else {
        return js_to_json(value, ctx)
            .map(ScriptValue::Json)
            .map_err(|e| format!("{what}: {}{}", e.message, at(path)));
    };
    if obj.is_callable() {
        return Ok(ScriptValue::Function(engine.keep(obj)));
    }
    let handle = if let Some(id) = handle_id(&obj, AGENT_KEY, ctx) {
        let agent = engine.handles.agents.borrow().get(&id).cloned();
        Some(agent.map(ScriptValue::Agent).ok_or("agent"))
    } else if let Some(id) = handle_id(&obj, WORKFLOW_KEY, ctx) {
        let workflow = engine.handles.workflows.borrow().get(&id).cloned();
        Some(workflow.map(ScriptValue::Workflow).ok_or("workflow"))
    } else {
        None
    };
    if let Some(found) = handle {
        return found.map_err(|kind| format!("{what}: unknown {kind} handle{}", at(path)));
    }
    if depth >= MAX_DEPTH {
        return Err(format!(
            "{what}: nesting deeper than {MAX_DEPTH} levels{}",
            at(path)
        ));
    }
    let js = |e: boa_engine::JsError| format!("{what}: {e}");
    if obj.is_array() {
        let len = obj
            .get(js_string!("length"), ctx)
            .map_err(js)?
            .as_number()
            .unwrap_or(0.0) as u64;
        let mut items = Vec::with_capacity(len.min(1 << 16) as usize);
        for i in 0..len {
            let v = obj.get(i, ctx).map_err(js)?;
            items.push(spec_value(
                engine,
                &v,
                what,
                &format!("{path}[{i}]"),
                depth + 1,
                ctx,
            )?);
        }
        return Ok(ScriptValue::Array(items));
    }
    let mut fields = Vec::new();
    for key in obj.own_property_keys(ctx).map_err(js)? {
        let name = match &key {
            PropertyKey::String(s) => s.to_std_string_escaped(),
            PropertyKey::Index(i) => i.get().to_string(),
            PropertyKey::Symbol(_) => continue,
        };
        let v = obj.get(key, ctx).map_err(js)?;
        if v.is_undefined() {
            continue;
        }
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        fields.push((name, spec_value(engine, &v, what, &child, depth + 1, ctx)?));
    }
    Ok(ScriptValue::Object(fields))
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (at {path})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use boa_engine::Source;
    use serde_json::json;

    fn eval(ctx: &mut Context, src: &str) -> JsValue {
        ctx.eval(Source::from_bytes(src)).unwrap()
    }

    #[test]
    fn data_round_trips_with_integers_kept() {
        let ctx = &mut Context::default();
        let v = eval(
            ctx,
            "({ a: 1, b: 2.5, c: [true, null, 'x'], d: {}, e: [], f: undefined, g: 3.0 })",
        );
        assert_eq!(
            js_to_json(&v, ctx).unwrap(),
            json!({ "a": 1, "b": 2.5, "c": [true, null, "x"], "d": {}, "e": [], "g": 3 })
        );
        let back = json_to_js(&json!({ "n": 42, "list": [1, 2] }), ctx).unwrap();
        assert_eq!(
            js_to_json(&back, ctx).unwrap(),
            json!({ "n": 42, "list": [1, 2] })
        );
    }

    #[test]
    fn values_that_are_not_data_are_named_with_their_path() {
        let ctx = &mut Context::default();
        let v = eval(ctx, "({ list: [1, 2, { f: () => 1 }] })");
        assert_eq!(
            js_to_json(&v, ctx).unwrap_err().to_string(),
            "cannot convert a function to JSON (at .list[2].f)"
        );
        let v = eval(ctx, "const o = { a: {} }; o.a.self = o; o");
        let e = js_to_json(&v, ctx).unwrap_err().to_string();
        assert!(
            e.contains("cyclic value") && e.ends_with("(at .a.self)"),
            "{e}"
        );
        let v = eval(ctx, "({ x: NaN })");
        assert!(
            js_to_json(&v, ctx)
                .unwrap_err()
                .to_string()
                .contains("NaN and infinities")
        );
        let v = eval(
            ctx,
            "let d = {}; let t = d; for (let i = 0; i < 70; i++) { t.x = {}; t = t.x; } d",
        );
        assert!(
            js_to_json(&v, ctx)
                .unwrap_err()
                .to_string()
                .contains("deeper than 64")
        );
        let v = eval(ctx, "({ s: Symbol('x') })");
        assert!(
            js_to_json(&v, ctx)
                .unwrap_err()
                .to_string()
                .contains("cannot convert a symbol to JSON (at .s)")
        );
    }
}
