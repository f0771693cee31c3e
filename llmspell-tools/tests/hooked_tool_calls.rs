//! Every tool call passes the eight tool hook points, and hook results change
//! real tool calls (calculator, hash_calculator, script-defined tools).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{Error, ExecutionContext, Language, SecurityLevel};
use llmspell_events::EventBus;
use llmspell_hooks::{
    ForkOperation, GuardedRunner, HookContext, HookExecutor, HookHandle, HookOptions, HookPoint,
    HookRegistry, HookResult, RunnerConfig, hook_fn, sync_hook_fn,
};
use llmspell_tools::utility::{Calculator, HashCalculator};
use llmspell_tools::{InvokeOptions, ResourceLimits, ScriptTool, ToolQuery, ToolRegistry};
use parking_lot::Mutex;
use serde_json::{Value, json};

struct Rig {
    hooks: HookRegistry,
    tools: ToolRegistry,
    bus: EventBus,
    handles: Vec<HookHandle>,
}

impl Rig {
    fn new() -> Self {
        let hooks = HookRegistry::new();
        let bus = EventBus::new();
        let runner = GuardedRunner::new(
            HookExecutor::builder(hooks.clone())
                .bus(bus.clone())
                .build(),
        );
        let tools = ToolRegistry::new(runner);
        tools.register(Arc::new(Calculator::new())).unwrap();
        tools.register(Arc::new(HashCalculator::new())).unwrap();
        Self {
            hooks,
            tools,
            bus,
            handles: Vec::new(),
        }
    }

    fn hook(
        &mut self,
        point: HookPoint,
        f: impl Fn(&mut HookContext) -> HookResult + Send + Sync + 'static,
    ) {
        self.handles
            .push(self.hooks.register(point, sync_hook_fn(move |c| Ok(f(c)))));
    }

    async fn calc(&self, expression: &str) -> Result<Value, Error> {
        self.tools
            .invoke(
                "calculator",
                json!({ "expression": expression }),
                &ExecutionContext::native(),
            )
            .await
    }
}

const ALL_TOOL_POINTS: [HookPoint; 10] = [
    HookPoint::ToolValidation,
    HookPoint::ToolSecurityCheck,
    HookPoint::ToolResourceAllocated,
    HookPoint::BeforeToolExecution,
    HookPoint::AfterToolExecution,
    HookPoint::ToolResourceReleased,
    HookPoint::ToolTimeout,
    HookPoint::ToolError,
    HookPoint::SecurityViolation,
    HookPoint::ResourceLimitExceeded,
];

fn record_points(rig: &mut Rig) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    for p in ALL_TOOL_POINTS {
        let s = seen.clone();
        rig.hook(p, move |c| {
            s.lock().push(c.point.to_string());
            HookResult::Continue
        });
    }
    seen
}

#[tokio::test]
async fn a_successful_call_passes_the_points_in_order() {
    let mut rig = Rig::new();
    let seen = record_points(&mut rig);
    assert_eq!(rig.calc("2 + 2 * 3").await.unwrap(), json!({ "result": 8 }));
    assert_eq!(
        *seen.lock(),
        [
            "ToolValidation",
            "ToolSecurityCheck",
            "ToolResourceAllocated",
            "BeforeToolExecution",
            "AfterToolExecution",
            "ToolResourceReleased"
        ]
    );
}

#[tokio::test]
async fn a_failing_call_passes_the_error_point() {
    let mut rig = Rig::new();
    let seen = record_points(&mut rig);
    let err = rig.calc("1 / 0").await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("division by zero"),
        "{err}"
    );
    assert_eq!(
        seen.lock()[3..],
        ["BeforeToolExecution", "ToolError", "ToolResourceReleased"]
    );
}

