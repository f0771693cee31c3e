//! `PerformanceThresholdExceeded` fires when a hook runs past its slow
//! budget, when a hook's breaker opens, and when a guarded operation runs
//! past the runner's slow budget; a `Cancel` there fails the operation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, Error};
use llmspell_hooks::{
    BreakerConfig, GuardPoints, GuardSpec, GuardedRunner, HookContext, HookExecutor, HookOptions,
    HookPoint, HookRegistry, HookResult, RunnerConfig, hook_fn, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn watch(
    registry: &HookRegistry,
    cancel: bool,
) -> (Arc<Mutex<Vec<Value>>>, llmspell_hooks::HookHandle) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = seen.clone();
    let h = registry.register(
        HookPoint::PerformanceThresholdExceeded,
        sync_hook_fn(move |ctx| {
            log.lock().push(ctx.data.clone());
            Ok(if cancel {
                HookResult::Cancel("too slow for production".into())
            } else {
                HookResult::Continue
            })
        })
        .named("sla"),
    );
    (seen, h)
}

fn ctx() -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("t"),
        json!({}),
    )
}

#[tokio::test]
async fn a_hook_past_its_slow_budget_is_reported_and_may_be_cancelled() {
    let registry = HookRegistry::new();
    let (seen, _w) = watch(&registry, false);
    let _slow = registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(hook_fn(|_| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(HookResult::Continue)
            })),
            HookOptions::new()
                .name("slowpoke")
                .slow_budget(Duration::from_millis(1)),
        )
        .unwrap();
    let executor = HookExecutor::new(registry.clone());
    executor.execute_point(&mut ctx()).await.unwrap();
    let data = seen.lock()[0].clone();
    assert_eq!(data["subject"], "hook");
    assert_eq!(data["hook_name"], "slowpoke");
    assert_eq!(data["point"], "BeforeToolExecution");
    assert!(data["elapsed_ms"].as_f64().unwrap() >= 20.0, "{data}");
    assert_eq!(data["budget_ms"], 1.0);

    let (_, _c) = watch(&registry, true);
    let err = executor.execute_point(&mut ctx()).await.unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "sla".into(),
            reason: "too slow for production".into()
        }
    );
}

#[tokio::test]
async fn an_opening_breaker_is_reported() {
    let registry = HookRegistry::new();
    let (seen, _w) = watch(&registry, false);
    let _bad = registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(sync_hook_fn(|_| Err(Error::other("down")))),
            HookOptions::new().name("flaky").breaker(BreakerConfig {
                window_size: 2,
                minimum_calls: 2,
                ..BreakerConfig::default()
            }),
        )
        .unwrap();
    let executor = HookExecutor::new(registry);
    executor.execute_point(&mut ctx()).await.unwrap();
    assert!(seen.lock().is_empty());
    executor.execute_point(&mut ctx()).await.unwrap();
    let data = seen.lock()[0].clone();
    assert_eq!(data["hook_name"], "flaky");
    assert!(
        data["breaker_opened"]
            .as_str()
            .unwrap()
            .contains("failure rate 100%"),
        "{data}"
    );
}

#[tokio::test]
async fn an_operation_past_the_runner_budget_is_reported_and_may_be_cancelled() {
    let registry = HookRegistry::new();
    let runner =
        GuardedRunner::new(HookExecutor::new(registry.clone())).with_config(RunnerConfig {
            slow_operation: Some(Duration::from_millis(5)),
            ..RunnerConfig::default()
        });
    let spec = GuardSpec::new(ComponentId::tool("crawler"), GuardPoints::tool());
    let slow = |_| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(json!("page"))
    };
    let fast = |_| async { Ok(json!("page")) };
    let (seen, watcher) = watch(&registry, false);
    let out = runner.run_context(&spec, ctx(), slow).await.unwrap();
    assert_eq!(out.output, json!("page"));
    runner.run_context(&spec, ctx(), fast).await.unwrap();
    let seen_now = seen.lock().clone();
    assert_eq!(seen_now.len(), 1, "only the slow call: {seen_now:?}");
    assert_eq!(seen_now[0]["subject"], "operation");
    assert_eq!(seen_now[0]["component"], "crawler");
    assert_eq!(seen_now[0]["ok"], true);
    drop(watcher);
    let (_, _c) = watch(&registry, true);
    let err = runner.run_context(&spec, ctx(), slow).await.unwrap_err();
    assert!(
        matches!(err, Error::Cancelled { ref reason, .. } if reason == "too slow for production"),
        "{err:?}"
    );
}
