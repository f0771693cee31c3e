#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A basic agent's handler calls tools through its context: the calls go
//! through the tool hook points, and carry the invocation's correlation id
//! as their parent (in hook contexts and in `tool.<name>.completed`).

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::Fixture;
use llmspell_agents::{AgentConfig, AgentRuntime, Error, handler_fn};
use llmspell_core::{ExecutionContext, Language};
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_tools::ToolRegistry;
use llmspell_tools::utility::Calculator;
use serde_json::json;

fn with_calculator() -> Fixture {
    Fixture::with_tools(|agents| {
        let tools = ToolRegistry::new(agents.runner().clone());
        tools.register(Arc::new(Calculator::new())).unwrap();
        tools
    })
}

#[tokio::test]
async fn tool_calls_carry_the_invocation_as_parent() {
    let mut f = with_calculator();
    f.record(&[
        HookPoint::BeforeToolExecution,
        HookPoint::BeforeAgentExecution,
    ]);
    let mut tool_events = f.bus.subscribe("tool.calculator.completed").unwrap();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("mathematician").with_parameter("x", json!(3)),
            handler_fn(|input, cx| async move {
                let x = cx.parameters()["x"].clone();
                let out = cx
                    .invoke_tool(
                        "calculator",
                        json!({ "expression": input["expression"], "variables": { "x": x } }),
                    )
                    .await?;
                Ok(json!({ "answer": out["result"] }))
            }),
        )
        .unwrap();
    let exec = ExecutionContext::new(Language::Lua);
    let out = a
        .invoke(json!({ "expression": "2 + 2 * x" }), &exec)
        .await
        .unwrap();
    assert_eq!(out, json!({ "answer": 8 }));

    let seen = f.take_seen();
    let agent_call = seen
        .iter()
        .find(|s| s.point == HookPoint::BeforeAgentExecution)
        .unwrap();
    let tool_call = seen
        .iter()
        .find(|s| s.point == HookPoint::BeforeToolExecution)
        .unwrap();
    assert_eq!(agent_call.correlation_id, exec.correlation_id);
    assert_eq!(tool_call.name, "calculator");
    assert_eq!(
        tool_call.parent_id,
        Some(exec.correlation_id.clone()),
        "the tool call is a child of the agent invocation"
    );
    assert_ne!(tool_call.correlation_id, exec.correlation_id);

    let completed = tool_events.try_recv().expect("tool.calculator.completed");
    assert_eq!(
        completed.metadata.parent_id,
        Some(exec.correlation_id.clone())
    );
    assert_eq!(completed.language, Language::Lua);
    assert_eq!(completed.data["output"], json!({ "result": 8 }));
}

#[tokio::test]
async fn tool_hooks_and_errors_reach_the_handler() {
    let mut f = with_calculator();
    f.hook(HookPoint::BeforeToolExecution, |ctx| {
        if ctx.metadata.get("agent").map(String::as_str) == Some("limited") {
            HookResult::Cancel("no tools for you".into())
        } else {
            HookResult::Continue
        }
    });
    let a = f
        .agents
        .basic(
            AgentConfig::basic("limited"),
            handler_fn(|_, cx| async move {
                cx.invoke_tool("calculator", json!({ "expression": "1 + 1" }))
                    .await
            }),
        )
        .unwrap();
    let err = a
        .invoke(json!({}), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no tools for you"), "{err}");

    let b = f
        .agents
        .basic(
            AgentConfig::basic("typo"),
            handler_fn(|_, cx| async move { cx.invoke_tool("calculater", json!({})).await }),
        )
        .unwrap();
    let err = b
        .invoke(json!({}), &ExecutionContext::native())
        .await
        .unwrap_err();
    match err {
        Error::Operation(llmspell_core::Error::NotFound {
            name, suggestion, ..
        }) => {
            assert_eq!(name, "calculater");
            assert_eq!(suggestion.as_deref(), Some("calculator"));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn invoke_tool_on_the_agent_parents_the_call_to_the_caller() {
    let mut f = with_calculator();
    f.record(&[HookPoint::BeforeToolExecution]);
    let a = f.echo("caller");
    let exec = ExecutionContext::native();
    let out = a
        .invoke_tool("calculator", json!({ "expression": "6 * 7" }), &exec)
        .await
        .unwrap();
    assert_eq!(out, json!({ "result": 42 }));
    let seen = f.take_seen();
    assert_eq!(seen[0].parent_id, Some(exec.correlation_id.clone()));
}

#[tokio::test]
async fn a_tool_registry_over_another_hook_registry_is_refused() {
    let other = ToolRegistry::builder().build();
    let err = AgentRuntime::builder().tools(other).build().unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig { field, .. } if field == "tools"),
        "{err:?}"
    );
}
