//! Priority ordering, filters, timeouts, fail modes, panics and the
//! performance monitor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, Error};
use llmspell_hooks::{
    FailMode, Hook, HookContext, HookExecutor, HookFilter, HookMetadata, HookOptions, HookPoint,
    HookRegistry, HookResult, Priority, hook_fn, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::json;

const P: HookPoint = HookPoint::BeforeAgentExecution;

fn ctx() -> HookContext {
    HookContext::new(P, ComponentId::agent("writer"), json!({}))
}

fn recorder(log: &Arc<Mutex<Vec<String>>>, name: &str) -> Arc<dyn Hook> {
    let log = log.clone();
    let name = name.to_owned();
    Arc::new(sync_hook_fn(move |_| {
        log.lock().push(name.clone());
        Ok(HookResult::Continue)
    }))
}

#[tokio::test]
async fn hooks_run_by_priority_then_registration_order() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for (name, p) in [
        ("normal-1", Priority::NORMAL),
        ("low", Priority::LOW),
        ("highest", Priority::HIGHEST),
        ("normal-2", Priority::NORMAL),
        ("custom-42", Priority(42)),
        ("lowest", Priority::LOWEST),
    ] {
        handles.push(
            registry
                .register_with(
                    P,
                    recorder(&log, name),
                    HookOptions::new().priority(p).name(name),
                )
                .unwrap(),
        );
    }
    HookExecutor::new(registry.clone())
        .execute_point(&mut ctx())
        .await
        .unwrap();
    assert_eq!(
        *log.lock(),
        [
            "highest",
            "custom-42",
            "normal-1",
            "normal-2",
            "low",
            "lowest"
        ]
    );
    let listed: Vec<String> = registry
        .list(&HookFilter::new().point(P))
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(listed, *log.lock(), "listings show run order");
}

#[tokio::test]
async fn component_filters_should_run_and_disabled_hooks_are_passed_over() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let _a = registry
        .register_with(
            P,
            recorder(&log, "only-reader"),
            HookOptions::new().component("reader"),
        )
        .unwrap();
    let _b = registry
        .register_with(
            P,
            recorder(&log, "only-writer"),
            HookOptions::new().component("writer"),
        )
        .unwrap();
    let c = registry
        .register_with(P, recorder(&log, "disabled"), HookOptions::new())
        .unwrap();
    registry.set_enabled(c.id(), false);
    struct Picky;
    #[async_trait::async_trait]
    impl Hook for Picky {
        async fn execute(&self, _: &mut HookContext) -> llmspell_core::Result<HookResult> {
            Ok(HookResult::Cancel("picky ran".into()))
        }
        fn should_run(&self, ctx: &HookContext) -> bool {
            ctx.data.get("picky").is_some()
        }
    }
    let _d = registry.register(P, Picky);
    let out = HookExecutor::new(registry)
        .execute_point(&mut ctx())
        .await
        .unwrap();
    assert_eq!(*out.result(), HookResult::Continue);
    assert_eq!(*log.lock(), ["only-writer"]);
}

#[tokio::test]
async fn component_globs_select_components_by_pattern() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let _a = registry
        .register_with(
            P,
            recorder(&log, "wr*"),
            HookOptions::new().component("wr*"),
        )
        .unwrap();
    let _b = registry
        .register_with(
            P,
            recorder(&log, "{reader,writer}"),
            HookOptions::new().component("{reader,writer}"),
        )
        .unwrap();
    let _c = registry
        .register_with(
            P,
            recorder(&log, "web_*"),
            HookOptions::new().component("web_*"),
        )
        .unwrap();
    HookExecutor::new(registry.clone())
        .execute_point(&mut ctx())
        .await
        .unwrap();
    assert_eq!(*log.lock(), ["wr*", "{reader,writer}"]);
    let bad = registry
        .register_with(
            P,
            recorder(&log, "bad"),
            HookOptions::new().component("web_[a"),
        )
        .unwrap_err()
        .to_string();
    assert!(bad.contains("web_[a") && bad.contains("glob"), "{bad}");
}

#[tokio::test]
async fn a_slow_async_hook_times_out_and_fails_open() {
    let registry = HookRegistry::new();
    let _slow = registry
        .register_with(
            P,
            Arc::new(hook_fn(|_| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(HookResult::Cancel("never".into()))
            })),
            HookOptions::new()
                .name("sleepy")
                .timeout(Duration::from_millis(20)),
        )
        .unwrap();
    let executor = HookExecutor::new(registry.clone());
    let started = std::time::Instant::now();
    let out = executor.execute_point(&mut ctx()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        *out.result(),
        HookResult::Continue,
        "fail-open: the timed-out hook is skipped"
    );
    let perf = executor.monitor().report();
    assert_eq!(
        (
            perf[0].latency.calls,
            perf[0].latency.timeouts,
            perf[0].latency.errors
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn fail_closed_hooks_cancel_with_their_name_and_message() {
    let registry = HookRegistry::new();
    let _h = registry
        .register_with(
            P,
            Arc::new(hook_fn(|_| async {
                Err(Error::other("policy service unreachable"))
            })),
            HookOptions::new()
                .name("policy")
                .fail_mode(FailMode::Closed),
        )
        .unwrap();
    let err = HookExecutor::new(registry)
        .execute_point(&mut ctx())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::HookFailed {
            hook: "policy".into(),
            message: "policy service unreachable".into()
        }
    );
}

#[tokio::test]
async fn fail_closed_timeouts_cancel_too() {
    let registry = HookRegistry::new();
    let _h = registry
        .register_with(
            P,
            Arc::new(hook_fn(|_| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(HookResult::Continue)
            })),
            HookOptions::new()
                .name("slowpoke")
                .fail_mode(FailMode::Closed)
                .timeout(Duration::from_millis(10)),
        )
        .unwrap();
    let err = HookExecutor::new(registry)
        .execute_point(&mut ctx())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("slowpoke") && err.to_string().contains("timed out after 10 ms"),
        "{err}"
    );
}

