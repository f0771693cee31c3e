//! The `Agent` global: basic agents with Lua handlers, the lifecycle and its
//! hook points, hooks steering invocations, tool calls attributed to the
//! agent, LLM agents against a local server, and bad configs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../llmspell-agents/tests/support/mock_server.rs"]
mod mock_server;

use common::{lua, lua_err, runtime, settle};
use serde_json::json;

#[test]
fn basic_agent_runs_its_handler_and_calls_tools() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local a = Agent.create({ name = "doubler", type = "basic",
            parameters = { factor = 2 },
            handler = function(input, agent)
                assert(agent.name == "doubler")
                assert(agent:state() == "Running")
                local f = agent:parameters().factor
                local out = agent:invoke_tool("calculator",
                    { expression = "x * f", variables = { x = input.n, f = f } })
                return { doubled = out.result }
            end })
        assert(a.name == "doubler" and a:type() == "basic")
        assert(a:state() == "Ready", a:state())
        local out = a:invoke({ n = 21 })
        assert(out.doubled == 42, tostring(out.doubled))
        assert(a:state() == "Ready")
        -- a tool call made directly on the handle
        assert(a:invoke_tool("calculator", { expression = "1 + 1" }).result == 2)
        assert(a:invokeTool("calculator", { expression = "2 + 2" }).result == 4)
        local list = Agent.list()
        assert(#list == 1 and list[1].name == "doubler" and list[1].type == "basic"
            and list[1].state == "Ready")
        assert(Agent.get("doubler"):invoke({ n = 1 }).doubled == 2)
        assert(Agent.get("nobody") == nil)
    "#,
    );
}

#[test]
fn lifecycle_transitions_fire_hooks_and_publish_events() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local seen = {}
        for _, p in ipairs({ "BeforeAgentInit", "AfterAgentInit", "AgentPaused",
                             "AgentResumed", "BeforeAgentShutdown", "AfterAgentShutdown" }) do
            Hook.register(p, function(ctx) table.insert(seen, ctx.point) end)
        end
        local states = {}
        Event.subscribe("agent.lc.state_changed", function(ev) table.insert(states, ev.data.to) end)
        local a = Agent.create({ name = "lc", handler = function(i) return i end })
        a:pause()
        assert(a:state() == "Paused")
        local ok, e = pcall(function() return a:invoke({}) end)
        assert(not ok and tostring(e):find("Paused"), tostring(e))
        a:resume()
        a:terminate()
        assert(a:state() == "Terminated")
        local ok2, e2 = pcall(function() a:resume() end)
        assert(not ok2 and tostring(e2):find("Terminated"), tostring(e2))
        _G.seen, _G.states = seen, states
    "#,
    );
    settle(&rt);
    lua(
        &rt,
        r#"
        local want = { "BeforeAgentInit", "AfterAgentInit", "AgentPaused", "AgentResumed",
                       "BeforeAgentShutdown", "AfterAgentShutdown" }
        assert(#seen == #want, table.concat(seen, ","))
        for i, p in ipairs(want) do assert(seen[i] == p, table.concat(seen, ",")) end
        assert(#states >= 4, table.concat(states, ","))
        assert(states[#states] == "Terminated", table.concat(states, ","))
    "#,
    );
}

#[test]
fn hooks_steer_invocations() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local calls = 0
        local a = Agent.create({ name = "echo", handler = function(input)
            calls = calls + 1
            return { echo = input.text }
        end })
        -- modified: the handler sees the changed input
        local h = Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "modified", data = { text = "changed" } }
        end)
        local out = a:invoke({ text = "original" })
        h:unregister()
        assert(out.echo == "changed", tostring(out.echo))
        -- cancel: the invocation fails with the reason, the handler never runs
        local before = calls
        h = Hook.register("BeforeAgentExecution", function(ctx)
            return { action = "cancel", reason = "not today" }
        end)
        local ok, e = pcall(function() return a:invoke({ text = "x" }) end)
        h:unregister()
        assert(not ok and tostring(e):find("not today"), tostring(e))
        assert(calls == before)
        assert(a:state() == "Ready")
        -- replace after the fact
        h = Hook.register("AfterAgentExecution", function(ctx)
            return { action = "replace", value = { echo = "replaced" } }
        end)
        assert(a:invoke({ text = "x" }).echo == "replaced")
        h:unregister()
    "#,
    );
}