#[tokio::test]
async fn a_timed_out_call_fires_tool_timeout_then_tool_error() {
    let mut rig = Rig::new();
    rig.tools
        .register(Arc::new(ScriptTool::new(
            "sleeper",
            "sleeps",
            Arc::new(|_, _| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(json!({}))
                })
            }),
        )))
        .unwrap();
    let seen = record_points(&mut rig);
    let opts = InvokeOptions::new()
        .limits(ResourceLimits::default().max_duration(Duration::from_millis(30)));
    let err = rig
        .tools
        .invoke_with("sleeper", json!({}), &ExecutionContext::native(), opts)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            operation: "tool:sleeper".into(),
            after: Duration::from_millis(30)
        }
    );
    assert_eq!(
        seen.lock()[3..],
        [
            "BeforeToolExecution",
            "ToolTimeout",
            "ToolError",
            "ToolResourceReleased"
        ]
    );
    assert_eq!(rig.tools.usage("sleeper").unwrap().timeouts, 1);
}

#[tokio::test]
async fn cancel_stops_a_real_call_with_the_reason() {
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolExecution, |c| {
        if c.data["expression"].as_str().unwrap_or("").contains('^') {
            HookResult::Cancel("powers are not allowed".into())
        } else {
            HookResult::Continue
        }
    });
    assert!(rig.calc("2 + 2").await.is_ok());
    let err = rig.calc("2 ^ 10").await.unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { reason, .. } if reason == "powers are not allowed"),
        "{err:?}"
    );
    assert_eq!(rig.tools.usage("calculator").unwrap().failures, 1);
}

#[tokio::test]
async fn modified_at_before_changes_the_params_the_tool_receives() {
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolExecution, |c| {
        HookResult::Modified(
            json!({ "expression": format!("({}) * 10", c.data["expression"].as_str().unwrap()) }),
        )
    });
    assert_eq!(rig.calc("1 + 1").await.unwrap(), json!({ "result": 20 }));
}

#[tokio::test]
async fn modified_at_validation_changes_params_before_the_schema_check() {
    let mut rig = Rig::new();
    // Accept the older parameter name `input` by renaming it.
    rig.hook(HookPoint::ToolValidation, |c| match c.data.get("input") {
        Some(v) => HookResult::Modified(json!({ "expression": v })),
        None => HookResult::Continue,
    });
    let out = rig
        .tools
        .invoke(
            "calculator",
            json!({ "input": "3 * 3" }),
            &ExecutionContext::native(),
        )
        .await;
    assert_eq!(out.unwrap(), json!({ "result": 9 }));
}

#[tokio::test]
async fn replace_at_before_skips_the_tool_and_at_after_replaces_its_output() {
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolExecution, |_| {
        HookResult::Replace(json!({ "result": 42 }))
    });
    assert_eq!(
        rig.calc("this is not an expression").await.unwrap(),
        json!({ "result": 42 })
    );
    assert_eq!(rig.tools.usage("calculator").unwrap().failures, 0);
    let mut rig = Rig::new();
    rig.hook(HookPoint::AfterToolExecution, |c| {
        HookResult::Replace(json!({ "result": c.data["result"], "checked": true }))
    });
    assert_eq!(
        rig.calc("5 - 2").await.unwrap(),
        json!({ "result": 3, "checked": true })
    );
}

#[tokio::test]
async fn redirect_resolves_through_the_registry_with_the_same_checks() {
    let mut rig = Rig::new();
    rig.tools
        .register(Arc::new(ScriptTool::new(
            "safe_calc",
            "always answers 0",
            Arc::new(|_, _| Box::pin(async { Ok(json!({ "result": 0, "by": "safe_calc" })) })),
        )))
        .unwrap();
    rig.hook(HookPoint::BeforeToolExecution, |c| {
        if c.component.name.as_ref() == "calculator" {
            HookResult::Redirect("safe_calc".into())
        } else {
            HookResult::Continue
        }
    });
    let out = rig
        .tools
        .invoke_with(
            "calculator",
            json!({ "expression": "1 + 1" }),
            &ExecutionContext::native(),
            InvokeOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.output["by"].clone(), &*out.target),
        (json!("safe_calc"), "safe_calc")
    );

    // A redirect may not raise the caller's level.
    let mut rig = Rig::new();
    rig.tools
        .register(Arc::new(
            ScriptTool::new(
                "root_calc",
                "privileged",
                Arc::new(|_, _| Box::pin(async { Ok(json!({ "result": 1 })) })),
            )
            .with_security_level(SecurityLevel::Privileged),
        ))
        .unwrap();
    rig.hook(HookPoint::BeforeToolExecution, |_| {
        HookResult::Redirect("root_calc".into())
    });
    let err = rig.calc("1").await.unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }), "{err:?}");
}

