//! The `Event`, `Tool`, `Agent` and `Workflow` globals, `console`, `print`,
//! `llmspell`, conversions, errors and the sandbox, from JavaScript.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, runtime, runtime_with, settle};

const ASSERT: &str = "const assert = (c, m) => { if (!c) throw new Error(m || ('assertion failed ' + new Error().stack.split('\\n')[1].trim())); };\n";

fn run(rt: &llmspell_bridge::ScriptRuntime, src: &str) {
    js(rt, &format!("{ASSERT}{src}"));
}

#[test]
fn events_publish_subscribe_receive_and_unsubscribe() {
    let rt = runtime();
    run(
        &rt,
        r#"
        const seen = [];
        const sub = Event.subscribe("orders.*", (ev) => { seen.push(ev); });
        assert(typeof sub.id() === "string" && sub.pattern() === "orders.*");
        const id = await Event.publish("orders.created", { n: 1 }, { tags: ["a"], correlation_id: "0190d7a4-0000-7000-8000-00000000000a" });
        assert(typeof id === "string");
        await Event.emit("orders.paid", { n: 2 });
        await Event.publish("other.topic", {});
        await llmspell.sleep(20);
        assert(seen.length === 2, String(seen.length));
        const ev = seen[0];
        assert(ev.type === "orders.created" && ev.event_type === ev.type && ev.data.n === 1);
        assert(ev.language === "javascript" && ev.tags[0] === "a");
        assert(ev.correlation_id === "0190d7a4-0000-7000-8000-00000000000a" && typeof ev.sequence === "number");
        assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(ev.timestamp), ev.timestamp);
        assert(!isNaN(Date.parse(ev.timestamp.slice(0, 23) + "Z")));
        const pull = Event.subscribe("jobs.**", { capacity: 8 });
        await Event.publish("jobs.a.b", { job: 1 });
        const got = await Event.receive(pull, 500);
        assert(got && got.data.job === 1);
        assert((await Event.receive(pull.id(), 10)) === null);
        assert(Event.list_subscriptions().some((s) => s.pattern === "jobs.**" && s.language === "javascript"));
        const stats = Event.stats();
        assert(stats.published >= 4 && stats.subscriptions >= 2, JSON.stringify(stats));
        assert(sub.unsubscribe() === true && Event.unsubscribe(sub) === false);
        assert(Event.unsubscribe(pull) === true);
    "#,
    );
}

#[test]
fn event_errors_name_the_bad_value() {
    let rt = runtime();
    let e = js_err(&rt, "Event.subscribe('a..b', () => {})");
    assert!(
        e.contains("Event.subscribe") && e.contains("segment"),
        "{e}"
    );
    let e = js_err(&rt, "await Event.publish('x', { f: () => 1 })");
    assert!(
        e.contains("Event.publish: argument 2 (data): cannot convert a function to JSON (at .f)"),
        "{e}"
    );
    let e = js_err(&rt, "Event.subscribe('x', 42)");
    assert!(
        e.contains("must be a callback function or an options object"),
        "{e}"
    );
    let e = js_err(
        &rt,
        "const s = Event.subscribe('full', { capacity: 1, overflow: 'reject' }); await Event.publish('full', 1); await Event.publish('full', 2);",
    );
    assert!(e.contains("full"), "{e}");
    let e = js_err(&rt, "await Event.receive('zzz', 1)");
    assert!(e.contains("not a subscription id"), "{e}");
}

#[test]
fn a_failing_callback_is_reported_and_delivery_goes_on() {
    let rt = runtime();
    run(
        &rt,
        r#"
        globalThis.count = 0;
        globalThis.failures = Event.subscribe("script.callback.failed");
        Event.subscribe("tick", async (ev) => { count++; if (ev.data === 2) throw new Error("cb broke"); });
        for (let i = 1; i <= 3; i++) await Event.publish("tick", i);
    "#,
    );
    settle(&rt);
    run(
        &rt,
        r#"
        assert(count === 3, String(count));
        const ev = await Event.receive(failures, 1000);
        assert(ev && ev.data.language === "javascript" && ev.data.message.includes("cb broke"), JSON.stringify(ev));
    "#,
    );
}

