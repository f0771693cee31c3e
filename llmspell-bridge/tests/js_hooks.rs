//! The `Hook` global from JavaScript: registration, listing, firing, every
//! HookResult action through `Tool.invoke`, async hooks, ordering, time
//! limits of busy hooks, fail modes, rejected promises, re-entrancy and bad
//! arguments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, runtime, runtime_with, settle};

#[test]
fn register_list_unregister_and_points() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        const h = Hook.register("BeforeToolExecution", (ctx) => {}, { name: "audit", priority: "high", tags: ["audit"] });
        assert(typeof h.id() === "string");
        assert(h.point() === "BeforeToolExecution" && h.hook_point() === "BeforeToolExecution");
        const list = Hook.list("BeforeToolExecution");
        assert(list.length === 1 && list[0].name === "audit" && list[0].priority === "high", JSON.stringify(list));
        assert(list[0].language === "javascript" && list[0].tags[0] === "audit");
        assert(Hook.list({ tag: "audit" }).length === 1);
        assert(Hook.list({ language: "lua" }).length === 0);
        const points = Hook.points();
        assert(points.length >= 40 && points.includes("ToolError"));
        assert(h.unregister() === true);
        assert(h.unregister() === false);
        assert(Hook.list().length === 0);
        const h2 = Hook.register("AgentPaused", () => {});
        assert(Hook.unregister(h2.id()) === true);
        assert(Hook.unregister(h2) === false);
    "#,
    );
}

#[test]
fn bad_arguments_name_the_bad_value_and_the_valid_ones() {
    let rt = runtime();
    let e = js_err(&rt, "Hook.register('BeforeToolExecute', () => {})");
    assert!(
        e.starts_with("test.js:1:") && e.contains("did you mean \"BeforeToolExecution\"?"),
        "{e}"
    );
    let e = js_err(&rt, "\n\nHook.register('BeforeToolExecution', 42)");
    assert!(
        e.starts_with("test.js:3:") && e.contains("argument 2 must be a function or a composite hook (Hook.sequential, Hook.first_match, Hook.parallel, Hook.voting), got number"),
        "{e}"
    );
    let e = js_err(
        &rt,
        "Hook.register('BeforeToolExecution', () => {}, { priority: 'urgent' })",
    );
    assert!(
        e.contains("\"urgent\"") && e.contains("highest, high, normal, low, lowest"),
        "{e}"
    );
    let e = js_err(
        &rt,
        "Hook.register('BeforeToolExecution', () => {}, { colour: 'red' })",
    );
    assert!(e.contains("unknown hook option `colour`"), "{e}");
    let e = js_err(
        &rt,
        "Hook.register('BeforeToolExecution', () => {}, { f: () => 1 })",
    );
    assert!(
        e.contains("cannot convert a function to JSON (at .f)"),
        "{e}"
    );
}

#[test]
fn every_result_changes_a_real_tool_call() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        const only = (expr, result) => (ctx) => (ctx.data.expression === expr ? result : undefined);
        Hook.register("BeforeToolExecution", only("1 + 1", { action: "cancel", reason: "no additions" }));
        let err = null;
        try { await Tool.invoke("calculator", { expression: "1 + 1" }); } catch (e) { err = e.message; }
        assert(err && err.includes("no additions"), err);
        Hook.register("BeforeToolExecution", only("2 + 2", { action: "modified", data: { expression: "20 + 2" } }));
        assert((await Tool.invoke("calculator", { expression: "2 + 2" })).result === 22);
        Hook.register("BeforeToolExecution", only("bad input", { action: "replace", value: { result: 7 } }));
        assert((await Tool.invoke("calculator", { expression: "bad input" })).result === 7);
        Hook.register("BeforeToolExecution", only("3 + 3", { action: "skip", reason: "not mine" }));
        assert((await Tool.invoke("calculator", { expression: "3 + 3" })).result === 6);
        Hook.register("AfterToolExecution", (ctx) =>
            ctx.data.result === 100 ? { action: "modified", data: { result: 101, note: "bumped" } } : undefined);
        const out = await Tool.invoke("calculator", { expression: "10 * 10" });
        assert(out.result === 101 && out.note === "bumped", JSON.stringify(out));
    "#,
    );
}

