//! `Hook.command` from Lua and JavaScript: a program in another language
//! decides a script's tool calls through the JSON protocol.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{js, js_err, lua, lua_err, runtime};

/// A policy in Python: refuses multiplication, doubles additions, lets the
/// rest through.
const POLICY: &str = r#"
import json, sys
ctx = json.load(sys.stdin)
e = ctx["data"].get("expression", "")
if "*" in e:
    print(json.dumps({"action": "cancel", "reason": "no multiplication in " + ctx["component"]["name"]}))
elif e == "1+1":
    print(json.dumps({"action": "modified", "data": {"expression": "2+2"}}))
"#;

fn policy() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.py");
    std::fs::write(&path, POLICY).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

#[test]
fn lua_command_hook_cancels_and_modifies_tool_calls() {
    let (_dir, path) = policy();
    let rt = runtime();
    lua(
        &rt,
        &format!(
            r#"
        local h = Hook.command("BeforeToolExecution", {{ "python3", "{path}" }},
            {{ component = "calculator", fail = "closed", timeout_ms = 10000 }})
        assert(h:point() == "BeforeToolExecution")
        assert(Hook.list("BeforeToolExecution")[1].name == "command:python3")
        local ok, err = pcall(Tool.invoke, "calculator", {{ expression = "6*7" }})
        assert(not ok and err.kind == "cancelled", tostring(err))
        assert(tostring(err):find("no multiplication in calculator"), tostring(err))
        assert(Tool.invoke("calculator", {{ expression = "1+1" }}).result == 4, "modified by the command")
        assert(Tool.invoke("calculator", {{ expression = "3-1" }}).result == 2)
    "#
        ),
    );
    let e = lua_err(&rt, "Hook.command('BeforeToolExecution', 'rm -rf /')");
    assert!(e.contains("list of strings"), "{e}");
    let e = lua_err(
        &rt,
        "Hook.command('BeforeToolExecution', { 'true' }, { timout_ms = 5 })",
    );
    assert!(e.contains("did you mean `timeout_ms`"), "{e}");
}

#[test]
fn lua_a_missing_program_fails_closed_with_its_name() {
    let rt = runtime();
    lua(
        &rt,
        r#"
        Hook.command("BeforeToolExecution", { "/nonexistent/policy" }, { fail = "closed" })
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1+1" })
        assert(not ok and err.kind == "hook_failed", tostring(err))
        assert(tostring(err):find("/nonexistent/policy"), tostring(err))
    "#,
    );
}

#[test]
fn js_command_hook_decides_the_same_way() {
    let (_dir, path) = policy();
    let rt = runtime();
    js(
        &rt,
        &format!(
            r#"
        Hook.command("BeforeToolExecution", ["python3", "{path}"], {{ component: "calculator" }});
        try {{
            await Tool.invoke("calculator", {{ expression: "6*7" }});
            throw new Error("not cancelled");
        }} catch (e) {{
            if (e.kind !== "cancelled") throw e;
        }}
        const r = await Tool.invoke("calculator", {{ expression: "1+1" }});
        if (r.result !== 4) throw new Error(JSON.stringify(r));
    "#
        ),
    );
    let e = js_err(&rt, "Hook.command('BeforeToolExecution', 'ls')");
    assert!(e.contains("list of strings"), "{e}");
}
