//! Errors scripts can branch on: every failing host call hands the script a
//! value with `kind`, `message` and the error's fields (a table in Lua, an
//! `Error` in JavaScript), for each kind a script can meet, and the message
//! still reads as before (`tostring`, uncaught-error reports).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../llmspell-agents/tests/support/mock_server.rs"]
mod mock_server;

use common::{js, js_err, lua, lua_err, runtime};
use serde_json::json;

/// Each Lua case: a call that fails, the kind it must report, and a check
/// of its fields.
const LUA_CASES: &str = r#"
local function failure(f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "the call did not fail")
    assert(type(err) == "table", "the error is a " .. type(err))
    return err
end

-- invalid_input: a wrong argument, and parameters the tool refuses
local e = failure(Tool.invoke, 42)
assert(e.kind == "invalid_input", e.kind)
assert(e.message:find("argument 1", 1, true), e.message)
e = failure(Tool.invoke, "calculator", { expression = 5 })
assert(e.kind == "invalid_input" and e.field ~= nil, e.kind .. " " .. tostring(e.field))

-- not_found, with the name asked for
e = failure(Tool.invoke, "no_such_tool")
assert(e.kind == "not_found" and e.name == "no_such_tool", e.kind)

-- cancelled, naming the hook and its reason
local h = Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.expression == "1 + 1" then return { action = "cancel", reason = "no additions" } end
end, { name = "guard" })
e = failure(Tool.invoke, "calculator", { expression = "1 + 1" })
assert(e.kind == "cancelled" and e.hook == "guard" and e.reason == "no additions",
    e.kind .. " " .. tostring(e.hook) .. " " .. tostring(e.reason))
h:unregister()

-- hook_failed: a fail-closed hook that errors
h = Hook.register("BeforeToolExecution", function() error("policy store down") end,
    { name = "policy", fail = "closed" })
e = failure(Tool.invoke, "calculator", { expression = "2 + 2" })
assert(e.kind == "hook_failed" and e.hook == "policy", e.kind .. " " .. tostring(e.hook))
h:unregister()

-- tool_failed: a tool whose handler raises
Tool.register({ name = "brittle", handler = function() error("snapped") end })
e = failure(Tool.invoke, "brittle", {})
assert(e.kind == "tool_failed" and e.component == "tool:brittle", e.kind)
assert(e.message:find("snapped", 1, true), e.message)

-- security_violation: a tool above the caller's level
Tool.register({ name = "root_only", security_level = "privileged", handler = function() return {} end })
e = failure(Tool.invoke, "root_only", {})
assert(e.kind == "security_violation", e.kind)

-- resource_limit: parameters past the input limit
Tool.register({ name = "sink", handler = function() return {} end })
e = failure(Tool.invoke, "sink", { text = string.rep("1", 2 * 1024 * 1024) })
assert(e.kind == "resource_limit" and e.resource == "input_bytes", e.kind)
assert(e.limit < e.requested)

-- from the bus: a bad topic, a full subscription with the reject policy,
-- an event a BeforeEventEmit hook refuses
e = failure(Event.publish, "bad..topic", {})
assert(e.kind == "invalid_input", e.kind)
local strict = Event.subscribe("billing.charge", { capacity = 1, overflow = "reject" })
Event.publish("billing.charge", { n = 1 })
e = failure(Event.publish, "billing.charge", { n = 2 })
assert(e.kind == "resource_limit" and e.resource == "subscription_capacity" and e.limit == 1, e.kind)
strict:unsubscribe()
h = Hook.register("BeforeEventEmit", function() return { action = "cancel", reason = "quiet hours" } end,
    { name = "quiet" })
e = failure(Event.publish, "billing.charge", { n = 3 })
assert(e.kind == "cancelled" and e.hook == "quiet" and e.reason == "quiet hours", e.kind)
h:unregister()

-- the message reads as it always did: with the calling line, through
-- tostring, concatenation and string methods
e = failure(function()
    local out = Tool.invoke("no_such_tool")
    return out
end)
assert(tostring(e) == e.message)
assert(e.message:match("^test%.lua:%d+: "), e.message)
assert(e:find("no_such_tool", 1, true))
assert(("error: " .. e):find("not found", 1, true))

-- a script can re-raise it, and catch it again unchanged
local ok, again = pcall(function() error(e) end)
assert(not ok and again == e and again.kind == "not_found")
"#;

#[test]
fn lua_errors_carry_kind_and_fields() {
    lua(&runtime(), LUA_CASES);
}

const JS_CASES: &str = r#"
async function failure(f) {
    try { await f(); } catch (e) {
        if (!(e instanceof Error)) throw new Error(`not an Error: ${e}`);
        return e;
    }
    throw new Error("the call did not fail");
}
function check(cond, what) { if (!cond) throw new Error(what); }

