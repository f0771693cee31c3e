//! Lua errors as scripts and users should read them.
//!
//! A host call that fails raises a table `{ kind, message, ...fields }`
//! (see [`HostError`]); its metatable makes `tostring(err)` the message and
//! lets string methods (`err:match(...)`) and `..` apply to the message, so
//! scripts that treat errors as strings keep working. Uncaught, such a table
//! reports as its message (mlua honours `__tostring`).

use mlua::{Function, Lua, Table};

use super::conversion::json_to_lua;
use crate::{HostError, ScriptError};

/// The registry names of the error metatable and of the raising helper.
const META: &str = "llmspell.error_meta";
const RAISE: &str = "llmspell.raise";

/// The error metatable and `raise(err)`, the helper every script-facing
/// wrapper calls on failure: it prefixes the caller's `file:line: ` to the
/// message (as `error(message, 2)` does for strings) and raises the table.
/// Globals are captured when the chunk loads, so a script that reassigns
/// `error` or `string` cannot break error reporting.
const SETUP: &str = r#"
local pcall, error, type, tostring, rawget, string = pcall, error, type, tostring, rawget, string
local meta = { __name = "llmspell.error" }
meta.__tostring = function(e) return rawget(e, "message") end
meta.__concat = function(a, b) return tostring(a) .. tostring(b) end
meta.__index = function(_, k)
    local f = string[k]
    if type(f) == "function" then
        return function(self, ...) return f(tostring(self), ...) end
    end
end
local function raise(v)
    if type(v) == "table" then
        -- Level 4: error <- pcall <- raise <- the wrapper <- the caller.
        local _, where = pcall(error, "", 4)
        if type(where) == "string" then v.message = where .. v.message end
        error(v, 0)
    end
    error(v, 3)
end
return meta, raise
"#;

/// Creates the error metatable and the raising helper of a Lua state.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let (meta, raise): (Table, Function) = lua.load(SETUP).set_name("=llmspell").call(())?;
    lua.set_named_registry_value(META, meta)?;
    lua.set_named_registry_value(RAISE, raise)
}

/// The helper script-facing wrappers raise failures with.
pub(crate) fn raiser(lua: &Lua) -> mlua::Result<Function> {
    lua.named_registry_value(RAISE)
}

/// The table a script receives for `e`.
pub(crate) fn error_table(lua: &Lua, e: &HostError) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 4)?;
    t.raw_set("kind", e.kind())?;
    t.raw_set("message", e.message())?;
    for (key, value) in e.fields() {
        t.raw_set(key, json_to_lua(lua, &value)?)?;
    }
    t.set_metatable(Some(lua.named_registry_value::<Table>(META)?))?;
    Ok(t)
}

/// The error a failed host function reports: the [`HostError`] it raised,
/// else one built from the Lua error (a bad argument is `invalid_input`,
/// running out of memory `resource_limit`).
pub(crate) fn host_error(err: &mlua::Error) -> HostError {
    match err {
        mlua::Error::ExternalError(e) => match e.downcast_ref::<HostError>() {
            Some(h) => h.clone(),
            None => HostError::new("other", e.to_string()),
        },
        mlua::Error::CallbackError { cause, .. } => host_error(cause),
        mlua::Error::WithContext { context, cause } => host_error(cause).context(context),
        mlua::Error::MemoryError(_) => HostError::new("resource_limit", message(err)),
        mlua::Error::FromLuaConversionError { .. } | mlua::Error::BadArgument { .. } => {
            HostError::invalid(message(err))
        }
        _ => HostError::new("other", message(err)),
    }
}

/// The message of the innermost cause, without mlua's prefixes.
pub(crate) fn message(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => message(cause),
        mlua::Error::RuntimeError(m) => first_part(m),
        mlua::Error::SyntaxError { message, .. } => first_part(message),
        mlua::Error::MemoryError(m) => format!("out of memory: {m}"),
        mlua::Error::ExternalError(e) => e.to_string(),
        mlua::Error::WithContext { cause, context } => format!("{context}: {}", message(cause)),
        other => first_part(&other.to_string()),
    }
}

fn first_part(m: &str) -> String {
    m.split("\nstack traceback:")
        .next()
        .unwrap_or(m)
        .trim()
        .to_owned()
}

/// The first `file:line` of a script frame in a traceback.
fn position_in_traceback(traceback: &str) -> Option<(String, u32)> {
    traceback.lines().find_map(|line| {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        let mut parts = line.splitn(3, ':');
        let file = parts.next()?;
        let n = parts.next()?.trim().parse().ok()?;
        (!file.is_empty()).then(|| (file.to_owned(), n))
    })
}

/// A script error with the best position available: the one in the
/// message (Lua errors), else the first script frame of the traceback
/// (errors raised by host functions), else the file alone.
pub(crate) fn script_error(err: &mlua::Error, file: &str) -> ScriptError {
    let msg = message(err);
    let parsed = ScriptError::parse(&msg, Some(file));
    if parsed.line.is_some() {
        return parsed;
    }
    if let mlua::Error::CallbackError { traceback, .. } = err
        && let Some((f, line)) = position_in_traceback(traceback)
    {
        return ScriptError {
            file: Some(f),
            line: Some(line),
            message: msg,
        };
    }
    parsed
}

/// The error of a callback, its message one line for reports
/// (`file:line: message` when a position is known).
pub(crate) fn callback_error(err: &mlua::Error) -> HostError {
    let e = script_error(err, "");
    crate::engine::script_failed(match (&e.file, e.line) {
        (Some(f), Some(line)) if !f.is_empty() => format!("{f}:{line}: {}", e.message),
        _ => e.message,
    })
}