#[test]
fn redirect_retry_fork_and_cache_with_script_defined_tools() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        let runs = 0, forked = 0, expensive = 0;
        Tool.register({ name: "flaky", description: "fails twice", handler: (p) => {
            runs++;
            if (runs < 3) throw new Error("transient " + runs);
            return { runs };
        } });
        Tool.register({ name: "backup", handler: (p) => ({ from: "backup", x: p.x }) });
        Tool.register({ name: "audit", handler: async () => { forked++; return { audited: true }; } });
        Tool.register({ name: "expensive", handler: (p) => { expensive++; return { v: p.v * 2 }; } });
        Tool.register({ name: "primary", handler: () => { throw new Error("should not run"); } });

        Hook.register("ToolError", (ctx) => ({ action: "retry", delay_ms: 1, max_attempts: 5 }), { component: "flaky" });
        const f = await Tool.invoke("flaky", {});
        assert(f.runs === 3 && runs === 3, JSON.stringify(f));

        Hook.register("BeforeToolExecution", () => ({ action: "redirect", target: "backup" }), { component: "primary" });
        const r = await Tool.invoke("primary", { x: 5 });
        assert(r.from === "backup" && r.x === 5, JSON.stringify(r));

        Hook.register("BeforeToolExecution", () => ({ action: "fork", operations: [{ target: "audit", input: {} }] }), { component: "backup" });
        await Tool.invoke("backup", { x: 1 });
        await llmspell.sleep(20);
        assert(forked === 1, "fork ran " + forked);

        Hook.register("BeforeToolExecution", (ctx) => ({ action: "cache", key: "expensive:" + ctx.data.v, ttl_ms: 60000 }), { component: "expensive" });
        assert((await Tool.invoke("expensive", { v: 4 })).v === 8);
        assert((await Tool.invoke("expensive", { v: 4 })).v === 8);
        assert(expensive === 1, "the cached call ran again");
    "#,
    );
}

#[test]
fn async_hooks_are_awaited_and_order_is_priority_then_registration() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        const order = [];
        for (const [name, p] of [["b", "normal"], ["a", "highest"], ["c", "normal"], ["d", -5]]) {
            Hook.register("custom:order", async () => { await llmspell.sleep(1); order.push(name); }, { priority: p });
        }
        await Hook.fire("custom:order", {});
        assert(order.join(",") === "a,b,c,d", order.join(","));
        Hook.register("BeforeToolExecution", async (ctx) => {
            await llmspell.sleep(5);
            return { action: "modified", data: { expression: "6 * 7" } };
        }, { component: "calculator" });
        assert((await Tool.invoke("calculator", { expression: "1" })).result === 42);
        const fired = await Hook.fire("custom:chain", { n: 1 });
        assert(fired.action === "continue" && fired.data.n === 1, JSON.stringify(fired));
    "#,
    );
}

#[test]
fn a_hook_fires_inside_the_same_scripts_tool_invoke_and_may_call_tools_itself() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        let depth = 0;
        Hook.register("BeforeToolExecution", async (ctx) => {
            if (ctx.component.name === "calculator" && ctx.data.expression === "1 + 1") {
                depth++;
                const inner = await Tool.invoke("hash_calculator", { operation: "hash", algorithm: "md5", input: "x" });
                assert(inner.hash === "9dd4e461268c8034f5c8564e155c67a6");
            }
        });
        assert((await Tool.invoke("calculator", { expression: "1 + 1" })).result === 2);
        assert(depth === 1);
    "#,
    );
}

#[test]
fn a_hook_that_calls_the_operation_it_hooks_stops_at_the_nesting_limit() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m); };
        let levels = 0;
        Hook.register("BeforeToolExecution", (ctx) => {
            if (ctx.data.expression === "1 + 0") { levels++; return Tool.invoke("calculator", { expression: "1 + 0" }).then(() => undefined); }
        }, { name: "recursive" });
        assert((await Tool.invoke("calculator", { expression: "1 + 0" })).result === 1);
        assert(levels >= 8 && levels <= 64, String(levels));
    "#,
    );
}

