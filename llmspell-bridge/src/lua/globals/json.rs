//! `JSON.encode`, `JSON.decode`, `JSON.null`.

use mlua::{Lua, LuaSerdeExt, Value as LuaValue};

use super::{arg_json, fail, function};
use crate::lua::conversion::json_to_lua;

pub(super) fn install(lua: &Lua) -> mlua::Result<()> {
    let json = lua.create_table()?;
    json.set(
        "encode",
        function(lua, |_, v: LuaValue| {
            let value = arg_json(&v, "JSON.encode")?;
            serde_json::to_string(&value).map_err(|e| fail(format!("JSON.encode: {e}")))
        })?,
    )?;
    json.set(
        "decode",
        function(lua, |lua, s: LuaValue| {
            let text = match &s {
                LuaValue::String(s) => String::from(&*s.to_str()?),
                other => {
                    return Err(fail(format!(
                        "JSON.decode expects a string, got {}",
                        other.type_name()
                    )));
                }
            };
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| fail(format!("JSON.decode: invalid JSON: {e}")))?;
            json_to_lua(lua, &value)
        })?,
    )?;
    json.set("null", lua.null())?;
    lua.globals().set("JSON", json)
}
