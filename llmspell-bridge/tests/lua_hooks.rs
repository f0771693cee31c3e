//! The `Hook` global: registration, listing, firing, every HookResult action
//! through `Tool.invoke`, ordering, timeouts of busy hooks, fail modes,
//! re-entrancy, bad arguments and the compatibility aliases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;
use common::{lua, lua_err, runtime, settle};

#[test]
fn register_list_unregister_and_points() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local h = Hook.register("BeforeToolExecution", function(ctx) end,
            { name = "audit", priority = "high", tags = { "audit" } })
        assert(type(h:id()) == "string")
        assert(h:point() == "BeforeToolExecution")
        local list = Hook.list("BeforeToolExecution")
        assert(#list == 1 and list[1].name == "audit" and list[1].priority == "high")
        assert(list[1].language == "lua" and list[1].tags[1] == "audit")
        assert(#Hook.list({ tag = "audit" }) == 1)
        assert(#Hook.list({ language = "javascript" }) == 0)
        local points = Hook.points()
        assert(#points >= 40)
        local found = false
        for _, p in ipairs(points) do if p == "ToolError" then found = true end end
        assert(found)
        assert(h:unregister() == true)
        assert(h:unregister() == false)
        assert(#Hook.list() == 0)
        local h2 = Hook.register("AgentPaused", function() end)
        assert(Hook.unregister(h2:id()) == true)
        assert(Hook.unregister(h2) == false)
    "#,
    );
}

#[test]
fn bad_arguments_name_the_bad_value_and_the_valid_ones() {
    let rt = runtime();
    let e = lua_err(&rt, "Hook.register('BeforeToolExecute', function() end)");
    assert!(
        e.contains("test.lua:1:") && e.contains("did you mean \"BeforeToolExecution\"?"),
        "{e}"
    );
    let e = lua_err(&rt, "Hook.register('BeforeToolExecution', 42)");
    assert!(
        e.contains("argument 2 must be a function or a composite hook (Hook.sequential, Hook.first_match, Hook.parallel, Hook.voting), got number"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "Hook.register('BeforeToolExecution', function() end, { priority = 'urgent' })",
    );
    assert!(
        e.contains("\"urgent\"") && e.contains("highest, high, normal, low, lowest"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "Hook.register('BeforeToolExecution', function() end, { fail = 'maybe' })",
    );
    assert!(e.contains("open, closed"), "{e}");
    let e = lua_err(
        &rt,
        "Hook.register('BeforeToolExecution', function() end, { colour = 'red' })",
    );
    assert!(e.contains("unknown hook option `colour`"), "{e}");
}

#[test]
fn hooks_run_in_priority_order_then_registration_order() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local order = {}
        for _, spec in ipairs({ { "b", "normal" }, { "a", "highest" }, { "c", "normal" }, { "d", -5 } }) do
            Hook.register("custom:order", function() order[#order + 1] = spec[1] end, { priority = spec[2] })
        end
        Hook.fire("custom:order", {})
        assert(table.concat(order, ",") == "a,b,c,d", table.concat(order, ","))
    "#,
    );
}

#[test]
fn every_result_changes_a_real_tool_call() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local function only(expr, result)
            return function(ctx)
                if ctx.data.expression == expr then return result end
            end
        end
        -- cancel: the caller gets an error containing the reason
        Hook.register("BeforeToolExecution", only("1 + 1", { action = "cancel", reason = "no additions" }))
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1 + 1" })
        assert(not ok and err.kind == "cancelled" and err.reason == "no additions", tostring(err))
        -- modified: the tool receives new params
        Hook.register("BeforeToolExecution", only("2 + 2", { action = "modified", data = { expression = "20 + 2" } }))
        assert(Tool.invoke("calculator", { expression = "2 + 2" }).result == 22)
        -- replace: the tool is skipped
        Hook.register("BeforeToolExecution", only("bad input", { action = "replace", value = { result = 7 } }))
        assert(Tool.invoke("calculator", { expression = "bad input" }).result == 7)
        -- skip: the hook does not act
        Hook.register("BeforeToolExecution", only("3 + 3", { action = "skip", reason = "not mine" }))
        assert(Tool.invoke("calculator", { expression = "3 + 3" }).result == 6)
        -- modified at After: the output changes
        Hook.register("AfterToolExecution", function(ctx)
            if ctx.data.result == 100 then return { action = "modified", data = { result = 101, note = "bumped" } } end
        end)
        local out = Tool.invoke("calculator", { expression = "10 * 10" })
        assert(out.result == 101 and out.note == "bumped")
    "#,
    );
}

#[test]
fn redirect_retry_fork_and_cache_through_tool_invoke() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local runs = 0
        Tool.register({ name = "flaky", description = "fails twice", handler = function(p)
            runs = runs + 1
            if runs < 3 then error("transient " .. runs) end
            return { runs = runs }
        end })
        Tool.register({ name = "backup", handler = function(p) return { from = "backup", x = p.x } end })
        local forked = 0
        Tool.register({ name = "audit", handler = function(p) forked = forked + 1 return { audited = true } end })
        local expensive = 0
        Tool.register({ name = "expensive", handler = function(p) expensive = expensive + 1 return { v = p.v * 2 } end })

        Hook.register("ToolError", function(ctx)
            if ctx.component.name == "flaky" then return { action = "retry", delay_ms = 1, max_attempts = 5 } end
        end)
        assert(Tool.invoke("flaky", {}).runs == 3 and runs == 3)

        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.component.name == "primary_missing" then return { action = "redirect", target = "backup" } end
        end, { component = "primary_missing" })
        Tool.register({ name = "primary_missing", handler = function() error("should not run") end })
        local r = Tool.invoke("primary_missing", { x = 5 })
        assert(r.from == "backup" and r.x == 5)

        Hook.register("BeforeToolExecution", function(ctx)
            return { action = "fork", operations = { { target = "audit", input = {} } } }
        end, { component = "backup" })
        Tool.invoke("backup", { x = 1 })
        assert(forked == 1, "fork ran " .. forked)

        Hook.register("BeforeToolExecution", function(ctx)
            return { action = "cache", key = "expensive:" .. ctx.data.v, ttl_ms = 60000 }
        end, { component = "expensive" })
        assert(Tool.invoke("expensive", { v = 4 }).v == 8)
        assert(Tool.invoke("expensive", { v = 4 }).v == 8)
        assert(expensive == 1, "the cached call ran again")
    "#,
    );
}

