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

use boa_engine::builtins::object::OrdinaryObject;
use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::JsArray;
use boa_engine::property::{Attribute, PropertyKey};
use boa_engine::string::JsStrVariant;
use boa_engine::{Context, JsObject, JsResult, JsString, JsValue, JsVariant, js_string};
use llmspell_core::CorrelationId;
use serde_json::{Map, Number, Value};

use crate::ScriptValue;
use crate::engine::ServedEngine;

use super::engine::JsEngine;

pub(crate) use crate::convert_error::MAX_DEPTH;

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// The hidden property naming an agent handle's number.
pub(crate) const AGENT_KEY: &str = "__llmspell_agent";
/// The hidden property naming a workflow handle's number.
pub(crate) const WORKFLOW_KEY: &str = "__llmspell_workflow";

pub(crate) use crate::convert_error::ConvertError;
use crate::convert_error::{Path, at, err};

/// Converts JSON to a JavaScript value.
///
/// The same values as `JsValue::from_json`, built the way a script's object
/// literal is: objects of up to [`SHARED_SHAPE_MAX`] properties start from
/// the realm's shared root shape, so objects with the same keys share one
/// cached chain of shapes instead of each carrying a property table of its
/// own (about a third of the cost of building a hook's `ctx`).
pub(crate) fn json_to_js(value: &Value, ctx: &mut Context) -> JsResult<JsValue> {
    const MIN_INT: i64 = i32::MIN as i64;
    const MAX_INT: i64 = i32::MAX as i64;
    Ok(match value {
        Value::Null => JsValue::null(),
        Value::Bool(b) => JsValue::new(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) if (MIN_INT..=MAX_INT).contains(&i) => JsValue::new(i as i32),
            _ => JsValue::new(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => JsValue::from(JsString::from(s.as_str())),
        Value::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for v in items {
                values.push(json_to_js(v, ctx)?);
            }
            JsArray::from_iter(values, ctx).into()
        }
        Value::Object(map) => {
            let mut values = Vec::with_capacity(map.len());
            for (k, v) in map {
                values.push((JsString::from(k.as_str()), json_to_js(v, ctx)?));
            }
            let mut obj = if map.len() <= SHARED_SHAPE_MAX {
                new_object(ctx)
            } else {
                ObjectInitializer::new(ctx)
            };
            for (k, v) in values {
                obj.property(k, v, Attribute::all());
            }
            obj.build().into()
        }
    })
}

/// Objects with more properties than this get a property table of their own
/// (a long chain of shared shapes would cost more than it saves).
pub(crate) const SHARED_SHAPE_MAX: usize = 32;

/// An ordinary object on the realm's shared root shape, to be filled.
pub(crate) fn new_object(ctx: &mut Context) -> ObjectInitializer<'_> {
    ObjectInitializer::with_native_data(OrdinaryObject, ctx)
}

/// Converts a JavaScript value to JSON.
pub(crate) fn js_to_json(value: &JsValue, ctx: &mut Context) -> Result<Value, ConvertError> {
    let mut seen = Vec::new();
    Ok(to_json(value, &Path::Root, 0, &mut seen, ctx)?.unwrap_or(Value::Null))
}

/// The number as JSON: integral values within ±2^53 as integers.
fn number(n: f64, path: &Path<'_>) -> Result<Value, ConvertError> {
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

/// A JavaScript string as a Rust one: copied directly when it is ASCII or
/// valid UTF-16, with lone surrogates written as `\uXXXX` escapes
/// otherwise (the escaping form goes through `fmt` a character at a time).
pub(crate) fn std_string(s: &JsString) -> String {
    match s.variant() {
        JsStrVariant::Latin1(bytes) if bytes.is_ascii() => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        JsStrVariant::Latin1(bytes) => bytes.iter().copied().map(char::from).collect(),
        JsStrVariant::Utf16(units) => {
            String::from_utf16(units).unwrap_or_else(|_| s.to_std_string_escaped())
        }
    }
}

/// `None` for `undefined` (left out of objects).
fn to_json(
    value: &JsValue,
    path: &Path<'_>,
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
        JsVariant::String(s) => Value::String(std_string(&s)),
        JsVariant::BigInt(_) => return Err(err(path, "cannot convert a bigint to JSON")),
        JsVariant::Symbol(_) => return Err(err(path, "cannot convert a symbol to JSON")),
        JsVariant::Object(obj) => object_to_json(&obj, path, depth, seen, ctx)?,
    }))
}

