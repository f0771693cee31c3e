//! `llmspell trace`: a run's correlation trace rebuilt from its persisted
//! spans, as a tree with its analysis, as JSON, and listed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tempfile::TempDir;

mod common;
use common::{llmspell, text, write};

const SCRIPT: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.expression == "1/0" then return { action = "cancel", reason = "no division by zero" } end
end, { name = "guard" })
local calc = Agent.create({ name = "calc", handler = function(input, agent)
    local r = agent:invoke_tool("calculator", { expression = input.expression }).result
    assert(not pcall(agent.invoke_tool, agent, "calculator", { expression = "1/0" }))
    return { result = r }
end })
calc:invoke({ expression = "6 * 7" }, { correlation_id = "job-7" })
local t = Trace.get("job-7")
assert(t and #t.spans == 3, "kept in memory while the run lasts")
"#;

#[test]
fn a_run_s_trace_is_printed_as_a_tree_with_its_analysis() {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    write(p, "job.lua", SCRIPT);
    let out = llmspell(&["run", "--data-dir", "data", "job.lua"], p);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = llmspell(&["trace", "job-7", "--data-dir", "data"], p);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{}{printed}", text(&out.stderr));
    assert!(printed.contains("trace job-7"), "{printed}");
    assert!(printed.contains("agent:calc [ok]"), "{printed}");
    assert!(printed.contains("tool:calculator [cancelled]"), "{printed}");
    assert!(
        printed.contains("BeforeToolExecution guard → cancel"),
        "{printed}"
    );
    assert!(printed.contains("critical path: agent:calc"), "{printed}");
    assert!(printed.contains("decisions:"), "{printed}");

    let out = llmspell(&["trace", "job-7", "--json", "--data-dir", "data"], p);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace"]["id"], "job-7");
    assert_eq!(v["trace"]["spans"].as_array().unwrap().len(), 3);
    let decisions = v["analysis"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["hook"], "guard");
    assert_eq!(decisions[0]["action"], "cancel");

    let out = llmspell(&["trace", "--data-dir", "data"], p);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("job-7"), "{}", text(&out.stdout));

    let out = llmspell(&["trace", "nope", "--data-dir", "data"], p);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no trace nope"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tracing_can_be_turned_off() {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    write(
        p,
        "job.lua",
        r#"Tool.invoke("calculator", { expression = "1+1" }, { correlation_id = "j" })
           assert(Trace.get("j") == nil and #Trace.recent() == 0)"#,
    );
    let out = llmspell(
        &["run", "--traces", "0", "--data-dir", "data", "job.lua"],
        p,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = llmspell(&["trace", "j", "--data-dir", "data"], p);
    assert_eq!(out.status.code(), Some(1));
}
