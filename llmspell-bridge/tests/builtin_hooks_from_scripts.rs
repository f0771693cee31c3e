//! `Hook.use` and `Hook.report` from Lua and JavaScript: each built-in hook
//! turned on by name changes what the script's calls do, and reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, lua, lua_err, runtime};

/// A tool registered by the script that counts its runs: a cache hit or a
/// refused call leaves the count alone, a retry adds to it.
const COUNTING_TOOL_LUA: &str = r#"
runs = 0
Tool.register({ name = "counted", description = "counts its runs",
    handler = function(p)
        runs = runs + 1
        if p.fail_until and runs < p.fail_until then error("flaky, run " .. runs) end
        return { n = p.n, runs = runs }
    end })
"#;

/// `src` after [`COUNTING_TOOL_LUA`].
fn with_counting_tool(src: &str) -> String {
    format!("{COUNTING_TOOL_LUA}{src}")
}

#[test]
fn lua_caching_serves_the_second_call_without_running_the_tool() {
    let rt = runtime();
    lua(
        &rt,
        &with_counting_tool(
            r#"
        local h = Hook.use("caching", { ttl_ms = 60000, component = "counted" })
        assert(h:name() == "caching" and h:point() == "BeforeToolExecution")
        assert(Tool.invoke("counted", { n = 1 }).runs == 1)
        assert(Tool.invoke("counted", { n = 1 }).runs == 1, "served from the cache")
        assert(runs == 1)
        assert(Tool.invoke("counted", { n = 2 }).runs == 2, "another input runs")
        local r = Hook.report("caching")
        assert(r.hook == "caching" and r.hits == 1 and r.misses == 2, r.hits .. "/" .. r.misses)
        assert(h:report().hits == 1)
        assert(h:unregister() == true)
        Tool.invoke("counted", { n = 1 })
        assert(runs == 3, "no cache once unregistered")
    "#,
        ),
    );
}

#[test]
fn lua_rate_limit_cancels_the_call_over_quota() {
    let rt = runtime();
    lua(
        &rt,
        &with_counting_tool(
            r#"
        Hook.use("rate_limit", { per_minute = 1, burst = 1, component = "counted", mode = "cancel" })
        Tool.invoke("counted", { n = 1 })
        local ok, err = pcall(Tool.invoke, "counted", { n = 2 })
        assert(not ok and err.kind == "cancelled", tostring(err))
        assert(runs == 1)
        assert(Hook.report("rate_limit").limited == 1)
        -- Other tools have their own quota.
        Tool.invoke("calculator", { expression = "1+1" })
    "#,
        ),
    );
}

#[test]
fn lua_retry_really_re_runs_a_failing_tool() {
    let rt = runtime();
    lua(
        &rt,
        &with_counting_tool(
            r#"
        Hook.use("retry", { max_attempts = 3, backoff_ms = 1, retry_on = { "tool_failed" } })
        local out = Tool.invoke("counted", { n = 1, fail_until = 3 })
        assert(out.runs == 3 and runs == 3, "ran " .. runs .. " times")
        local r = Hook.report("retry")
        assert(r.retries == 2, "retries " .. r.retries)
    "#,
        ),
    );
}

#[test]
fn lua_security_denies_a_tool_and_keeps_an_intact_audit_log() {
    let rt = runtime();
    lua(
        &rt,
        &with_counting_tool(
            r#"
        local h = Hook.use("security", { audit = true, deny = { { tool = "count*" } } })
        local ok, err = pcall(Tool.invoke, "counted", { n = 1 })
        assert(not ok and err.kind == "cancelled", tostring(err))
        assert(tostring(err):find("denied_component"), tostring(err))
        assert(runs == 0)
        Tool.invoke("calculator", { expression = "2*3" })
        local r = h:report()
        assert(r.violations == 1)
        assert(r.audit.verified == 2 and r.audit.problem == nil, "audit " .. tostring(r.audit.verified))
    "#,
        ),
    );
}

#[test]
fn lua_cost_guard_cancels_a_call_over_budget() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.use("cost_tracking", { budget_usd = 0.0001,
            pricing = { ["openai/gpt-4o-mini"] = { input = 0.15, output = 0.6 } } })
        local request = { model = "gpt-4o-mini", provider = "openai",
            messages = { { role = "user", content = "hi" } }, max_tokens = 100 }
        assert(Hook.fire("BeforeLlmCall", request).action == "continue")
        request.max_tokens = 100000
        local r = Hook.fire("BeforeLlmCall", request)
        assert(r.action == "cancel" and r.reason:find("budget"), r.reason)
        local report = Hook.report("cost_tracking")
        assert(report.hook == "cost_tracking")
    "#,
    );
}

#[test]
fn lua_unknown_names_and_options_are_named_with_the_valid_ones() {
    let rt = runtime();
    let e = lua_err(&rt, "Hook.use('cache', {})");
    assert!(
        e.contains("Hook.use") && e.contains("did you mean `caching`") && e.contains("rate_limit"),
        "{e}"
    );
    let e = lua_err(&rt, "Hook.use('caching', { ttl = 5 })");
    assert!(
        e.contains("`ttl`") && e.contains("did you mean `ttl_ms`") && e.contains("component"),
        "{e}"
    );
    let e = lua_err(&rt, "Hook.use('retry', { points = { 'ToolEror' } })");
    assert!(e.contains("ToolError"), "{e}");
    let e = lua_err(&rt, "Hook.report('metrics')");
    assert!(e.contains("not in use"), "{e}");
}

#[test]
fn js_uses_the_same_names_and_gets_the_same_results() {
    let rt = runtime();
    js(
        &rt,
        r#"
        let runs = 0;
        Tool.register({ name: "counted", description: "counts its runs",
            handler: async (p) => { runs += 1; return { n: p.n, runs }; } });
        const h = Hook.use("caching", { ttl_ms: 60000, component: "counted" });
        if (h.name() !== "caching" || h.point() !== "BeforeToolExecution") throw new Error("handle");
        await Tool.invoke("counted", { n: 1 });
        const again = await Tool.invoke("counted", { n: 1 });
        if (again.runs !== 1 || runs !== 1) throw new Error("not served from the cache: " + runs);
        const r = await Hook.report("caching");
        if (r.hits !== 1 || r.misses !== 1) throw new Error(JSON.stringify(r));
        if ((await h.report()).hits !== 1) throw new Error("handle report");
        Hook.use("rate_limit", { per_minute: 1, burst: 1, component: "calculator", mode: "cancel" });
        await Tool.invoke("calculator", { expression: "1+1" });
        try {
            await Tool.invoke("calculator", { expression: "1+1" });
            throw new Error("not limited");
        } catch (e) {
            if (e.kind !== "cancelled") throw e;
        }
        if ((await Hook.report("rate_limit")).limited !== 1) throw new Error("limited");
        if (!Hook.unregister(h)) throw new Error("unregister");
    "#,
    );
    let e = js_err(&rt, "Hook.use('caching', { ttl: 5 })");
    assert!(e.contains("did you mean `ttl_ms`"), "{e}");
}