fn object_to_json(
    obj: &JsObject,
    path: &Path<'_>,
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
            let p = Path::Index(path, i64::try_from(i).unwrap_or(i64::MAX));
            items.push(to_json(&v, &p, depth + 1, seen, ctx)?.unwrap_or(Value::Null));
        }
        Value::Array(items)
    } else {
        let mut map = Map::new();
        for key in obj.own_property_keys(ctx).map_err(js)? {
            let name = match &key {
                PropertyKey::String(s) => std_string(s),
                PropertyKey::Index(i) => i.get().to_string(),
                PropertyKey::Symbol(_) => continue,
            };
            // One lookup: an ordinary data property gives its value at once;
            // accessors and exotic objects (proxies) go through [[Get]].
            let own = obj.borrow().properties().get(&key);
            let v = match own {
                Some(d) if !d.enumerable().unwrap_or(true) => continue,
                Some(d) if d.is_data_descriptor() => d.value().cloned().unwrap_or_default(),
                _ => obj.get(key, ctx).map_err(js)?,
            };
            let p = Path::Key(path, &name);
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
    // Literals, not the constants: `js_string!` of a literal is static,
    // of an expression a fresh copy on every call.
    if obj
        .has_own_property(js_string!("__llmspell_agent"), ctx)
        .unwrap_or(false)
    {
        Some("an agent")
    } else if obj
        .has_own_property(js_string!("__llmspell_workflow"), ctx)
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
/// `correlation_id`, `parent_id`, `language`, `data`, `attempt`,
/// `cache_hit`, `metadata`, `elapsed`).
pub(crate) fn context_to_js(
    hc: &llmspell_hooks::HookContext,
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let all = Attribute::all();
    let data = json_to_js(&hc.data, ctx)?;
    let component = new_object(ctx)
        .property(
            js_string!("type"),
            js_string!(hc.component.kind.as_str()),
            all,
        )
        .property(js_string!("name"), js_string!(&*hc.component.name), all)
        .property(js_string!("id"), uuid_js(&hc.component.id), all)
        .build();
    let mut metadata = new_object(ctx);
    for (k, v) in &hc.metadata {
        metadata.property(js_string!(k.as_str()), js_string!(v.as_str()), all);
    }
    let metadata = metadata.build();
    let mut t = new_object(ctx);
    t.property(js_string!("point"), JsString::from(&*hc.point.name()), all)
        .property(js_string!("component"), component, all)
        .property(js_string!("correlation_id"), id_js(&hc.correlation_id), all);
    if let Some(p) = &hc.parent_id {
        t.property(js_string!("parent_id"), id_js(p), all);
    }
    t.property(js_string!("trace_id"), id_js(hc.trace_id()), all);
    t.property(
        js_string!("language"),
        js_string!(hc.language.as_str()),
        all,
    )
    .property(js_string!("data"), data, all)
    .property(js_string!("attempt"), hc.attempt, all)
    .property(js_string!("cache_hit"), hc.cache_hit, all)
    .property(js_string!("metadata"), metadata, all);
    if let Some(e) = hc.elapsed {
        t.property(js_string!("elapsed"), e.as_secs_f64() * 1000.0, all);
    }
    Ok(t.build().into())
}

/// A UUID in its hyphenated lower-case form, encoded on the stack.
fn uuid_js(id: &uuid::Uuid) -> JsString {
    let mut buf = uuid::Uuid::encode_buffer();
    JsString::from(&*id.hyphenated().encode_lower(&mut buf))
}

/// A correlation id as the string it was given (a UUID encoded on the stack).
fn id_js(id: &CorrelationId) -> JsString {
    let mut buf = [0; CorrelationId::UUID_LEN];
    JsString::from(id.encode(&mut buf))
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
    fn fast_paths_keep_the_general_rules() {
        let ctx = &mut Context::default();
        // Large objects (own property table), numbers at the i32 edge, and
        // non-ASCII strings survive the round trip.
        let big: serde_json::Map<String, Value> = (0..SHARED_SHAPE_MAX + 5)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        let v = json!({
            "big": big,
            "edge": [2147483647, 2147483648_i64, -2147483649_i64, 0.5],
            "utf16": "é✓",
            "latin1": "Ã©",
        });
        let js = json_to_js(&v, ctx).unwrap();
        assert_eq!(js_to_json(&js, ctx).unwrap(), v);
        // Getters are read, hidden properties skipped, lone surrogates escaped.
        let v = eval(
            ctx,
            "const o = { get g() { return 7; } }; Object.defineProperty(o, 'h', { value: 1, enumerable: false }); o.s = '\\ud800x'; o",
        );
        let out = js_to_json(&v, ctx).unwrap();
        assert_eq!(out["g"], json!(7));
        assert!(out.get("h").is_none());
        assert_eq!(out["s"], json!("\\uD800x"));
    }

    #[test]
    fn handle_key_literals_match_the_constants() {
        assert_eq!(js_string!("__llmspell_agent"), JsString::from(AGENT_KEY));
        assert_eq!(
            js_string!("__llmspell_workflow"),
            JsString::from(WORKFLOW_KEY)
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
