//! Lua tables that hold functions and handles → [`ScriptValue`].

use mlua::{Table, Value as LuaValue};

use super::agent::LuaAgent;
use super::fail;
use super::workflow::LuaWorkflow;
use crate::ScriptValue;
use crate::convert_error::{MAX_DEPTH, at};
use crate::engine::ServedEngine;
use crate::lua::conversion::lua_to_json;
use crate::lua::engine::LuaEngine;

/// Converts a spec table (`Agent.create`'s config, a workflow definition):
/// functions become kept [`crate::ScriptFunction`]s, agent and workflow
/// handles become component references, everything else is JSON under the
/// usual conversion rules. `what` prefixes error messages.
pub(super) fn to_script_value(
    engine: &LuaEngine,
    value: &LuaValue,
    what: &str,
) -> mlua::Result<ScriptValue> {
    convert(engine, value, what, "", 0)
}

fn convert(
    engine: &LuaEngine,
    value: &LuaValue,
    what: &str,
    path: &str,
    depth: usize,
) -> mlua::Result<ScriptValue> {
    match value {
        LuaValue::Function(f) => Ok(ScriptValue::Function(engine.keep(f.clone()))),
        LuaValue::UserData(ud) => {
            if let Ok(a) = ud.borrow::<LuaAgent>() {
                return Ok(ScriptValue::Agent(a.agent.clone()));
            }
            if let Ok(w) = ud.borrow::<LuaWorkflow>() {
                return Ok(ScriptValue::Workflow(w.workflow.clone()));
            }
            Err(fail(format!(
                "{what}: a userdata value cannot be used here{}; expected data, a function, an agent or a workflow",
                at(path)
            )))
        }
        LuaValue::Table(t) if depth < MAX_DEPTH && holds_special(t, 0) => {
            table(engine, t, what, path, depth)
        }
        other => lua_to_json(other)
            .map(ScriptValue::Json)
            .map_err(|e| fail(format!("{what}: {e}"))),
    }
}

/// Whether a table holds a function or userdata at any depth (cycles and
/// over-deep nesting answer false and are reported by the JSON conversion).
fn holds_special(t: &Table, depth: usize) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    t.clone()
        .pairs::<LuaValue, LuaValue>()
        .filter_map(Result::ok)
        .any(|(_, v)| match v {
            LuaValue::Function(_) | LuaValue::UserData(_) => true,
            LuaValue::Table(inner) => {
                !inner.equals(t).unwrap_or(true) && holds_special(&inner, depth + 1)
            }
            _ => false,
        })
}

fn table(
    engine: &LuaEngine,
    t: &Table,
    what: &str,
    path: &str,
    depth: usize,
) -> mlua::Result<ScriptValue> {
    let len = t.raw_len();
    let mut pairs = Vec::new();
    for pair in t.clone().pairs::<LuaValue, LuaValue>() {
        pairs.push(pair?);
    }
    let is_array = len > 0
        && pairs.len() == len
        && pairs
            .iter()
            .all(|(k, _)| matches!(k, LuaValue::Integer(i) if *i >= 1 && (*i as usize) <= len));
    if is_array {
        let mut items = Vec::with_capacity(len);
        for i in 1..=len {
            let v: LuaValue = t.raw_get(i)?;
            items.push(convert(
                engine,
                &v,
                what,
                &format!("{path}[{i}]"),
                depth + 1,
            )?);
        }
        return Ok(ScriptValue::Array(items));
    }
    let mut fields = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let key = match k {
            LuaValue::String(s) => String::from(&*s.to_str()?),
            other => {
                return Err(fail(format!(
                    "{what}: field names must be strings, got a {} key{}",
                    super::type_of(&other),
                    at(path)
                )));
            }
        };
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        fields.push((key, convert(engine, &v, what, &child, depth + 1)?));
    }
    Ok(ScriptValue::Object(fields))
}