#[tokio::test]
async fn a_panicking_hook_is_contained_and_later_hooks_still_run() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let _p = registry
        .register_with(
            P,
            Arc::new(sync_hook_fn(|_| panic!("hook bug"))),
            HookOptions::new().name("buggy").priority(Priority::HIGH),
        )
        .unwrap();
    let _n = registry
        .register_with(P, recorder(&log, "after-buggy"), HookOptions::new())
        .unwrap();
    let executor = HookExecutor::new(registry.clone());
    let out = executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(out.ran, 2);
    assert_eq!(*log.lock(), ["after-buggy"]);
    let buggy = executor
        .monitor()
        .report()
        .into_iter()
        .find(|p| p.name == "buggy")
        .unwrap();
    assert_eq!(buggy.latency.errors, 1);
    // Fail-closed, the panic message reaches the caller.
    let _c = registry
        .register_with(
            P,
            Arc::new(sync_hook_fn(|_| panic!("strict bug"))),
            HookOptions::new()
                .name("strict")
                .fail_mode(FailMode::Closed)
                .priority(Priority::HIGHEST),
        )
        .unwrap();
    let err = executor.execute_point(&mut ctx()).await.unwrap_err();
    assert!(err.to_string().contains("panicked: strict bug"), "{err}");
}

#[tokio::test]
async fn modified_data_is_applied_to_the_context() {
    let registry = HookRegistry::new();
    let _a = registry.register(
        P,
        sync_hook_fn(|_| Ok(HookResult::Modified(json!({"step": 1})))),
    );
    let _b = registry.register(
        P,
        sync_hook_fn(|c| {
            Ok(HookResult::Modified(
                json!({"step": c.data["step"].as_i64().unwrap() + 1}),
            ))
        }),
    );
    let mut c = ctx();
    let out = HookExecutor::new(registry)
        .execute_point(&mut c)
        .await
        .unwrap();
    assert!(out.modified);
    assert_eq!(c.data, json!({"step": 2}));
}

#[tokio::test]
async fn the_monitor_reports_percentiles_and_counters() {
    let registry = HookRegistry::new();
    let _h = registry.register(
        P,
        sync_hook_fn(|_| Ok(HookResult::Continue)).with_metadata(HookMetadata::named("fast")),
    );
    let executor = HookExecutor::new(registry);
    for _ in 0..100 {
        executor.execute_point(&mut ctx()).await.unwrap();
    }
    let r = &executor.monitor().report()[0];
    assert_eq!(
        (
            r.name.as_str(),
            r.latency.calls,
            r.latency.errors,
            r.latency.skips
        ),
        ("fast", 100, 0, 0)
    );
    assert!(
        r.latency.p50_ns > 0
            && r.latency.p50_ns <= r.latency.p95_ns
            && r.latency.p95_ns <= r.latency.p99_ns
    );
    assert!(r.latency.p99_ns <= r.latency.max_ns);
}

#[tokio::test]
async fn a_point_with_no_hooks_continues() {
    let out = HookExecutor::new(HookRegistry::new())
        .execute_point(&mut ctx())
        .await
        .unwrap();
    assert_eq!(out, llmspell_hooks::PointOutcome::CONTINUE);
}

#[test]
fn unknown_point_names_give_suggestions() {
    let err = "BeforeAgentExecute"
        .parse::<HookPoint>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("did you mean \"BeforeAgentExecution\"?"),
        "{err}"
    );
    let err = "ToolEror".parse::<HookPoint>().unwrap_err().to_string();
    assert!(err.contains("\"ToolError\""), "{err}");
}

#[test]
fn slow_call_budgets_follow_the_point_built_in_or_custom() {
    let default = llmspell_hooks::ExecutorConfig::default().default_slow_budget;
    // No custom point has a budget: every custom point gets the default.
    let plain = HookExecutor::new(HookRegistry::new());
    assert_eq!(plain.budget(&HookPoint::custom("deploy").unwrap()), default);
    assert_eq!(
        plain.budget(&HookPoint::BeforeLlmCall),
        Duration::from_secs(1)
    );

    // One custom point with its own budget; others keep the default.
    let config = llmspell_hooks::ExecutorConfig::default()
        .budget(
            HookPoint::custom("deploy").unwrap(),
            Duration::from_millis(7),
        )
        .budget(HookPoint::BeforeToolExecution, Duration::from_millis(3));
    let tuned = HookExecutor::builder(HookRegistry::new())
        .config(config)
        .build();
    assert_eq!(
        tuned.budget(&HookPoint::custom("deploy").unwrap()),
        Duration::from_millis(7)
    );
    assert_eq!(tuned.budget(&HookPoint::custom("other").unwrap()), default);
    assert_eq!(
        tuned.budget(&HookPoint::BeforeToolExecution),
        Duration::from_millis(3)
    );
}
