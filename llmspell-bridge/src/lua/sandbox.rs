//! The standard library Lua scripts get.

use mlua::{Lua, LuaOptions, StdLib};

/// `os` functions scripts keep in the sandbox.
const SAFE_OS: &[&str] = &["time", "clock", "date", "difftime"];

/// Globals removed in the sandbox.
const REMOVED: &[&str] = &["dofile", "loadfile", "require", "package", "io", "debug"];

/// A Lua state. Sandboxed unless `allow_unsafe`: no `io`, `package`,
/// `require`, `dofile`, `loadfile`, `debug`; `os` keeps only `time`,
/// `clock`, `date` and `difftime`; `load` accepts source text only (no
/// precompiled chunks). With `allow_unsafe` the full standard library
/// except `debug` is available.
pub(crate) fn new_lua(allow_unsafe: bool, memory_limit: usize) -> mlua::Result<Lua> {
    let lua = if allow_unsafe {
        Lua::new_with(StdLib::ALL_SAFE, options())?
    } else {
        let libs = StdLib::COROUTINE
            | StdLib::TABLE
            | StdLib::STRING
            | StdLib::UTF8
            | StdLib::MATH
            | StdLib::OS;
        let lua = Lua::new_with(libs, options())?;
        restrict(&lua)?;
        lua
    };
    lua.set_memory_limit(memory_limit)?;
    Ok(lua)
}

/// Coroutines kept for reuse. Every script hook, callback and async host
/// call runs in a coroutine of its own; reusing finished ones (reset, not
/// collected) saves creating a thread and its stack per call.
const COROUTINE_POOL: usize = 64;

fn options() -> LuaOptions {
    LuaOptions::default().thread_pool_size(COROUTINE_POOL)
}

fn restrict(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in REMOVED {
        globals.raw_set(*name, mlua::Value::Nil)?;
    }
    if let Ok(os) = globals.get::<mlua::Table>("os") {
        let keep = lua.create_table()?;
        for name in SAFE_OS {
            keep.raw_set(*name, os.get::<mlua::Value>(*name)?)?;
        }
        globals.raw_set("os", keep)?;
    }
    // `load` of text only: precompiled chunks can crash the VM.
    lua.load(
        r##"
        local raw_load, select = load, select
        load = function(chunk, name, _mode, ...)
            -- Like the standard `load`: without an `env` argument the chunk
            -- sees the global environment (an explicit nil means none).
            if select("#", ...) == 0 then
                return raw_load(chunk, name, "t")
            end
            return raw_load(chunk, name, "t", (...))
        end
        "##,
    )
    .set_name("=sandbox")
    .exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_removes_file_and_process_access() {
        let lua = new_lua(false, 64 << 20).unwrap();
        for expr in [
            "io",
            "os.execute",
            "os.remove",
            "os.rename",
            "os.exit",
            "os.getenv",
            "loadfile",
            "dofile",
            "require",
            "package",
            "debug",
        ] {
            let v: mlua::Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert!(v.is_nil(), "{expr} must be absent");
        }
        for expr in [
            "os.time()",
            "os.clock()",
            "os.date('%Y')",
            "string.format('%d', 1)",
            "math.floor(1.5)",
        ] {
            let v: mlua::Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert!(!v.is_nil(), "{expr} must work");
        }
        let err = lua
            .load("return load(string.dump(function() end))")
            .eval::<mlua::Value>();
        assert!(
            matches!(err, Ok(mlua::Value::Nil)) || err.is_err(),
            "binary chunks are refused"
        );
        let v: i64 = lua.load("return load('return 1 + 1')()").eval().unwrap();
        assert_eq!(v, 2);
        // Loaded chunks see the globals unless given an environment.
        let v: i64 = lua
            .load("return load('return math.floor(2.5)')()")
            .eval()
            .unwrap();
        assert_eq!(v, 2);
        let v: i64 = lua
            .load("return load('return x', 'c', 't', { x = 7 })()")
            .eval()
            .unwrap();
        assert_eq!(v, 7);
    }

    #[test]
    fn unsafe_mode_keeps_io_and_os() {
        let lua = new_lua(true, 64 << 20).unwrap();
        let v: mlua::Value = lua.load("return io.open").eval().unwrap();
        assert!(!v.is_nil());
    }

    #[test]
    fn the_memory_limit_stops_runaway_allocation() {
        let lua = new_lua(false, 8 << 20).unwrap();
        let err = lua
            .load("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end")
            .exec()
            .unwrap_err();
        assert!(
            crate::lua::errors::message(&err).contains("out of memory")
                || err.to_string().contains("memory"),
            "{err}"
        );
    }
}
