//! Correlation and parent ids chosen by scripts: any non-empty string of at
//! most 128 bytes comes back unchanged on events, in hook contexts and in
//! persisted history, from Lua and JavaScript; bad ids are errors naming the
//! field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, lua, lua_err, runtime, runtime_with, settle};
use llmspell_core::{CorrelationId, ExecutionContext, Language};
use llmspell_events::EventQuery;

const ASSERT: &str = "const assert = (c, m) => { if (!c) throw new Error(m || ('assertion failed ' + new Error().stack.split('\\n')[1].trim())); };\n";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Calls the calculator from Rust as an operation with chosen ids, as a
/// host application would.
fn invoke_with_chosen_ids(rt: &llmspell_bridge::ScriptRuntime, language: Language) {
    let exec = ExecutionContext::new(language)
        .with_correlation_id(CorrelationId::new("req-42").unwrap())
        .with_parent(CorrelationId::new("upstream-7").unwrap());
    let out = block_on(rt.host().tool_invoke(
        "calculator",
        serde_json::json!({ "expression": "2 + 3" }),
        &exec,
    ))
    .unwrap();
    assert_eq!(out["result"], 5);
}

#[test]
fn lua_publishes_and_receives_chosen_ids() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        got = {}
        Event.subscribe("orders.*", function(ev) got[#got + 1] = ev end)
        local pull = Event.subscribe("orders.**", { capacity = 8 })
        Event.publish("orders.created", { n = 1 }, { correlation_id = "req-42", parent_id = "upstream-7" })
        local ev = Event.receive(pull, 1000)
        assert(ev.correlation_id == "req-42", tostring(ev.correlation_id))
        assert(ev.parent_id == "upstream-7", tostring(ev.parent_id))
        -- UUIDs, in any spelling, also come back exactly as given.
        local upper = "0190D7A4-0000-7000-8000-00000000000A"
        local lower = "0190d7a4-0000-7000-8000-00000000000a"
        Event.publish("orders.paid", { n = 2 }, { correlation_id = upper, parent_id = lower })
        ev = Event.receive(pull, 1000)
        assert(ev.correlation_id == upper and ev.parent_id == lower, ev.correlation_id .. " " .. ev.parent_id)
        local long = string.rep("x", 128)
        Event.publish("orders.long", {}, { correlation_id = long, parent_id = "a/b%c d" })
        ev = Event.receive(pull, 1000)
        assert(ev.correlation_id == long and ev.parent_id == "a/b%c d")
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(#got == 3, tostring(#got))
        assert(got[1].correlation_id == "req-42" and got[1].parent_id == "upstream-7")
        assert(got[2].correlation_id == "0190D7A4-0000-7000-8000-00000000000A")
        assert(got[3].correlation_id == string.rep("x", 128) and got[3].parent_id == "a/b%c d")
    "#,
    );
}

#[test]
fn javascript_publishes_and_receives_chosen_ids() {
    let rt = runtime();
    js(
        &rt,
        &format!(
            "{ASSERT}{}",
            r#"
        const seen = [];
        Event.subscribe("orders.*", (ev) => { seen.push(ev); });
        const pull = Event.subscribe("orders.**", { capacity: 8 });
        await Event.publish("orders.created", { n: 1 }, { correlation_id: "req-42", parent_id: "upstream-7" });
        let ev = await Event.receive(pull, 1000);
        assert(ev.correlation_id === "req-42", String(ev.correlation_id));
        assert(ev.parent_id === "upstream-7", String(ev.parent_id));
        const long = "é".repeat(64);
        await Event.publish("orders.long", {}, { correlation_id: long, parent_id: "a/b%c d" });
        ev = await Event.receive(pull, 1000);
        assert(ev.correlation_id === long && ev.parent_id === "a/b%c d");
        await llmspell.sleep(20);
        assert(seen.length === 2, String(seen.length));
        assert(seen[0].correlation_id === "req-42" && seen[0].parent_id === "upstream-7");
        assert(seen[1].correlation_id === long && seen[1].parent_id === "a/b%c d");
    "#
        ),
    );
}

#[test]
fn lua_hooks_and_events_of_a_tool_call_carry_its_chosen_ids() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        seen = {}
        Hook.register("BeforeToolExecution", function(ctx)
            seen.hook = { ctx.correlation_id, ctx.parent_id }
        end)
        Event.subscribe("tool.calculator.completed", function(ev)
            seen.event = { ev.correlation_id, ev.parent_id }
        end)
    "#,
    );
    invoke_with_chosen_ids(&rt, Language::Lua);
    settle(&rt);
    lua(
        &rt,
        r#"
        assert(seen.hook[1] == "req-42" and seen.hook[2] == "upstream-7",
            tostring(seen.hook[1]) .. " " .. tostring(seen.hook[2]))
        assert(seen.event[1] == "req-42" and seen.event[2] == "upstream-7")
    "#,
    );
}

