//! The `Tool` global: listing, info, invoking built-in tools, script-defined
//! tools going through the same hook points and events, redirects to them,
//! security levels, and bad arguments. Also the sandbox and memory limit as
//! a script sees them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{lua, lua_err, runtime, runtime_with, settle};

#[test]
fn list_info_and_invoke() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local list = Tool.list()
        assert(#list == 34, "all 34 built-in tools are listed: " .. tostring(#list))
        local names = {}
        for _, t in ipairs(list) do
            assert(type(t.description) == "string" and type(t.category) == "string")
            assert(type(t.security_level) == "string")
            names[t.name] = true
        end
        for _, n in ipairs({ "calculator", "json_processor", "http_request", "web_search",
                             "sitemap_crawler", "email_sender", "database_connector",
                             "image_processor", "video_processor" }) do
            assert(names[n], n .. " is listed")
        end
        local info = Tool.info("calculator")
        assert(info.name == "calculator" and info.parameters.type == "object")
        assert(info.parameters.properties.expression ~= nil)
        assert(info.parameters["$schema"] == nil and info.parameters["$defs"] == nil)
        assert(info.examples[1].expression == "2 + 2 * x")
        local text = Tool.info("text_manipulator").parameters
        assert(text.properties.operation.enum ~= nil and #text.oneOf == #text.properties.operation.enum)
        assert(text.oneOf[1].properties.operation.const == text.properties.operation.enum[1])
        local e = select(2, pcall(Tool.invoke, "text_manipulator", { operation = "split", text = 5 }))
        assert(tostring(e):find("`text`", 1, true), tostring(e))
        local out = Tool.invoke("calculator", { expression = "2 + 2 * x", variables = { x = 3 } })
        assert(out.result == 8 and math.type(out.result) == "integer", tostring(out.result))
    "#,
    );
}

#[test]
fn invalid_params_and_unknown_tools_are_clear_errors() {
    let rt = runtime();
    let e = lua_err(&rt, "Tool.invoke('calculater', {})");
    assert!(e.contains("test.lua:1:") && e.contains("calculator"), "{e}");
    let e = lua_err(&rt, "Tool.invoke('calculator', { expression = 42 })");
    assert!(e.contains("expression"), "{e}");
    let e = lua_err(&rt, "Tool.invoke(42)");
    assert!(
        e.contains("argument 1 (the tool name) must be a string, got number"),
        "{e}"
    );
    let e = lua_err(&rt, "Tool.info('nope')");
    assert!(e.contains("nope"), "{e}");
    let e = lua_err(
        &rt,
        "Tool.invoke('calculator', { expression = '1', f = print })",
    );
    assert!(e.contains("function") && e.contains(".f"), "{e}");
}

#[test]
fn script_tools_run_through_hooks_and_events() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Tool.register({ name = "shout", description = "upper-cases text",
            parameters = { type = "object", required = { "text" },
                           properties = { text = { type = "string" } } },
            handler = function(params) return { text = string.upper(params.text) } end })
        local info = Tool.info("shout")
        assert(info.description == "upper-cases text")
        local found = false
        for _, t in ipairs(Tool.list()) do if t.name == "shout" then found = true end end
        assert(found)
        -- the schema is enforced before the handler runs
        local ok, e = pcall(Tool.invoke, "shout", { text = 5 })
        assert(not ok and tostring(e):find("text"), tostring(e))
        -- hooks see and change the call
        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.component.name == "shout" then
                return { action = "modified", data = { text = ctx.data.text .. "!" } }
            end
        end)
        local events = {}
        Event.subscribe("tool.shout.*", function(ev) table.insert(events, ev.type) end)
        assert(Tool.invoke("shout", { text = "hi" }).text == "HI!")
        -- a redirect may name a script tool
        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.component.name == "calculator" and ctx.data.expression == "loud" then
                return { action = "redirect", target = "shout" }
            end
        end, { priority = "high" })
        local ok2, out = pcall(Tool.invoke, "calculator", { expression = "loud" })
        _G.events, _G.redirect = events, { ok2, out }
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        local has = {}
        for _, t in ipairs(events) do has[t] = true end
        assert(has["tool.shout.started"] and has["tool.shout.completed"], table.concat(events, ","))
        -- the redirected call reached the script tool (which rejects the calculator's params)
        assert(redirect[1] == false and tostring(redirect[2]):find("text"), tostring(redirect[2]))
    "#,
    );
}

#[test]
fn script_tool_errors_and_bad_registrations() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Tool.register({ name = "broken", handler = function() error("tool blew up") end })
        local ok, e = pcall(Tool.invoke, "broken", {})
        assert(not ok and tostring(e):find("tool blew up"), tostring(e))
        Tool.register({ name = "returns_fn", handler = function() return { f = print } end })
        ok, e = pcall(Tool.invoke, "returns_fn", {})
        assert(not ok and tostring(e):find("not JSON"), tostring(e))
    "#,
    );
    let e = lua_err(&rt, "Tool.register({ name = 'x' })");
    assert!(e.contains("`handler` must be a function, got nil"), "{e}");
    let e = lua_err(
        &rt,
        "Tool.register({ name = 'x', handler = function() end, colour = 'red' })",
    );
    assert!(e.contains("Tool.register: unknown field `colour`"), "{e}");
    let e = lua_err(
        &rt,
        "Tool.register({ name = 'calculator', handler = function() end })",
    );
    assert!(e.contains("calculator"), "{e}");
}

#[test]
fn privileged_tools_need_the_level() {
    let rt = runtime();
    let e = lua_err(
        &rt,
        "Tool.invoke('process_executor', { command = 'echo', args = { 'hi' } })",
    );
    assert!(e.to_lowercase().contains("security"), "{e}");
}

#[test]
fn sandbox_denies_files_and_processes() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        assert(io == nil and require == nil and dofile == nil and loadfile == nil and package == nil)
        assert(os.execute == nil and os.remove == nil and os.rename == nil and os.exit == nil)
        assert(type(os.time()) == "number" and type(os.clock()) == "number")
    "#,
    );
    let e = lua_err(&rt, "io.open('/etc/passwd')");
    assert!(e.contains("test.lua:1:") && e.contains("io"), "{e}");
    let trusted = runtime_with(|c| c.allow_unsafe = true);
    lua(&trusted, "assert(io ~= nil and os.execute ~= nil)");
}

#[test]
fn memory_limit_stops_a_runaway_script_but_not_the_host() {
    let rt = runtime_with(|c| c.memory_limit = 16 << 20);
    let e = lua_err(
        &rt,
        "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end",
    );
    assert!(e.to_lowercase().contains("memory"), "{e}");
    // the engine still works afterwards
    lua(
        &rt,
        "assert(Tool.invoke('calculator', { expression = '1 + 1' }).result == 2)",
    );
}

#[test]
fn the_engine_collects_garbage_generationally_and_short_lived_values_are_reclaimed() {
    let rt = runtime_with(|c| c.memory_limit = 16 << 20);
    // Many hook calls, each building short-lived contexts and results, fit
    // far below the limit only if the collector reclaims them.
    lua(
        &rt,
        r#"
        Hook.register("custom:gc", function(ctx) return nil end)
        local blob = string.rep("x", 4096)
        for i = 1, 20000 do Hook.fire("custom:gc", { i = i, blob = blob .. i }) end
        assert(collectgarbage("count") < 8 * 1024, "kept " .. collectgarbage("count") .. " KiB")
        -- switching modes reports the mode in force
        assert(collectgarbage("incremental") == "generational")
        assert(collectgarbage("generational") == "incremental")
    "#,
    );
}