#[test]
fn a_busy_hook_is_stopped_and_the_call_goes_on_and_the_breaker_opens() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        Hook.register("BeforeToolExecution", (ctx) => { while (true) {} }, { name: "spinner", timeout_ms: 50 });
        const t = Date.now();
        assert((await Tool.invoke("calculator", { expression: "2 * 3" })).result === 6);
        assert(Date.now() - t < 5000, "the busy hook was not interrupted");
        const opened = Event.subscribe("hook.breaker.opened");
        for (let i = 0; i < 12; i++) await Tool.invoke("calculator", { expression: "1" });
        const ev = await Event.receive(opened, 2000);
        assert(ev && ev.data.hook_name === "spinner", JSON.stringify(ev));
    "#,
    );
}

#[test]
fn failures_are_contained_reported_and_fail_closed_cancels() {
    let rt = runtime_with(|c| c.callback_timeout = std::time::Duration::from_millis(300));
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        globalThis.failures = Event.subscribe("script.callback.failed");
        globalThis.reports = [];
        Hook.register("EventHandlerError", (ctx) => { reports.push(ctx.data.message); });
        Hook.register("BeforeToolExecution", () => { throw new Error("audit sink down"); }, { name: "thrower", component: "calculator" });
        Hook.register("BeforeToolExecution", () => Promise.reject(new Error("rejected!")), { name: "rejecter", component: "calculator" });
        Hook.register("BeforeToolExecution", () => 42, { name: "malformed", component: "calculator" });
        Hook.register("BeforeToolExecution", () => llmspell.sleep(5000), { name: "slow", component: "calculator" });
        const t = Date.now();
        assert((await Tool.invoke("calculator", { expression: "2 + 2" })).result === 4);
        assert(Date.now() - t < 4000, "the slow hook was waited for past its time limit");
        Tool.register({ name: "guarded", handler: () => ({ ran: true }) });
        Hook.register("BeforeToolExecution", () => { throw new Error("policy engine down"); }, { name: "strict", fail: "closed", component: "guarded" });
        let err = null;
        try { await Tool.invoke("guarded", {}); } catch (e) { err = e.message; }
        assert(err && err.includes("strict") && err.includes("policy engine down"), err);
    "#,
    );
    settle(&rt);
    js(
        &rt,
        r#"
        const assert = (c, m) => { if (!c) throw new Error(m || ("assertion failed " + new Error().stack.split("\n")[1].trim())); };
        const messages = [];
        for (;;) { const ev = await Event.receive(failures, 100); if (!ev) break; messages.push(ev.data.message); }
        const all = messages.join(" | ");
        assert(all.includes("test.js:6: audit sink down"), all);
        assert(all.includes("rejected!"), all);
        assert(all.includes("valid results"), all);
        assert(reports.some((m) => m.includes("audit sink down")), reports.join(" | "));
    "#,
    );
}

#[test]
fn hook_fire_hands_back_the_callers_object_only_when_no_hook_changed_the_data() {
    let rt = runtime();
    js(
        &rt,
        r#"
        const check = (ok, what) => { if (!ok) throw new Error(what); };
        Hook.register("custom:same", (ctx) => { ctx.data.x = 99; });
        const t = { x: 1 };
        let r = await Hook.fire("custom:same", t);
        check(r.action === "continue" && r.data === t && t.x === 1, "unchanged: " + JSON.stringify(r));

        Hook.register("custom:changed", () => ({ action: "modified", data: { x: 2 } }));
        r = await Hook.fire("custom:changed", t);
        check(r.action === "modified" && r.data.x === 2 && r.data !== t && t.x === 1, "modified");

        Hook.register("custom:cancelled", () => ({ action: "cancel", reason: "no" }));
        r = await Hook.fire("custom:cancelled", t);
        check(r.action === "cancel" && r.reason === "no" && r.data === t, "cancel");

        r = await Hook.fire("custom:nobody", 5);
        check(r.action === "continue" && r.data === 5, "a number");
        r = await Hook.fire("custom:nobody");
        check(r.data === null, "no data: " + r.data);
    "#,
    );
    settle(&rt);
}