#[test]
fn tools_list_info_invoke_and_register() {
    let rt = runtime();
    run(
        &rt,
        r#"
        const list = await Tool.list();
        assert(list.length >= 20 && list.some((t) => t.name === "calculator" && t.security_level));
        const info = Tool.info("calculator");
        assert(info.name === "calculator" && info.parameters.type === "object");
        assert(info.parameters.properties.expression && info.examples[0].expression === "2 + 2 * x");
        const text = Tool.info("text_manipulator").parameters;
        assert(text.oneOf.length === text.properties.operation.enum.length);
        const out = await Tool.invoke("calculator", { expression: "2 + 2 * x", variables: { x: 3 } });
        assert(out.result === 8 && Number.isInteger(out.result));
        Tool.register({ name: "shout", description: "upper-cases", parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
            handler: async (p) => ({ text: p.text.toUpperCase() }) });
        assert((await Tool.invoke("shout", { text: "hi" })).text === "HI");
        assert(Tool.info("shout").language === "javascript");
        let err = null;
        try { await Tool.invoke("shout", { text: 5 }); } catch (e) { err = e.message; }
        assert(err && err.includes("text"), err);
        err = null;
        try { await Tool.invoke("no_such_tool"); } catch (e) { err = e.message; }
        assert(err && err.includes("no_such_tool"), err);
    "#,
    );
    let e = js_err(&rt, "Tool.register({ name: 'x' })");
    assert!(e.contains("`handler` must be a function"), "{e}");
    let e = js_err(&rt, "Tool.info(3)");
    assert!(
        e.contains("Tool.info: argument 1 (the tool name) must be a string, got number"),
        "{e}"
    );
}

#[test]
fn agents_lifecycle_handlers_and_tool_calls() {
    let rt = runtime();
    run(
        &rt,
        r#"
        const seen = [];
        Hook.register("BeforeAgentExecution", (ctx) => { seen.push(ctx.component.name); });
        const a = await Agent.create({ name: "helper", type: "basic", handler: async (input, agent) => {
            assert(agent.name === "helper" && agent.state() === "Running" && agent.attempt() === 1);
            assert(typeof agent.correlation_id() === "string");
            const r = await agent.invoke_tool("calculator", { expression: input.expr });
            return { answer: r.result };
        } });
        assert(a.name === "helper" && a.state() === "Ready" && a.type() === "basic");
        const out = await a.invoke({ expr: "6 * 7" });
        assert(out.answer === 42, JSON.stringify(out));
        assert(seen.includes("helper"));
        assert((await a.invoke_tool("calculator", { expression: "1 + 1" })).result === 2);
        await a.pause();
        assert(a.state() === "Paused");
        await a.resume();
        assert(Agent.list().some((x) => x.name === "helper" && x.type === "basic"));
        assert(Agent.get("helper").name === "helper" && Agent.get("nobody") === null);
        await a.terminate();
        assert(a.state() === "Terminated");
        let err = null;
        try { await Agent.create({ name: "w", type: "wizard" }); } catch (e) { err = e.message; }
        assert(err && err.includes("wizard"), err);
    "#,
    );
}

#[test]
fn workflows_of_every_pattern_with_script_steps() {
    let rt = runtime();
    run(
        &rt,
        r#"
        const doubler = await Agent.create({ name: "doubler", type: "basic", handler: (input) => ({ v: input.v * 2 }) });
        const seq = Workflow.sequential({ name: "etl", steps: [
            { name: "calc", tool: "calculator", input: { expression: "20 + 1" } },
            { name: "double", agent: doubler, input: (state) => ({ v: state.outputs.calc.result }) },
            { name: "done", fn: (input, state) => ({ total: state.outputs.double.v + 0 }) },
        ] });
        assert(seq.name === "etl");
        const r = await seq.execute({});
        assert(r.success && r.outputs.done.total === 42, JSON.stringify(r.outputs));
        const cond = Workflow.conditional({ name: "route", branches: [
            { name: "big", when: (state) => state.input.n > 10, steps: [{ name: "b", fn: () => ({ size: "big" }) }] },
        ], default: [{ name: "s", fn: () => ({ size: "small" }) }] });
        assert((await cond.execute({ n: 50 })).outputs.b.size === "big");
        assert((await cond.execute({ n: 1 })).outputs.s.size === "small");
        // conditions follow JavaScript truthiness: 0 and "" are false
        const falsy = Workflow.conditional({ name: "falsy", branches: [
            { name: "zero", when: () => 0, steps: [{ name: "z", fn: () => ({ took: "zero" }) }] },
            { name: "empty", when: () => "", steps: [{ name: "e", fn: () => ({ took: "empty" }) }] },
        ], default: [{ name: "d", fn: () => ({ took: "default" }) }] });
        const fr = await falsy.execute({});
        assert(fr.outputs.d && fr.outputs.d.took === "default" && !fr.outputs.z && !fr.outputs.e, JSON.stringify(fr.outputs));
        const loop = Workflow.loop({ name: "count", range: [1, 5, 1], body: [{ name: "it", fn: (input, state) => ({ i: state.iteration }) }] });
        const lr = await loop.execute({});
        assert(lr.success, JSON.stringify(lr));
        const par = Workflow.parallel({ name: "fan", max_concurrency: 2, branches: [
            { name: "x", steps: [{ name: "px", fn: async () => { await llmspell.sleep(5); return { x: 1 }; } }] },
            { name: "y", steps: [{ name: "py", workflow: seq }] },
        ] });
        const pr = await par.execute({});
        assert(pr.success && pr.outputs.px.x === 1, JSON.stringify(pr.outputs));
        assert(Workflow.list().some((w) => w.name === "etl") && Workflow.get("etl").name === "etl");
    "#,
    );
    let e = js_err(
        &rt,
        "Workflow.sequential({ name: 'bad', steps: [{ name: 's' }] })",
    );
    assert!(e.contains("Workflow.sequential"), "{e}");
}