#[test]
fn a_hook_fires_while_the_same_script_is_inside_tool_invoke_and_may_call_tools_itself() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local depth = 0
        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.component.name == "calculator" and ctx.data.expression == "1 + 1" then
                depth = depth + 1
                -- re-entrant: a tool call from inside a hook fired by a tool call
                local inner = Tool.invoke("hash_calculator", { operation = "hash", algorithm = "md5", input = "x" })
                assert(inner.hash == "9dd4e461268c8034f5c8564e155c67a6")
            end
        end)
        assert(Tool.invoke("calculator", { expression = "1 + 1" }).result == 2)
        assert(depth == 1)
    "#,
    );
}

#[test]
fn a_busy_hook_is_stopped_by_its_timeout_and_the_call_goes_on() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function(ctx) while true do end end,
            { name = "spinner", timeout_ms = 50 })
        local t = os.clock()
        assert(Tool.invoke("calculator", { expression = "2 * 3" }).result == 6)
        assert(os.clock() - t < 5, "the busy hook was not interrupted")
        local info = Hook.list({ name = "spinner" })[1]
        assert(info ~= nil)
    "#,
    );
}

#[test]
fn a_fail_closed_hook_that_errors_cancels_with_its_name_and_message() {
    let rt = runtime();
    let e = lua_err(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function(ctx) error("policy down") end,
            { name = "policy", fail = "closed" })
        Tool.invoke("calculator", { expression = "1" })
    "#,
    );
    assert!(
        e.contains("policy") && e.contains("policy down") && e.contains("fail-closed"),
        "{e}"
    );
}

