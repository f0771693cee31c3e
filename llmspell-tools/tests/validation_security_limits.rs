//! Bad parameters name the field; security levels are enforced (and
//! reported at SecurityViolation); size limits are typed errors that fire
//! ResourceLimitExceeded; counters are readable by hooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_core::{Error, ExecutionContext, SecurityLevel};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::{
    BuiltinToolsConfig, InvokeOptions, ResourceLimits, ScriptTool, ToolRegistry, builtin_tools,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn registry(hooks: &HookRegistry) -> ToolRegistry {
    let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(hooks.clone())));
    tools
        .register_all(builtin_tools(&BuiltinToolsConfig::default()))
        .unwrap();
    tools
}

#[tokio::test]
async fn bad_parameters_name_the_field_and_the_expected_type() {
    let tools = registry(&HookRegistry::new());
    let exec = ExecutionContext::native();
    match tools
        .invoke("calculator", json!({ "expression": 42 }), &exec)
        .await
        .unwrap_err()
    {
        Error::InvalidInput { field, message } => {
            assert_eq!(field, "expression");
            assert!(message.contains("string"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match tools
        .invoke("calculator", json!({ "variables": {} }), &exec)
        .await
        .unwrap_err()
    {
        Error::InvalidInput { field, message } => {
            assert_eq!(field, "expression");
            assert!(message.contains("missing"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = tools
        .invoke("calculater", json!({}), &exec)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean \"calculator\"?"),
        "{err}"
    );
}

#[tokio::test]
async fn privileged_tools_need_a_privileged_caller() {
    let hooks = HookRegistry::new();
    let violations = Arc::new(Mutex::new(Vec::<Value>::new()));
    let v = violations.clone();
    let _h = hooks.register(
        HookPoint::SecurityViolation,
        sync_hook_fn(move |c| {
            v.lock().push(c.data.clone());
            Ok(HookResult::Continue)
        }),
    );
    let tools = registry(&hooks);
    let exec = ExecutionContext::native();
    let params = json!({ "operation": "get", "name": "HOME" });
    let err = tools
        .invoke("environment_reader", params.clone(), &exec)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SecurityViolation { message } if message.contains("privileged")),
        "{err:?}"
    );
    assert_eq!(violations.lock()[0]["tool"], "environment_reader");
    assert_eq!(violations.lock()[0]["allowed_level"], "restricted");
    // With the level granted, the tool's own allow-list decides (nothing is allowed by default).
    let opts = InvokeOptions::new().allowed_level(SecurityLevel::Privileged);
    let err = tools
        .invoke_with("environment_reader", params, &exec, opts)
        .await
        .unwrap_err();
    assert!(
        !matches!(err, Error::SecurityViolation { ref message } if message.contains("needs security level")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_security_hook_may_grant_or_refuse() {
    let hooks = HookRegistry::new();
    let _grant = hooks.register(
        HookPoint::ToolSecurityCheck,
        sync_hook_fn(|c| {
            if c.metadata.get("role").map(String::as_str) == Some("admin") {
                let mut d = c.data.clone();
                d["allowed_level"] = json!("privileged");
                return Ok(HookResult::Modified(d));
            }
            if c.metadata.get("role").map(String::as_str) == Some("guest") {
                return Ok(HookResult::Cancel("guests may not run tools".into()));
            }
            Ok(HookResult::Continue)
        }),
    );
    let tools = registry(&hooks);
    tools
        .register(Arc::new(
            ScriptTool::new(
                "admin_only",
                "needs privileged",
                Arc::new(|_, _| Box::pin(async { Ok(json!({ "ok": true })) })),
            )
            .with_security_level(SecurityLevel::Privileged),
        ))
        .unwrap();
    let admin = ExecutionContext::native().with_metadata("role", "admin");
    assert_eq!(
        tools.invoke("admin_only", json!({}), &admin).await.unwrap(),
        json!({ "ok": true })
    );
    assert!(
        tools
            .invoke("admin_only", json!({}), &ExecutionContext::native())
            .await
            .is_err()
    );
    let guest = ExecutionContext::native().with_metadata("role", "guest");
    let err = tools
        .invoke("calculator", json!({ "expression": "1" }), &guest)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
}

#[tokio::test]
async fn size_limits_are_typed_errors_that_fire_resource_limit_exceeded() {
    let hooks = HookRegistry::new();
    let breaches = Arc::new(Mutex::new(Vec::<Value>::new()));
    let b = breaches.clone();
    let _h = hooks.register(
        HookPoint::ResourceLimitExceeded,
        sync_hook_fn(move |c| {
            b.lock().push(c.data.clone());
            Ok(HookResult::Continue)
        }),
    );
    let tools = registry(&hooks);
    let exec = ExecutionContext::native();
    let small_in = InvokeOptions::new().limits(ResourceLimits::default().max_input_bytes(20));
    let err = tools
        .invoke_with(
            "calculator",
            json!({ "expression": "1 + 1 + 1 + 1 + 1 + 1" }),
            &exec,
            small_in,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResourceLimitExceeded {
            resource: "input_bytes".into(),
            limit: 20,
            requested: 38
        }
    );
    let small_out = InvokeOptions::new().limits(ResourceLimits::default().max_output_bytes(5));
    let err = tools
        .invoke_with(
            "calculator",
            json!({ "expression": "123456 * 1000" }),
            &exec,
            small_out,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ResourceLimitExceeded { resource, .. } if resource == "output_bytes"),
        "{err:?}"
    );
    let kinds: Vec<String> = breaches
        .lock()
        .iter()
        .map(|d| d["resource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["input_bytes", "output_bytes"]);
    assert_eq!(tools.usage("calculator").unwrap().limit_breaches, 2);
}

#[tokio::test]
async fn hooks_can_read_the_resource_counters() {
    let hooks = HookRegistry::new();
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    let _h = hooks.register(
        HookPoint::ToolResourceReleased,
        sync_hook_fn(move |c| {
            s.lock().push(c.data.clone());
            Ok(HookResult::Continue)
        }),
    );
    let tools = registry(&hooks);
    for e in ["1", "2"] {
        tools
            .invoke(
                "calculator",
                json!({ "expression": e }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
    }
    let last = seen.lock()[1].clone();
    assert_eq!(last["tool"], "calculator");
    assert_eq!(last["ok"], true);
    assert_eq!(last["usage"]["calls"], 2);
    assert_eq!(last["usage"]["active"], 0);
    let total = tools.total_usage();
    assert_eq!((total.calls, total.failures), (2, 0));
}

#[tokio::test]
async fn registration_rejects_bad_names_duplicates_and_invalid_schemas() {
    let tools = registry(&HookRegistry::new());
    let handler: llmspell_tools::ToolHandler = Arc::new(|_, _| Box::pin(async { Ok(json!({})) }));
    let err = tools
        .register(Arc::new(ScriptTool::new("bad name", "x", handler.clone())))
        .unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
    let err = tools
        .register(Arc::new(ScriptTool::new(
            "calculator",
            "x",
            handler.clone(),
        )))
        .unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");
    let err = tools
        .register(Arc::new(
            ScriptTool::new("weird", "x", handler).with_parameters(json!({ "type": "nonsense" })),
        ))
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON Schema"), "{err}");
    assert!(tools.unregister("calculator"));
    assert!(!tools.unregister("calculator"));
}

#[tokio::test]
async fn output_bytes_count_what_the_caller_received() {
    let hooks = HookRegistry::new();
    let tools = registry(&hooks);
    let exec = ExecutionContext::native();
    let p = json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } });
    let out = tools.invoke("calculator", p.clone(), &exec).await.unwrap();
    let first = serde_json::to_vec(&out).unwrap().len() as u64;
    assert_eq!(tools.usage("calculator").unwrap().output_bytes, first);

    // An After hook replaces the output with a larger one: that one is counted.
    let _h = hooks.register(
        HookPoint::AfterToolExecution,
        sync_hook_fn(|_| {
            Ok(HookResult::Modified(
                json!({ "result": 8, "note": "checked" }),
            ))
        }),
    );
    let out = tools.invoke("calculator", p, &exec).await.unwrap();
    assert_eq!(out["note"], "checked");
    let second = serde_json::to_vec(&out).unwrap().len() as u64;
    assert!(second > first);
    assert_eq!(
        tools.usage("calculator").unwrap().output_bytes,
        first + second
    );
}