#[test]
fn conversions_and_output() {
    let rt = runtime_with(|c| c.script_args = vec!["alpha".into(), "--beta".into()]);
    run(
        &rt,
        r#"
        assert(llmspell.version === "0.1.0");
        assert(llmspell.args.length === 2 && llmspell.args[1] === "--beta");
        // The hook hands the data back changed, so it crosses to the host and back.
        Hook.register("custom:echo", (ctx) => ({ action: "modified", data: Object.assign({ echoed: true }, ctx.data) }));
        const r = await Hook.fire("custom:echo", { i: 42, f: 1.5, list: [1, null, "x"], empty: [], obj: {}, u: undefined });
        assert(r.data.i === 42 && r.data.f === 1.5 && r.data.list[1] === null && r.data.list.length === 3);
        assert(Array.isArray(r.data.empty) && !Array.isArray(r.data.obj) && !("u" in r.data) && r.data.echoed);
        let fired = false;
        setTimeout(() => { fired = true; }, 5);
        const cancelled = setTimeout(() => { throw new Error("should not fire"); }, 5);
        clearTimeout(cancelled);
        await llmspell.sleep(30);
        assert(fired);
        const failures = Event.subscribe("script.callback.failed");
        setTimeout(() => { throw new Error("timer broke"); }, 1);
        const failed = await Event.receive(failures, 1000);
        assert(failed && failed.data.callback === "timer callback" && failed.data.message === "timer broke", JSON.stringify(failed));
        console.log("log line", { a: 1 });
        print("print line", [1, 2]);
    "#,
    );
    let e = js_err(
        &rt,
        "const o = {}; o.self = o; await Hook.fire('custom:x', o)",
    );
    assert!(
        e.contains("cyclic value") && e.contains("(at .self)"),
        "{e}"
    );
    let e = js_err(&rt, "await Hook.fire('custom:x', { n: NaN })");
    assert!(e.contains("NaN"), "{e}");
    let e = js_err(&rt, "await llmspell.sleep(-1)");
    assert!(e.contains("llmspell.sleep"), "{e}");
}

#[test]
fn uncaught_errors_have_file_and_line_and_the_sandbox_holds() {
    let rt = runtime();
    let e = js_err(&rt, "const x = 1;\n\nthrow new Error('boom');");
    assert_eq!(e, "test.js:3: boom");
    // boa places errors raised by the engine itself only approximately
    let e = js_err(&rt, "const x = 1;\nnull.f();");
    assert!(e.starts_with("test.js:") && e.contains("TypeError"), "{e}");
    let e = js_err(&rt, "let x = ;");
    assert!(e.contains("test.js"), "{e}");
    run(
        &rt,
        r#"
        assert(typeof require === "undefined" && typeof process === "undefined");
        assert(typeof Deno === "undefined" && typeof fetch === "undefined");
        let failed = false;
        try { await import("fs"); } catch (e) { failed = true; }
        assert(failed, "import of a module must fail");
    "#,
    );
    // globals are shared between files through globalThis
    js(&rt, "globalThis.shared = 7;");
    run(&rt, "assert(shared === 7);");
}

#[test]
fn unhandled_rejections_are_reported_and_handled_ones_are_not() {
    let rt = runtime();
    run(
        &rt,
        r#"
        globalThis.failures = Event.subscribe("script.callback.failed");
        // handled: awaited in try/catch, or given a catch handler
        try { await Tool.invoke("no_such_tool"); } catch (e) {}
        Tool.invoke("no_such_tool_either").catch(() => {});
        // not handled by anyone
        Promise.reject(new Error("nobody catches this"));
    "#,
    );
    settle(&rt);
    run(
        &rt,
        r#"
        const seen = [];
        for (;;) { const ev = await Event.receive(failures, 200); if (!ev) break; seen.push(ev.data); }
        assert(seen.length === 1, JSON.stringify(seen));
        assert(seen[0].callback === "promise (unhandled rejection)" && seen[0].message.includes("test.js:") && seen[0].message.includes("nobody catches this"), JSON.stringify(seen));
    "#,
    );
}
