//! JSON ↔ Lua, in one place.
//!
//! Rules (also in `docs/user-guide/lua-api.md`):
//! - `nil` ↔ `null` (inside arrays `null` is `JSON.null`, so positions
//!   survive); booleans; Lua integers ↔ JSON integers (`42`, not
//!   `42.0`); other numbers ↔ floats (NaN and infinities are refused).
//! - A JSON array becomes a table with the shared array metatable, so it
//!   stays an array (even when empty) on the way back.
//! - A Lua table becomes an array when it carries that metatable or is a
//!   non-empty sequence (keys exactly `1..n`); otherwise an object, whose keys
//!   must all be strings. An empty table without the metatable is `{}`.
//! - Functions, coroutines, userdata, cyclic tables, non-string object keys,
//!   invalid UTF-8 and nesting deeper than [`MAX_DEPTH`] are errors naming
//!   the path of the offending value.

use llmspell_core::CorrelationId;
use mlua::{Lua, LuaSerdeExt, Table, Value as LuaValue};
use serde_json::{Map, Number, Value};

pub(crate) use crate::convert_error::MAX_DEPTH;

/// Lifts the engine's memory limit while the host builds or reads values
/// of bounded size. Under a limit mlua protects every table and string
/// operation against allocation failure (one `pcall` each), which made
/// building a hook context cost ~10 µs; the limit exists to stop scripts,
/// and these values come from the host, already in memory.
struct HostWork<'a> {
    lua: &'a Lua,
    limit: usize,
}

impl<'a> HostWork<'a> {
    fn begin(lua: &'a Lua) -> Self {
        // Setting a limit returns the one it replaces; nested host work
        // finds 0 and leaves the restoring to the outermost.
        let limit = lua.set_memory_limit(0).unwrap_or(0);
        Self { lua, limit }
    }
}

impl Drop for HostWork<'_> {
    fn drop(&mut self) {
        if self.limit > 0 {
            let _ = self.lua.set_memory_limit(self.limit);
        }
    }
}

pub(crate) use crate::convert_error::ConvertError;
use crate::convert_error::{Path, err};

impl From<ConvertError> for mlua::Error {
    fn from(e: ConvertError) -> Self {
        mlua::Error::external(crate::HostError::invalid(e.to_string()))
    }
}

fn type_name(v: &LuaValue) -> &'static str {
    match v {
        LuaValue::Function(_) => "a function",
        LuaValue::Thread(_) => "a coroutine",
        LuaValue::UserData(_) | LuaValue::LightUserData(_) => "a userdata value",
        LuaValue::Error(_) => "an error object",
        _ => "this value",
    }
}

/// Converts a Lua value to JSON.
pub(crate) fn lua_to_json(value: &LuaValue) -> Result<Value, ConvertError> {
    let lua = match value {
        LuaValue::Table(t) => t.weak_lua().try_upgrade(),
        _ => None,
    };
    let _host = lua.as_ref().map(HostWork::begin);
    let mut seen = Vec::new();
    to_json(value, &Path::Root, 0, &mut seen)
}

fn to_json(
    value: &LuaValue,
    path: &Path<'_>,
    depth: usize,
    seen: &mut Vec<*const std::ffi::c_void>,
) -> Result<Value, ConvertError> {
    match value {
        LuaValue::Nil => Ok(Value::Null),
        LuaValue::Boolean(b) => Ok(Value::Bool(*b)),
        LuaValue::Integer(i) => Ok(Value::Number((*i).into())),
        LuaValue::Number(n) => Number::from_f64(*n).map(Value::Number).ok_or_else(|| {
            err(
                path,
                format!("cannot convert {n} to JSON (NaN and infinities have no JSON form)"),
            )
        }),
        LuaValue::String(s) => match s.to_str() {
            Ok(s) => Ok(Value::String(String::from(&*s))),
            Err(_) => Err(err(path, "string is not valid UTF-8")),
        },
        LuaValue::Table(t) => table_to_json(t, path, depth, seen),
        // `JSON.null`: the placeholder keeping nulls inside arrays.
        LuaValue::LightUserData(p) if p.0.is_null() => Ok(Value::Null),
        other => Err(err(
            path,
            format!("cannot convert {} to JSON", type_name(other)),
        )),
    }
}

fn table_to_json(
    t: &Table,
    path: &Path<'_>,
    depth: usize,
    seen: &mut Vec<*const std::ffi::c_void>,
) -> Result<Value, ConvertError> {
    if depth >= MAX_DEPTH {
        return Err(err(path, format!("nesting deeper than {MAX_DEPTH} levels")));
    }
    let ptr = t.to_pointer();
    if seen.contains(&ptr) {
        return Err(err(path, "cyclic table (a table contains itself)"));
    }
    seen.push(ptr);
    let result = table_body(t, path, depth, seen);
    seen.pop();
    result
}