#[tokio::test]
async fn retry_reruns_a_failing_tool_until_it_succeeds() {
    let mut rig = Rig::new();
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    rig.tools
        .register(Arc::new(ScriptTool::new(
            "flaky",
            "fails twice",
            Arc::new(move |_, _| {
                let c = c.clone();
                Box::pin(async move {
                    let mut n = c.lock();
                    *n += 1;
                    if *n < 3 {
                        Err(Error::External {
                            service: "x".into(),
                            message: "503".into(),
                            retryable: true,
                            source: None,
                        })
                    } else {
                        Ok(json!({ "ok": *n }))
                    }
                })
            }),
        )))
        .unwrap();
    rig.hook(HookPoint::ToolError, |_| HookResult::Retry {
        delay: Duration::from_millis(1),
        max_attempts: 5,
    });
    let out = rig
        .tools
        .invoke_with(
            "flaky",
            json!({}),
            &ExecutionContext::native(),
            InvokeOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!((out.output, out.attempts), (json!({ "ok": 3 }), 3));
    assert_eq!(*calls.lock(), 3);
}

#[tokio::test]
async fn cache_serves_a_repeated_call_without_running_the_tool() {
    let mut rig = Rig::new();
    let runs = Arc::new(Mutex::new(0));
    let r = runs.clone();
    rig.tools
        .register(Arc::new(ScriptTool::new(
            "expensive",
            "counts its runs",
            Arc::new(move |p, _| {
                let r = r.clone();
                Box::pin(async move {
                    *r.lock() += 1;
                    Ok(json!({ "echo": p }))
                })
            }),
        )))
        .unwrap();
    rig.hook(HookPoint::BeforeToolExecution, |c| HookResult::Cache {
        key: format!("{}:{}", c.component.name, c.data),
        ttl: Duration::from_secs(60),
    });
    let exec = ExecutionContext::native();
    let a = rig
        .tools
        .invoke_with("expensive", json!({ "q": 1 }), &exec, InvokeOptions::new())
        .await
        .unwrap();
    let b = rig
        .tools
        .invoke_with("expensive", json!({ "q": 1 }), &exec, InvokeOptions::new())
        .await
        .unwrap();
    assert_eq!(a.output, b.output);
    assert!(!a.cache_hit && b.cache_hit);
    assert_eq!(*runs.lock(), 1, "the cached call did not run the tool");
}

#[tokio::test]
async fn fork_runs_other_tools_and_reports_them() {
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolExecution, |c| {
        if c.component.name.as_ref() == "calculator" {
            HookResult::Fork {
                operations: vec![ForkOperation {
                    target: "hash_calculator".into(),
                    input: json!({ "operation": "hash", "algorithm": "sha256", "input": "abc" }),
                }],
            }
        } else {
            HookResult::Continue
        }
    });
    let out = rig
        .tools
        .invoke_with(
            "calculator",
            json!({ "expression": "6 * 7" }),
            &ExecutionContext::native(),
            InvokeOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.output, json!({ "result": 42 }));
    let fork = out.forks[0].result.as_ref().unwrap();
    assert_eq!(
        fork["hash"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[tokio::test]
async fn every_call_publishes_tool_events_with_the_callers_correlation_and_language() {
    let rig = Rig::new();
    let mut events = rig.bus.subscribe("tool.calculator.*").unwrap();
    let exec = ExecutionContext::new(Language::Lua);
    rig.tools
        .invoke("calculator", json!({ "expression": "1 + 2" }), &exec)
        .await
        .unwrap();
    let started = events.try_recv().unwrap();
    let completed = events.try_recv().unwrap();
    assert_eq!(started.event_type.as_str(), "tool.calculator.started");
    assert_eq!(completed.event_type.as_str(), "tool.calculator.completed");
    assert_eq!(completed.data["output"], json!({ "result": 3 }));
    assert_eq!(
        completed.metadata.correlation_id,
        Some(exec.correlation_id.clone())
    );
    assert_eq!(completed.language, Language::Lua);
}

#[tokio::test]
async fn discovery_hooks_can_rewrite_the_query_and_narrow_the_result() {
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolDiscovery, |c| {
        let mut q = c.data["query"].clone();
        q["text"] = json!("hash");
        HookResult::Modified(json!({ "query": q }))
    });
    let found = rig
        .tools
        .search(&ToolQuery::new().text("calc"), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["hash_calculator"]
    );
    let mut rig = Rig::new();
    rig.hook(HookPoint::AfterToolDiscovery, |_| {
        HookResult::Modified(json!({ "tools": ["calculator"] }))
    });
    let all = rig.tools.list(&ExecutionContext::native()).await.unwrap();
    assert_eq!(all.len(), 1);
    let mut rig = Rig::new();
    rig.hook(HookPoint::BeforeToolDiscovery, |_| {
        HookResult::Cancel("listing is private".into())
    });
    assert!(rig.tools.list(&ExecutionContext::native()).await.is_err());
}

#[tokio::test]
async fn tool_resource_allocated_sees_the_tool_its_limits_and_its_usage_before_it_runs() {
    let mut rig = Rig::new();
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    rig.hook(HookPoint::ToolResourceAllocated, move |c| {
        s.lock().push(c.data.clone());
        if c.data["usage"]["calls"] == 3 {
            return HookResult::Cancel("no capacity for a third call".into());
        }
        HookResult::Continue
    });
    let limits = ResourceLimits::default()
        .max_duration(Duration::from_secs(7))
        .max_input_bytes(1000);
    for expression in ["1 + 1", "2 + 2"] {
        rig.tools
            .invoke_with(
                "calculator",
                json!({ "expression": expression }),
                &ExecutionContext::native(),
                InvokeOptions::new().limits(limits),
            )
            .await
            .unwrap();
    }
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let second = &seen[1];
    assert_eq!(second["tool"], "calculator");
    assert_eq!(second["limits"], serde_json::to_value(limits).unwrap());
    assert_eq!(
        (
            second["usage"]["calls"].clone(),
            second["usage"]["active"].clone()
        ),
        (json!(2), json!(1)),
        "the allocation of the second call counts it as running"
    );
    // A cancel there refuses the call before the tool runs.
    let err = rig
        .tools
        .invoke(
            "calculator",
            json!({ "expression": "3 +" }),
            &ExecutionContext::native(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { reason, .. } if reason == "no capacity for a third call"),
        "refused before the tool could fail on its input: {err:?}"
    );
    let usage = rig.tools.usage("calculator").unwrap();
    assert_eq!((usage.active, usage.failures), (0, 1), "{usage:?}");
}

#[tokio::test]
async fn tool_timeout_tells_its_hooks_the_tool_and_the_limit_it_passed() {
    let mut rig = Rig::new();
    rig.tools
        .register(Arc::new(ScriptTool::new(
            "stuck",
            "never answers",
            Arc::new(|_, _| Box::pin(std::future::pending())),
        )))
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<(String, Value)>::new()));
    let s = seen.clone();
    rig.hook(HookPoint::ToolTimeout, move |c| {
        s.lock()
            .push((c.component.name.to_string(), c.data.clone()));
        HookResult::Continue
    });
    let opts = InvokeOptions::new()
        .limits(ResourceLimits::default().max_duration(Duration::from_millis(25)));
    let err = rig
        .tools
        .invoke_with("stuck", json!({}), &ExecutionContext::native(), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(
        *seen.lock(),
        [(
            "stuck".to_owned(),
            json!({ "tool": "stuck", "limit_ms": 25 })
        )]
    );
}

/// A registry whose runner reports guarded operations slower than `budget`.
fn rig_with_slow_budget(budget: Duration) -> Rig {
    let hooks = HookRegistry::new();
    let bus = EventBus::new();
    let runner = GuardedRunner::new(
        HookExecutor::builder(hooks.clone())
            .bus(bus.clone())
            .build(),
    )
    .with_config(RunnerConfig {
        slow_operation: Some(budget),
        ..RunnerConfig::default()
    });
    let tools = ToolRegistry::new(runner);
    tools.register(Arc::new(Calculator::new())).unwrap();
    tools
        .register(Arc::new(ScriptTool::new(
            "slow",
            "answers after 30 ms",
            Arc::new(|_, _| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Ok(json!({ "done": true }))
                })
            }),
        )))
        .unwrap();
    Rig {
        hooks,
        tools,
        bus,
        handles: Vec::new(),
    }
}

