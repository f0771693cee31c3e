//! Hook time accounted per component, and per-call budgets whose policies
//! report, skip fail-open hooks for the rest of the call, or refuse it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, ComponentType, Error, ExecutionContext};
use llmspell_hooks::{
    BudgetPolicy, ComponentBudget, FailMode, GuardPoints, GuardSpec, GuardedRunner, HookExecutor,
    HookOptions, HookPoint, HookRegistry, HookResult, hook_fn, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

struct Setup {
    runner: GuardedRunner,
    log: Arc<Mutex<Vec<String>>>,
    thresholds: Arc<Mutex<Vec<Value>>>,
}

/// A slow (20 ms) Before hook on `slow_tool`; at After a fail-open and a
/// fail-closed hook that log; a PerformanceThresholdExceeded hook that
/// keeps the data it sees.
fn setup() -> Setup {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let thresholds = Arc::new(Mutex::new(Vec::new()));
    registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(hook_fn(|_| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(HookResult::Continue)
            })),
            HookOptions::new().component("slow_tool").name("slow"),
        )
        .unwrap()
        .forget();
    for (name, mode) in [("observer", FailMode::Open), ("guard", FailMode::Closed)] {
        let log = log.clone();
        registry
            .register_with(
                HookPoint::AfterToolExecution,
                Arc::new(sync_hook_fn(move |_| {
                    log.lock().push(name.to_owned());
                    Ok(HookResult::Continue)
                })),
                HookOptions::new().name(name).fail_mode(mode),
            )
            .unwrap()
            .forget();
    }
    let t = thresholds.clone();
    registry
        .register(
            HookPoint::PerformanceThresholdExceeded,
            sync_hook_fn(move |ctx| {
                t.lock().push(ctx.data.clone());
                Ok(HookResult::Continue)
            }),
        )
        .forget();
    Setup {
        runner: GuardedRunner::new(HookExecutor::new(registry)),
        log,
        thresholds,
    }
}

async fn call(runner: &GuardedRunner, tool: &str) -> llmspell_core::Result<Value> {
    let spec = GuardSpec::new(ComponentId::tool(tool), GuardPoints::tool());
    runner
        .run(&spec, &ExecutionContext::native(), json!({}), |_| async {
            Ok(json!("done"))
        })
        .await
        .map(|o| o.output)
}

#[tokio::test]
async fn report_only_reports() {
    let s = setup();
    s.runner
        .set_component_budget(ComponentBudget::new("slow_*", Duration::from_millis(5)))
        .unwrap();
    assert_eq!(call(&s.runner, "slow_tool").await.unwrap(), json!("done"));
    assert_eq!(*s.log.lock(), ["observer", "guard"]);
    let t = s.thresholds.lock().clone();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["subject"], "component");
    assert_eq!(t[0]["component"], "slow_tool");
    assert_eq!(t[0]["policy"], "report");
    assert!(t[0]["hook_ms"].as_f64().unwrap() >= 20.0);
    let stats = s.runner.component_hook_stats();
    let slow = stats.iter().find(|r| r.name == "slow_tool").unwrap();
    assert_eq!((slow.calls, slow.over_budget), (1, 1));
    assert!(slow.hook_ns >= 20_000_000);
    let total = stats
        .iter()
        .find(|r| r.kind == ComponentType::Tool && r.name == "*")
        .unwrap();
    assert_eq!(total.calls, 1);
}

#[tokio::test]
async fn skip_fail_open_runs_only_fail_closed_hooks_for_the_rest_of_the_call() {
    let s = setup();
    s.runner
        .set_component_budget(
            ComponentBudget::new("slow_tool", Duration::from_millis(5))
                .kind(ComponentType::Tool)
                .policy(BudgetPolicy::SkipFailOpen),
        )
        .unwrap();
    assert_eq!(call(&s.runner, "slow_tool").await.unwrap(), json!("done"));
    assert_eq!(
        *s.log.lock(),
        ["guard"],
        "the fail-open observer was skipped"
    );
    // Another tool keeps all its hooks, and has figures of its own.
    s.log.lock().clear();
    call(&s.runner, "fast_tool").await.unwrap();
    assert_eq!(*s.log.lock(), ["observer", "guard"]);
    let stats = s.runner.component_hook_stats();
    let fast = stats.iter().find(|r| r.name == "fast_tool").unwrap();
    assert_eq!((fast.calls, fast.over_budget), (1, 0));
}

#[tokio::test]
async fn refuse_fails_the_call() {
    let s = setup();
    s.runner
        .set_component_budget(
            ComponentBudget::new("slow_tool", Duration::from_millis(5))
                .policy(BudgetPolicy::Refuse),
        )
        .unwrap();
    let e = call(&s.runner, "slow_tool").await.unwrap_err();
    assert!(
        matches!(&e, Error::ResourceLimitExceeded { resource, limit: 5000, .. } if resource == "hook_time"),
        "{e:?}"
    );
    assert!(s.log.lock().is_empty(), "the operation did not run");
    assert!(s.runner.remove_component_budget("slow_tool", None));
    assert_eq!(call(&s.runner, "slow_tool").await.unwrap(), json!("done"));
}

#[test]
fn bad_budgets_are_refused() {
    let runner = GuardedRunner::new(HookExecutor::new(HookRegistry::new()));
    assert!(
        runner
            .set_component_budget(ComponentBudget::new("x", Duration::ZERO))
            .is_err()
    );
    let e = runner
        .set_component_budget(ComponentBudget::new("web_[a", Duration::from_millis(1)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("web_[a"), "{e}");
}