#[test]
fn malformed_results_are_hook_failures_with_the_valid_shapes() {
    let rt = runtime();
    let e = lua_err(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function(ctx) return { action = "cancle" } end, { fail = "closed", name = "typo" })
        Tool.invoke("calculator", { expression = "1" })
    "#,
    );
    assert!(
        e.contains("unknown action \"cancle\"") && e.contains("valid results"),
        "{e}"
    );
    // Fail-open (the default): the bad hook is skipped.
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function(ctx) return 42 end)
        assert(Tool.invoke("calculator", { expression = "1 + 2" }).result == 3)
    "#,
    );
}

#[test]
fn a_hook_that_keeps_failing_is_skipped_by_its_breaker() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        calls = 0
        Hook.register("BeforeToolExecution", function(ctx) calls = calls + 1 error("broken") end)
        for i = 1, 30 do Tool.invoke("calculator", { expression = "1" }) end
        assert(calls == 10, "called " .. calls .. " times")
    "#,
    );
}

#[test]
fn hook_fire_reports_the_outcome() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.register("custom:deploy", function(ctx)
            assert(ctx.point == "custom:deploy" and ctx.component.name == "web" and ctx.language == "lua")
            return { action = "modified", data = { version = ctx.data.version + 1 } }
        end)
        Hook.register("custom:deploy", function(ctx)
            if ctx.data.version > 2 then return { action = "cancel", reason = "too new" } end
        end, { priority = "low" })
        local r = Hook.fire("custom:deploy", { version = 1 }, "web")
        assert(r.action == "modified" and r.data.version == 2)
        local r = Hook.fire("custom:deploy", { version = 2 }, "web")
        assert(r.action == "cancel" and r.reason == "too new" and r.data.version == 3)
    "#,
    );
}

#[test]
fn compatibility_aliases_are_accepted() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local h = Hook.register("custom:compat", function(ctx) return { type = "replace", data = 5 } end, "high")
        assert(h:hook_point() == "custom:compat")
        assert(Hook.list("custom:compat")[1].priority == "high")
        local r = Hook.fire("custom:compat", {})
        assert(r.action == "replace" and r.value == 5)
        Hook.register("custom:compat2", function() return "skipped" end)
        assert(Hook.fire("custom:compat2", {}).action == "continue")
    "#,
    );
    settle(&rt);
}

#[test]
fn hook_failures_are_reported_and_recursion_is_bounded() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        reports = {}
        Hook.register("EventHandlerError", function(ctx) table.insert(reports, ctx.data.message) end)
        failures = Event.subscribe("script.callback.failed")
        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.data.expression == "2 + 2" then error("audit sink down") end
        end, { name = "audit", fail = "open" })
        -- fail-open: the call goes through, the failure is reported
        assert(Tool.invoke("calculator", { expression = "2 + 2" }).result == 4)
        -- a hook that calls the operation it hooks stops at the nesting limit
        local depth = 0
        Hook.register("BeforeToolExecution", function(ctx)
            if ctx.data.expression == "1 + 0" then
                depth = depth + 1
                Tool.invoke("calculator", { expression = "1 + 0" })
            end
        end, { name = "recursive" })
        assert(Tool.invoke("calculator", { expression = "1 + 0" }).result == 1)
        assert(depth >= 8 and depth <= 64, tostring(depth))
        _G.depth = depth
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        -- the EventHandlerError point saw the audit failure
        local seen = false
        for _, m in ipairs(reports) do
            if m:find("audit sink down", 1, true) then seen = true end
        end
        assert(seen, table.concat(reports, " | "))
        -- and every failure, the nesting limit included, was published
        local messages = {}
        while true do
            local ev = Event.receive(failures, 200)
            if not ev then break end
            table.insert(messages, ev.data.message)
        end
        local all = table.concat(messages, " | ")
        assert(all:find("audit sink down", 1, true), all)
        assert(all:find("nested more than 64 deep", 1, true), all)
    "#,
    );
}