fn is_marked_array(t: &Table) -> bool {
    match (t.metatable(), t.weak_lua().try_upgrade()) {
        (Some(mt), Some(lua)) => mt.equals(&lua.array_metatable()).unwrap_or(false),
        _ => false,
    }
}

/// One walk over the table (one protected call), converting every value as
/// it comes; whether the table is an array or an object is decided from
/// its keys at the end.
fn table_body(
    t: &Table,
    path: &Path<'_>,
    depth: usize,
    seen: &mut Vec<*const std::ffi::c_void>,
) -> Result<Value, ConvertError> {
    let len = t.raw_len();
    let marked = t.has_metatable() && is_marked_array(t);
    let mut items: Vec<(i64, Value)> = Vec::new();
    let mut fields: Vec<(String, Value)> = Vec::new();
    let mut failed: Option<ConvertError> = None;
    let walked = t.for_each::<LuaValue, LuaValue>(|k, v| {
        let converted = match &k {
            LuaValue::String(s) => match s.to_str() {
                Ok(key) => {
                    let key = String::from(&*key);
                    to_json(&v, &Path::Key(path, &key), depth + 1, seen)
                        .map(|value| fields.push((key, value)))
                }
                Err(_) => Err(err(path, "table key is not valid UTF-8")),
            },
            LuaValue::Integer(i) => to_json(&v, &Path::Index(path, *i), depth + 1, seen)
                .map(|value| items.push((*i, value))),
            other => Err(err(
                path,
                format!(
                    "table key {} cannot be a JSON object key (keys must be strings)",
                    lua_type(other)
                ),
            )),
        };
        match converted {
            Ok(()) => Ok(()),
            Err(e) => {
                failed = Some(e);
                Err(mlua::Error::runtime("stop"))
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    walked.map_err(|e| err(path, e.to_string()))?;
    let sequence = items.len() == len && items.iter().all(|(i, _)| *i >= 1 && *i as usize <= len);
    if fields.is_empty() && sequence && (marked || len > 0) {
        // `next` yields the array part in order; integer keys that live in
        // the hash part may come later.
        items.sort_unstable_by_key(|(i, _)| *i);
        return Ok(Value::Array(items.into_iter().map(|(_, v)| v).collect()));
    }
    if let Some((i, _)) = items.first() {
        let message = if items.iter().all(|(i, _)| *i >= 1) && fields.is_empty() {
            format!(
                "array has a gap (key {i} after a nil); arrays need keys 1..n without nil, use JSON.null for a null item"
            )
        } else {
            format!(
                "table mixes array items and named keys (key {i}); JSON objects need string keys and arrays need keys 1..n"
            )
        };
        return Err(err(path, message));
    }
    let mut map = Map::with_capacity(fields.len());
    for (k, v) in fields {
        map.insert(k, v);
    }
    Ok(Value::Object(map))
}

fn lua_type(v: &LuaValue) -> &'static str {
    match v {
        LuaValue::Nil => "nil",
        LuaValue::Boolean(_) => "of type boolean",
        LuaValue::Integer(_) | LuaValue::Number(_) => "of type number",
        LuaValue::Table(_) => "of type table",
        LuaValue::Function(_) => "of type function",
        _ => "of an unsupported type",
    }
}

/// Converts JSON to a Lua value.
pub(crate) fn json_to_lua(lua: &Lua, value: &Value) -> mlua::Result<LuaValue> {
    let _host = HostWork::begin(lua);
    to_lua(lua, value, 0)
}

fn to_lua(lua: &Lua, value: &Value, depth: usize) -> mlua::Result<LuaValue> {
    if depth >= MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "JSON nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match value {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Integer(i),
            None => LuaValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, v) in a.iter().enumerate() {
                // A nil would end the sequence; `JSON.null` keeps the slot.
                let item = if v.is_null() {
                    lua.null()
                } else {
                    to_lua(lua, v, depth + 1)?
                };
                t.raw_set(i + 1, item)?;
            }
            t.set_metatable(Some(lua.array_metatable()))?;
            LuaValue::Table(t)
        }
        Value::Object(o) => {
            let t = lua.create_table_with_capacity(0, o.len())?;
            for (k, v) in o {
                t.raw_set(k.as_str(), to_lua(lua, v, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// `Hook.fire`'s result table, built directly (`action`, `data`, and the
/// action's fields). `data` is `unchanged` when given (the caller's own
/// value, which no hook changed), else converted from `fired.data`.
pub(crate) fn fired_to_lua(
    lua: &Lua,
    fired: &crate::host::Fired,
    unchanged: Option<&LuaValue>,
) -> mlua::Result<Table> {
    let _host = HostWork::begin(lua);
    let t = lua.create_table_with_capacity(0, 2 + fired.fields.len())?;
    t.raw_set("action", fired.action)?;
    match unchanged {
        Some(data) => t.raw_set("data", data)?,
        None => t.raw_set("data", to_lua(lua, &fired.data, 0)?)?,
    }
    for (k, v) in &fired.fields {
        t.raw_set(*k, to_lua(lua, v, 0)?)?;
    }
    Ok(t)
}

/// Starts a call of the hook function `f` with a hook context as its `ctx`
/// table: `point`, `component` (`type`, `name`, `id`), `correlation_id`,
/// `parent_id`, `trace_id`, `language`, `data`, `attempt`, `cache_hit`,
/// `metadata`, `elapsed` (ms, at After and Error points).
///
/// The table is built by a Lua trampoline that then tail-calls `f`, inside
/// the coroutine of the call: one Lua call instead of building the table
/// through the host and handing it back, and the fields go onto the Lua
/// stack directly, without host-side references.
pub(crate) fn call_with_context(
    lua: &Lua,
    f: &mlua::Function,
    ctx: &llmspell_hooks::HookContext,
) -> mlua::Result<mlua::function::AsyncCallFuture<LuaValue>> {
    let _host = HostWork::begin(lua);
    let maker = lua.app_data_ref::<ContextCall>().map(|m| m.0.clone());
    let Some(maker) = maker else {
        return Err(mlua::Error::runtime(
            "internal: the context builder is missing",
        ));
    };
    let metadata = if ctx.metadata.is_empty() {
        LuaValue::Nil
    } else {
        let m = lua.create_table_with_capacity(0, ctx.metadata.len())?;
        for (k, v) in &ctx.metadata {
            m.raw_set(k.as_str(), v.as_str())?;
        }
        LuaValue::Table(m)
    };
    let point = ctx.point.name();
    // Ids are formatted on the stack, not through `fmt` into a `String`.
    let mut id = uuid::Uuid::encode_buffer();
    let mut correlation = [0; CorrelationId::UUID_LEN];
    let mut parent = [0; CorrelationId::UUID_LEN];
    let mut trace = [0; CorrelationId::UUID_LEN];
    Ok(maker.call_async((
        f,
        &*point,
        ctx.component.kind.as_str(),
        &*ctx.component.name,
        &*ctx.component.id.hyphenated().encode_lower(&mut id),
        ctx.correlation_id.encode(&mut correlation),
        ctx.parent_id.as_ref().map(|p| p.encode(&mut parent)),
        ctx.trace_id.as_ref().map(|t| t.encode(&mut trace)),
        ctx.language.as_str(),
        to_lua(lua, &ctx.data, 0)?,
        ctx.attempt,
        ctx.cache_hit,
        metadata,
        ctx.elapsed.map(|e| e.as_secs_f64() * 1000.0),
    )))
}

/// The Lua trampoline behind [`call_with_context`].
pub(crate) struct ContextCall(pub(crate) mlua::Function);

const CONTEXT_CALL: &str = r#"
return function(f, point, ctype, cname, cid, correlation, parent, trace, language, data, attempt, cache_hit, metadata, elapsed)
    return f({
        point = point,
        component = { type = ctype, name = cname, id = cid },
        correlation_id = correlation,
        parent_id = parent,
        trace_id = trace or correlation,
        language = language,
        data = data,
        attempt = attempt,
        cache_hit = cache_hit,
        metadata = metadata or {},
        elapsed = elapsed,
    })
end
"#;

/// Compiles the context trampoline into the state (once per engine).
pub(crate) fn install_context_call(lua: &Lua) -> mlua::Result<()> {
    let f: mlua::Function = lua.load(CONTEXT_CALL).set_name("=llmspell").call(())?;
    lua.set_app_data(ContextCall(f));
    Ok(())
}

pub(crate) fn event_to_lua(lua: &Lua, ev: &llmspell_events::UniversalEvent) -> mlua::Result<Table> {
    let _host = HostWork::begin(lua);
    let t = lua.create_table_with_capacity(0, 11)?;
    let mut buf = uuid::Uuid::encode_buffer();
    t.raw_set("id", &*ev.id.hyphenated().encode_lower(&mut buf))?;
    let topic = lua.create_string(ev.event_type.as_str())?;
    t.raw_set("type", &topic)?;
    t.raw_set("event_type", topic)?;
    t.raw_set("data", to_lua(lua, &ev.data, 0)?)?;
    t.raw_set("language", ev.language.as_str())?;
    t.raw_set("sequence", ev.sequence)?;
    t.raw_set(
        "timestamp",
        ev.timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )?;
    let mut ids = [0; CorrelationId::UUID_LEN];
    if let Some(c) = &ev.metadata.correlation_id {
        t.raw_set("correlation_id", c.encode(&mut ids))?;
    }
    if let Some(p) = &ev.metadata.parent_id {
        t.raw_set("parent_id", p.encode(&mut ids))?;
    }
    if let Some(s) = &ev.metadata.source {
        t.raw_set("source", &**s)?;
    }
    let tags = lua.create_table_with_capacity(ev.metadata.tags.len(), 0)?;
    for (i, tag) in ev.metadata.tags.iter().enumerate() {
        tags.raw_set(i + 1, tag.as_str())?;
    }
    tags.set_metatable(Some(lua.array_metatable()))?;
    t.raw_set("tags", tags)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(lua: &Lua, v: Value) -> Value {
        lua_to_json(&json_to_lua(lua, &v).unwrap()).unwrap()
    }

    #[test]
    fn json_round_trips_with_integers_and_empty_arrays() {
        let lua = Lua::new();
        for v in [
            json!(null),
            json!(42),
            json!(-3.5),
            json!("héllo"),
            json!([]),
            json!({}),
            json!([1, "two", [3.0], {"a": []}]),
            json!({"nested": {"deep": [true, false, null]}}),
        ] {
            assert_eq!(round_trip(&lua, v.clone()), v, "{v}");
        }
        let i: LuaValue = lua.load("return 42").eval().unwrap();
        assert_eq!(lua_to_json(&i).unwrap().to_string(), "42");
        let f: LuaValue = lua.load("return 42.5").eval().unwrap();
        assert_eq!(lua_to_json(&f).unwrap().to_string(), "42.5");
    }

    #[test]
    fn lua_tables_follow_the_array_rule() {
        let lua = Lua::new();
        let v = |src: &str| lua_to_json(&lua.load(src).eval::<LuaValue>().unwrap());
        assert_eq!(v("return {1, 2, 3}").unwrap(), json!([1, 2, 3]));
        assert_eq!(v("return {}").unwrap(), json!({}));
        assert_eq!(
            v("return {a = 1, b = {c = 'x'}}").unwrap(),
            json!({"a": 1, "b": {"c": "x"}})
        );
        let e = v("return {1, 2, x = 3}").unwrap_err().to_string();
        assert!(e.contains("mixes array items and named keys"), "{e}");
        let e = v("return {[true] = 1}").unwrap_err().to_string();
        assert!(e.contains("keys must be strings"), "{e}");
    }

    #[test]
    fn sequences_built_in_any_order_are_arrays_in_key_order() {
        let lua = Lua::new();
        let v = |src: &str| lua_to_json(&lua.load(src).eval::<LuaValue>().unwrap());
        // Keys assigned out of order live in the hash part, not the array part.
        assert_eq!(
            v("local t = {} t[3] = 'c' t[1] = 'a' t[2] = 'b' return t").unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            v("return { list = { {1}, {x = {2, 3}} } }").unwrap(),
            json!({"list": [[1], {"x": [2, 3]}]})
        );
        let e = v("return {[1] = 'a', [5] = 'e'}").unwrap_err().to_string();
        assert!(e.contains("array has a gap"), "{e}");
        let e = v("return {x = {1, 2, y = 3}}").unwrap_err().to_string();
        assert!(
            e.contains("mixes array items") && e.ends_with("(at .x)"),
            "{e}"
        );
        let e = v("return {a = {{}, {f = print}}}").unwrap_err().to_string();
        assert_eq!(e, "cannot convert a function to JSON (at .a[2].f)");
    }

    #[test]
    fn unsupported_values_are_named_with_their_path() {
        let lua = Lua::new();
        let v = |src: &str| lua_to_json(&lua.load(src).eval::<LuaValue>().unwrap());
        let e = v("return {cb = {f = function() end}}")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "cannot convert a function to JSON (at .cb.f)");
        let e = v("local t = {} t.self = t return t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cyclic table") && e.contains(".self"), "{e}");
        let e = v("return 0/0").unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        let e = v("local t = {} local c = t for i = 1, 100 do c.x = {} c = c.x end return t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("deeper than 64"), "{e}");
    }
}
