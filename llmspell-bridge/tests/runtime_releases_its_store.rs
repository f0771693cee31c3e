//! A runtime that ends releases everything it opened, whatever its scripts
//! created: agents with script handlers, script tools, workflows with
//! script steps, hooks and subscriptions. The effect a user sees is the
//! durable store: a new runtime (or `llmspell events`) on the same
//! directory opens it instead of failing with "Locked".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{js, lua};
use llmspell_bridge::{RuntimeConfig, ScriptRuntime, StorageChoice};

fn on_store(dir: &std::path::Path) -> ScriptRuntime {
    ScriptRuntime::new(RuntimeConfig {
        storage: StorageChoice::Sled(dir.to_path_buf()),
        persist: vec!["**".into()],
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// Runs `script` in a runtime on a fresh store, ends the runtime, and
/// opens the store again.
fn reopen_after(script: impl FnOnce(&ScriptRuntime)) {
    let dir = tempfile::tempdir().unwrap();
    let storage = {
        let rt = on_store(dir.path());
        script(&rt);
        std::sync::Arc::downgrade(rt.storage())
    };
    assert!(
        storage.upgrade().is_none(),
        "something the script created still holds the runtime's storage"
    );
    let again = ScriptRuntime::new(RuntimeConfig {
        storage: StorageChoice::Sled(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    });
    if let Err(e) = again {
        panic!("the store is still held after its runtime ended: {e}");
    }
}

#[test]
fn a_lua_agent_with_a_handler_does_not_keep_the_runtime_alive() {
    reopen_after(|rt| {
        lua(
            rt,
            r#"
            local a = Agent.create({ name = "doubler", handler = function(input, agent)
                local out = agent:invoke_tool("calculator", { expression = "2 * x", variables = { x = input.n } })
                return { n = out.result }
            end })
            assert(a:invoke({ n = 21 }).n == 42)
            "#,
        );
    });
}

#[test]
fn a_js_agent_with_a_handler_does_not_keep_the_runtime_alive() {
    reopen_after(|rt| {
        js(
            rt,
            r#"
            const a = await Agent.create({ name: "helper", handler: async (input) => ({ n: input.n + 1 }) });
            const out = await a.invoke({ n: 1 });
            if (out.n !== 2) throw new Error("handler did not run");
            "#,
        );
    });
}

#[test]
fn script_tools_workflows_hooks_and_subscriptions_do_not_keep_it_alive() {
    reopen_after(|rt| {
        lua(
            rt,
            r#"
            Tool.register({ name = "shout", handler = function(p) return { text = string.upper(p.text) } end })
            local agent = Agent.create({ name = "inc", handler = function(input) return { n = input.n + 1 } end })
            local wf = Workflow.sequential({ name = "wf", steps = {
                { name = "a", agent = agent, input = { n = 1 } },
                { name = "b", fn = function(input, state) return state.outputs.a.n end },
            } })
            Hook.register("BeforeToolExecution", function(ctx) return "continue" end)
            local sub = Event.subscribe("demo.*")
            Event.publish("demo.x", { n = 1 })
            assert(Tool.invoke("shout", { text = "hi" }).text == "HI")
            assert(wf:execute({}).outputs.b == 2)
            "#,
        );
    });
}

#[test]
fn a_runtime_that_ran_nothing_releases_its_store() {
    reopen_after(|rt| lua(rt, "local x = 1"));
}