#[test]
fn handler_errors_move_the_agent_to_error_and_it_recovers() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        local fail = true
        local a = Agent.create({ name = "flaky", handler = function(input)
            if fail then error("boom") end
            return { ok = true }
        end })
        local ok, e = pcall(function() return a:invoke({}) end)
        assert(not ok and tostring(e):find("boom"), tostring(e))
        assert(a:state() == "Error", a:state())
        fail = false
        assert(a:invoke({}).ok == true)
        assert(a:state() == "Ready")
    "#,
    );
}

#[test]
fn busy_handler_is_interrupted() {
    let rt = common::runtime_with(|c| c.handler_timeout = std::time::Duration::from_millis(200));
    lua(
        &rt,
        r#"
        local a = Agent.create({ name = "spin", handler = function() while true do end end })
        local ok, e = pcall(function() return a:invoke({}) end)
        assert(not ok and tostring(e):find("time"), tostring(e))
    "#,
    );
}

#[test]
fn bad_configs_are_clear_errors() {
    let rt = runtime();
    let e = lua_err(&rt, "Agent.create({ name = 'x', tpye = 'basic' })");
    assert!(e.contains("test.lua:1:") && e.contains("`tpye`"), "{e}");
    let e = lua_err(&rt, "Agent.create({ name = 'x', type = 'basic' })");
    assert!(e.contains("handler"), "{e}");
    let e = lua_err(&rt, "Agent.create({ name = 'x', handler = 42 })");
    assert!(
        e.contains("`handler` must be a function, got number"),
        "{e}"
    );
    let e = lua_err(&rt, "Agent.create('x')");
    assert!(e.contains("expected a table"), "{e}");
    let e = lua_err(
        &rt,
        "Agent.create({ name = 'w', type = 'llm', model = 'gpt-4o' })",
    );
    assert!(e.contains("not a model spec"), "{e}");
    lua(
        &rt,
        "Agent.create({ name = 'dup', handler = function() end })",
    );
    let e = lua_err(
        &rt,
        "Agent.create({ name = 'dup', handler = function() end })",
    );
    assert!(e.contains("dup"), "{e}");
}

#[test]
fn llm_agent_calls_its_model() {
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let server = server_rt.block_on(mock_server::MockServer::start(vec![
        mock_server::Reply::ok(json!({
            "id": "c1", "object": "chat.completion", "model": "tiny",
            "choices": [{ "index": 0, "finish_reason": "stop",
                          "message": { "role": "assistant", "content": "a haiku" } }],
            "usage": { "prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10 }
        })),
    ]));
    let rt = runtime();
    lua(
        &rt,
        &format!(
            r#"
        local seen_model
        Hook.register("BeforeLlmCall", function(ctx) seen_model = true end)
        local w = Agent.create({{ name = "writer", type = "llm", model = "openai-compatible/tiny",
            system_prompt = "You write haiku.", temperature = 0.2,
            provider = {{ base_url = "{}/v1" }} }})
        local out = w:invoke({{ text = "autumn" }})
        assert(type(out) == "table", type(out))
        assert(out.text == "a haiku", JSON.encode(out))
        assert(seen_model, "BeforeLlmCall did not fire")
    "#,
            server.url
        ),
    );
    let req = server.only_request();
    assert_eq!(req.body["model"], "tiny");
    assert_eq!(req.body["messages"][0]["content"], "You write haiku.");
    assert_eq!(req.body["messages"][1]["content"], "autumn");
}
