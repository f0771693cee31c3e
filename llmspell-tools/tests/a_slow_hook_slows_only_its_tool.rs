//! Isolation between components: a hook scoped to one tool that is still
//! running (here, blocked until released) holds up only that tool's calls;
//! calls to another tool go through meanwhile, hooks and all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::ExecutionContext;
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookOptions, HookPoint, HookRegistry, HookResult, hook_fn,
};
use llmspell_tools::{BuiltinToolsConfig, ToolRegistry, builtin_tools};
use serde_json::json;
use tokio::sync::Notify;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_hook_on_one_tool_does_not_hold_up_another() {
    let hooks = HookRegistry::new();
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (e, r) = (entered.clone(), release.clone());
    hooks
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(hook_fn(move |_| {
                let (e, r) = (e.clone(), r.clone());
                async move {
                    e.notify_one();
                    r.notified().await;
                    Ok(HookResult::Continue)
                }
            })),
            HookOptions::new()
                .component("calculator")
                .name("slow-gate")
                .timeout(Duration::from_secs(60)),
        )
        .unwrap()
        .forget();
    // The other tool has a hook of its own, so its calls go through the
    // executor too.
    hooks
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(hook_fn(|_| async { Ok(HookResult::Continue) })),
            HookOptions::new().component("hash_calculator"),
        )
        .unwrap()
        .forget();
    let tools = ToolRegistry::builder()
        .runner(GuardedRunner::new(HookExecutor::new(hooks)))
        .build();
    tools
        .register_all(builtin_tools(&BuiltinToolsConfig::default()))
        .unwrap();

    let slow = {
        let tools = tools.clone();
        tokio::spawn(async move {
            tools
                .invoke(
                    "calculator",
                    json!({ "expression": "6 * 7" }),
                    &ExecutionContext::native(),
                )
                .await
        })
    };
    entered.notified().await;
    // The calculator's hook is running and will not finish until released.
    for i in 0..20 {
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            tools.invoke(
                "hash_calculator",
                json!({ "operation": "hash", "algorithm": "sha256", "input": format!("call {i}") }),
                &ExecutionContext::native(),
            ),
        )
        .await
        .expect("the other tool's calls are not held up")
        .unwrap();
        assert!(out.to_string().contains("hash"), "{out}");
    }
    assert!(
        !slow.is_finished(),
        "the calculator call still waits on its hook"
    );
    release.notify_one();
    let out = slow.await.unwrap().unwrap();
    assert_eq!(out["result"], json!(42));
}