#[test]
fn javascript_hooks_and_events_of_a_tool_call_carry_its_chosen_ids() {
    let rt = runtime();
    js(
        &rt,
        r#"
        globalThis.seen = {};
        Hook.register("BeforeToolExecution", (ctx) => {
            seen.hook = [ctx.correlation_id, ctx.parent_id];
        });
        Event.subscribe("tool.calculator.completed", (ev) => {
            seen.event = [ev.correlation_id, ev.parent_id];
        });
    "#,
    );
    invoke_with_chosen_ids(&rt, Language::Javascript);
    settle(&rt);
    js(
        &rt,
        &format!(
            "{ASSERT}{}",
            r#"
        assert(seen.hook[0] === "req-42" && seen.hook[1] === "upstream-7", JSON.stringify(seen.hook));
        assert(seen.event[0] === "req-42" && seen.event[1] === "upstream-7", JSON.stringify(seen.event));
    "#
        ),
    );
}

#[test]
fn chosen_ids_published_from_scripts_are_persisted_and_queried_back() {
    let rt = runtime_with(|c| c.persist = vec!["orders.**".to_owned()]);
    lua(
        &rt,
        r#"
        Event.publish("orders.created", { n = 1 }, { correlation_id = "req-42", parent_id = "upstream-7" })
        Event.publish("orders.created", { n = 2 }, { correlation_id = "req-42/retry" })
        Event.publish("orders.created", { n = 3 })
    "#,
    );
    js(
        &rt,
        r#"await Event.publish("orders.paid", { n: 4 }, { correlation_id: "req-42" });"#,
    );
    let store = rt.event_store().clone();
    rt.shutdown().unwrap();
    let got = block_on(
        store.query(&EventQuery::new().correlation_id("req-42".parse::<CorrelationId>().unwrap())),
    )
    .unwrap();
    let ns: Vec<_> = got.iter().map(|e| e.data["n"].clone()).collect();
    assert_eq!(ns, [serde_json::json!(1), serde_json::json!(4)]);
    assert_eq!(got[0].metadata.parent_id.as_ref().unwrap(), "upstream-7");
    assert_eq!(got[0].to_json()["correlation_id"], "req-42");
    assert_eq!(got[1].language, Language::Javascript);
}

#[test]
fn bad_ids_from_lua_are_errors_naming_the_field() {
    let rt = runtime();
    let cases = [
        (
            "correlation_id = ''",
            "`correlation_id`",
            "must not be empty",
        ),
        (
            "correlation_id = string.rep('x', 129)",
            "`correlation_id`",
            "is 129 bytes long",
        ),
        (
            "correlation_id = 42",
            "`correlation_id`",
            "expected a correlation id",
        ),
        (
            "correlation_id = 'a\\nb'",
            "`correlation_id`",
            "control character",
        ),
        ("parent_id = ''", "`parent_id`", "must not be empty"),
        (
            "parent_id = { 1 }",
            "`parent_id`",
            "expected a correlation id",
        ),
    ];
    for (option, field, why) in cases {
        let e = lua_err(&rt, &format!("Event.publish('a', 1, {{ {option} }})"));
        assert!(
            e.contains("Event.publish") && e.contains(field) && e.contains(why),
            "{option}: {e}"
        );
        assert!(e.contains("at most 128 bytes"), "{option}: {e}");
    }
}