let e = await failure(() => Tool.invoke(42));
check(e.kind === "invalid_input", `argument: ${e.kind}`);
e = await failure(() => Tool.info(42));
check(e.kind === "invalid_input", `sync argument: ${e.kind} ${e.message}`);
e = await failure(() => Tool.invoke("calculator", { expression: 5 }));
check(e.kind === "invalid_input" && e.field !== undefined, `params: ${e.kind}`);

e = await failure(() => Tool.invoke("no_such_tool"));
check(e.kind === "not_found" && e.name === "no_such_tool", `not_found: ${e.kind}`);
check(e.message.includes("not found"), e.message);

let h = Hook.register("BeforeToolExecution", (ctx) => {
    if (ctx.data.expression === "1 + 1") return { action: "cancel", reason: "no additions" };
}, { name: "guard" });
e = await failure(() => Tool.invoke("calculator", { expression: "1 + 1" }));
check(e.kind === "cancelled" && e.hook === "guard" && e.reason === "no additions",
    `cancelled: ${e.kind} ${e.hook} ${e.reason}`);
h.unregister();

h = Hook.register("BeforeToolExecution", () => { throw new Error("policy store down"); },
    { name: "policy", fail: "closed" });
e = await failure(() => Tool.invoke("calculator", { expression: "2 + 2" }));
check(e.kind === "hook_failed" && e.hook === "policy", `hook_failed: ${e.kind}`);
h.unregister();

Tool.register({ name: "brittle_js", handler: () => { throw new Error("snapped"); } });
e = await failure(() => Tool.invoke("brittle_js", {}));
check(e.kind === "tool_failed" && e.component === "tool:brittle_js", `tool_failed: ${e.kind}`);

Tool.register({ name: "root_only_js", security_level: "privileged", handler: () => ({}) });
e = await failure(() => Tool.invoke("root_only_js", {}));
check(e.kind === "security_violation", `security: ${e.kind}`);

Tool.register({ name: "sink_js", handler: () => ({}) });
e = await failure(() => Tool.invoke("sink_js", { text: "1".repeat(2 * 1024 * 1024) }));
check(e.kind === "resource_limit" && e.resource === "input_bytes", `limit: ${e.kind}`);

e = await failure(() => Event.publish("bad..topic", {}));
check(e.kind === "invalid_input", `topic: ${e.kind}`);

e = await failure(() => Hook.register("NoSuchPoint", () => {}));
check(e.kind === "invalid_input" && e.message.includes("unknown hook point"), `point: ${e.kind}`);
"#;

#[test]
fn javascript_errors_carry_kind_and_fields() {
    js(&runtime(), JS_CASES);
}

#[test]
fn a_provider_failure_is_kind_provider_in_both_engines() {
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let refusal = || mock_server::Reply::status(401, json!({ "error": { "message": "bad key" } }));
    let server = server_rt.block_on(mock_server::MockServer::start(vec![refusal(), refusal()]));
    let rt = runtime();
    lua(
        &rt,
        &format!(
            r#"
        local w = Agent.create({{ name = "writer", type = "llm", model = "openai-compatible/tiny",
            provider = {{ base_url = "{url}/v1" }} }})
        local ok, e = pcall(w.invoke, w, {{ text = "hi" }})
        assert(not ok and e.kind == "provider", tostring(e))
        assert(e.retryable == false, tostring(e.retryable))
    "#,
            url = server.url
        ),
    );
    js(
        &rt,
        &format!(
            r#"
        const w = await Agent.create({{ name: "writer_js", type: "llm", model: "openai-compatible/tiny",
            provider: {{ base_url: "{url}/v1" }} }});
        let e;
        try {{ await w.invoke({{ text: "hi" }}); }} catch (err) {{ e = err; }}
        if (!e || e.kind !== "provider") throw new Error(`expected a provider error, got ${{e && e.kind}}: ${{e && e.message}}`);
    "#,
            url = server.url
        ),
    );
}

#[test]
fn uncaught_errors_still_report_their_message_and_line() {
    let rt = runtime();
    let e = lua_err(&rt, "local x = 1\nTool.invoke('no_such_tool')\n");
    assert!(
        e.starts_with("test.lua:2: ") && e.contains("\"no_such_tool\" not found"),
        "{e}"
    );
    let e = lua_err(
        &rt,
        "local ok, err = pcall(Tool.invoke, 'no_such_tool')\nerror(err)\n",
    );
    assert!(e.contains("\"no_such_tool\" not found"), "{e}");
    assert!(!e.contains("table: 0x"), "{e}");
    let e = js_err(&rt, "await Tool.invoke('no_such_tool');\n");
    assert!(e.contains("\"no_such_tool\" not found"), "{e}");
}