#[test]
fn hook_fire_hands_back_the_callers_table_only_when_no_hook_changed_the_data() {
    let rt = runtime();
    // A native hook changing the data in place (no `Modified` result).
    let point = llmspell_hooks::HookPoint::custom("inplace").unwrap();
    rt.hooks()
        .register(
            point,
            llmspell_hooks::sync_hook_fn(|ctx| {
                if let Some(n) = ctx.data.get("n").and_then(serde_json::Value::as_i64) {
                    ctx.data["n"] = serde_json::json!(n + 1);
                }
                Ok(llmspell_hooks::HookResult::Continue)
            }),
        )
        .forget();
    lua(
        &rt,
        r#"
        Hook.register("custom:same", function(ctx) ctx.data.x = 99 return nil end)
        local t = { x = 1 }
        local r = Hook.fire("custom:same", t)
        -- the hook only changed its own copy: the data is the caller's table
        assert(r.action == "continue" and rawequal(r.data, t) and t.x == 1)

        Hook.register("custom:changed", function(ctx) return { action = "modified", data = { x = 2 } } end)
        local r = Hook.fire("custom:changed", t)
        assert(r.action == "modified" and r.data.x == 2 and not rawequal(r.data, t) and t.x == 1)

        local u = { n = 1 }
        local r = Hook.fire("custom:inplace", u)
        assert(r.action == "continue" and r.data.n == 2, "n = " .. tostring(r.data.n))
        assert(not rawequal(r.data, u) and u.n == 1)
    "#,
    );
    settle(&rt);
}

#[test]
fn reused_coroutines_start_clean_after_errors_timeouts_and_waits() {
    // Hook calls run in coroutines the engine reuses. A coroutine that ended
    // in an error, was cut off by its time limit or waited inside a host
    // call must not leak its state (stack values, a pending yield) into the
    // next call it serves.
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.register("custom:fails", function(ctx) error("boom " .. ctx.data.n) end, { name = "fails" })
        Hook.register("custom:spins", function(ctx) while true do end end, { name = "spins", timeout_ms = 20 })
        Hook.register("custom:waits", function(ctx)
            local r = Tool.invoke("calculator", { expression = ctx.data.n .. " + 1" })
            return { action = "modified", data = { n = r.result } }
        end)
        Hook.register("custom:echo", function(ctx, extra)
            assert(extra == nil, "a stale argument reached the hook")
            return { action = "modified", data = { n = ctx.data.n, seen = ctx.point } }
        end)
        for i = 1, 150 do
            local which = i % 4
            if which == 0 then
                local r = Hook.fire("custom:fails", { n = i })
                assert(r.action == "continue" and r.data.n == i, "fail-open error changed the call")
            elseif which == 1 then
                if i % 20 == 1 then
                    local r = Hook.fire("custom:spins", { n = i })
                    assert(r.action == "continue")
                end
            elseif which == 2 then
                local r = Hook.fire("custom:waits", { n = i })
                assert(r.action == "modified" and r.data.n == i + 1, "waiting hook gave " .. tostring(r.data.n))
            else
                local r = Hook.fire("custom:echo", { n = i })
                assert(r.action == "modified" and r.data.n == i and r.data.seen == "custom:echo")
            end
        end
    "#,
    );
}

#[test]
fn hooks_fired_from_another_thread_answer_with_and_without_hand_off_polling() {
    // A caller on another thread polls briefly for the engine's answer
    // (`handoff_spin`) and then sleeps; both ways, and a hook slower than
    // the polling window, must deliver the hook's result.
    for spin in [Duration::ZERO, Duration::from_micros(50)] {
        let rt = common::runtime_with(|c| c.handoff_spin = spin);
        lua(
            &rt,
            r#"
            Hook.register("custom:quick", function(ctx)
                return { action = "modified", data = { n = ctx.data.n * 2 } }
            end)
            Hook.register("custom:slow", function(ctx)
                llmspell.sleep(5)
                return { action = "modified", data = { n = ctx.data.n + 1 } }
            end)
        "#,
        );
        let executor = llmspell_hooks::HookExecutor::new(rt.hooks().clone());
        let local = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        local.block_on(async {
            for (point, n, want) in [("quick", 21, 42), ("slow", 1, 2), ("quick", 4, 8)] {
                let mut ctx = llmspell_hooks::HookContext::new(
                    llmspell_hooks::HookPoint::custom(point).unwrap(),
                    llmspell_core::ComponentId::tool("t"),
                    serde_json::json!({ "n": n }),
                );
                executor.execute_point(&mut ctx).await.unwrap();
                assert_eq!(ctx.data["n"], want, "{point} with spin {spin:?}");
            }
        });
    }
}