#[test]
fn bad_ids_from_javascript_are_errors_naming_the_field() {
    let rt = runtime();
    let cases = [
        (
            "correlation_id: ''",
            "`correlation_id`",
            "must not be empty",
        ),
        (
            "correlation_id: 'x'.repeat(129)",
            "`correlation_id`",
            "is 129 bytes long",
        ),
        (
            "correlation_id: true",
            "`correlation_id`",
            "expected a correlation id",
        ),
        ("parent_id: '\\u0007'", "`parent_id`", "control character"),
    ];
    for (option, field, why) in cases {
        let e = js_err(&rt, &format!("await Event.publish('a', 1, {{ {option} }})"));
        assert!(
            e.contains("Event.publish") && e.contains(field) && e.contains(why),
            "{option}: {e}"
        );
        assert!(e.contains("at most 128 bytes"), "{option}: {e}");
    }
}

#[test]
fn lua_calls_take_chosen_ids_as_their_last_argument() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local seen = {}
        for _, p in ipairs({ "BeforeToolExecution", "BeforeAgentExecution", "BeforeWorkflowStart", "custom:probe" }) do
            Hook.register(p, function(ctx)
                seen[ctx.point] = { ctx.correlation_id, ctx.parent_id }
            end)
        end
        local ids = { correlation_id = "req-42", parent_id = "upstream-7" }
        Tool.invoke("calculator", { expression = "1 + 1" }, ids)
        local a = Agent.create({ name = "echo", type = "basic", handler = function(input) return input end })
        a:invoke({ text = "hi" }, ids)
        local wf = Workflow.sequential({ name = "wf", steps = { { name = "s", fn = function(input) return input end } } })
        wf:execute({}, ids)
        Hook.fire("custom:probe", {}, { component = "probe", correlation_id = "req-42", parent_id = "upstream-7" })
        for _, p in ipairs({ "BeforeToolExecution", "BeforeAgentExecution", "BeforeWorkflowStart", "custom:probe" }) do
            assert(seen[p], p .. " did not fire")
            assert(seen[p][1] == "req-42" and seen[p][2] == "upstream-7",
                p .. " saw " .. tostring(seen[p][1]) .. " / " .. tostring(seen[p][2]))
        end
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1" }, { correlation = "x" })
        assert(not ok and err.kind == "invalid_input" and err:find("unknown call option `correlation`")
            and err:find("valid: correlation_id, parent_id$"), tostring(err))
        ok, err = pcall(Tool.invoke, "calculator", { expression = "1" }, { correlation_id = "" })
        assert(not ok and tostring(err):find("correlation_id"), tostring(err))
    "#,
    );
}

#[test]
fn javascript_calls_take_chosen_ids_as_their_last_argument() {
    let rt = runtime();
    js(
        &rt,
        &format!(
            "{ASSERT}{}",
            r#"
        const seen = {};
        for (const p of ["BeforeToolExecution", "BeforeAgentExecution", "BeforeWorkflowStart", "custom:probe"]) {
            Hook.register(p, (ctx) => { seen[ctx.point] = [ctx.correlation_id, ctx.parent_id]; });
        }
        const ids = { correlation_id: "req-42", parent_id: "upstream-7" };
        await Tool.invoke("calculator", { expression: "1 + 1" }, ids);
        const a = await Agent.create({ name: "echo", type: "basic", handler: (input) => input });
        await a.invoke({ text: "hi" }, ids);
        const wf = Workflow.sequential({ name: "wf", steps: [{ name: "s", fn: (input) => input }] });
        await wf.execute({}, ids);
        await Hook.fire("custom:probe", {}, { component: "probe", correlation_id: "req-42", parent_id: "upstream-7" });
        for (const p of ["BeforeToolExecution", "BeforeAgentExecution", "BeforeWorkflowStart", "custom:probe"]) {
            assert(seen[p], p + " did not fire");
            assert(seen[p][0] === "req-42" && seen[p][1] === "upstream-7", p + " saw " + seen[p]);
        }
        let err = null;
        try { await Tool.invoke("calculator", { expression: "1" }, { correlation: "x" }); } catch (e) { err = String(e); }
        assert(err && err.includes("unknown call option `correlation` (did you mean `correlation_id`?); valid: correlation_id, parent_id"), err);
    "#
        ),
    );
}