#[tokio::test]
async fn a_tool_call_past_the_slow_budget_fires_performance_threshold_exceeded_whose_cancel_fails_it()
 {
    // No other hook and no subscriber: the budget and its hook alone make
    // the call go through the runner, which times it.
    let mut rig = rig_with_slow_budget(Duration::from_millis(5));
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    rig.hook(HookPoint::PerformanceThresholdExceeded, move |c| {
        s.lock().push(c.data.clone());
        if c.data["component"] == "slow" {
            HookResult::Cancel("slower than the SLA".into())
        } else {
            HookResult::Continue
        }
    });
    let exec = ExecutionContext::native();
    // A fast call stays under the budget: nothing is reported.
    rig.calc("1 + 1").await.unwrap();
    assert!(seen.lock().is_empty(), "{:?}", seen.lock());
    let err = rig
        .tools
        .invoke("slow", json!({}), &exec)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { reason, .. } if reason == "slower than the SLA"),
        "{err:?}"
    );
    let data = seen.lock()[0].clone();
    assert_eq!(data["subject"], "operation");
    assert_eq!(data["component"], "slow");
    assert_eq!(data["component_type"], "tool");
    assert_eq!(data["ok"], true, "the tool itself succeeded");
    assert!(data["elapsed_ms"].as_f64().unwrap() >= 30.0, "{data}");
    assert_eq!(data["budget_ms"], 5.0);
}

#[tokio::test]
async fn a_slow_hook_in_a_tool_call_fires_performance_threshold_exceeded_whose_cancel_fails_it() {
    let rig = Rig::new();
    let _slow = rig
        .hooks
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(hook_fn(|_| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(HookResult::Continue)
            })),
            HookOptions::new()
                .name("slow-audit")
                .slow_budget(Duration::from_millis(1)),
        )
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    let _sla = rig.hooks.register(
        HookPoint::PerformanceThresholdExceeded,
        sync_hook_fn(move |c| {
            s.lock().push(c.data.clone());
            Ok(HookResult::Cancel("hooks must be fast".into()))
        })
        .named("sla"),
    );
    let err = rig.calc("2 + 2").await.unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "sla".into(),
            reason: "hooks must be fast".into()
        }
    );
    let data = seen.lock()[0].clone();
    assert_eq!(data["subject"], "hook");
    assert_eq!(data["hook_name"], "slow-audit");
    assert_eq!(data["point"], "BeforeToolExecution");
    assert!(data["elapsed_ms"].as_f64().unwrap() >= 20.0, "{data}");
}
