//! `BeforeEventEmit` and `AfterEventEmit` fire around every publish on a bus
//! whose executor installed [`EmitHooks`]: they change, replace or drop the
//! event before any subscriber sees it, and report what was delivered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, Error};
use llmspell_events::{EventBus, Topic, UniversalEvent};
use llmspell_hooks::{
    EmitHooks, FailMode, GuardPoints, GuardSpec, GuardedRunner, HookContext, HookExecutor,
    HookOptions, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn setup() -> (HookRegistry, EventBus, HookExecutor) {
    let registry = HookRegistry::new();
    let bus = EventBus::new();
    let executor = HookExecutor::builder(registry.clone())
        .bus(bus.clone())
        .build();
    EmitHooks::install(&executor).unwrap();
    (registry, bus, executor)
}

fn event(topic: &str, data: Value) -> UniversalEvent {
    UniversalEvent::new(Topic::new(topic).unwrap(), data)
}

#[tokio::test]
async fn before_emit_hooks_modify_replace_and_drop_events() {
    let (registry, bus, _executor) = setup();
    let mut sub = bus.subscribe("user.**").unwrap();
    let _h = registry.register(
        HookPoint::BeforeEventEmit,
        sync_hook_fn(|ctx| {
            Ok(match ctx.data["type"].as_str() {
                Some("user.signup") => {
                    let mut ev = ctx.data.clone();
                    ev["data"]["email"] = json!("<redacted>");
                    ev["tags"] = json!(["redacted"]);
                    HookResult::Modified(ev)
                }
                Some("user.note") => HookResult::Replace(json!({ "note": "replaced" })),
                Some("user.secret") => HookResult::Cancel("secrets stay local".into()),
                _ => HookResult::Continue,
            })
        })
        .named("privacy"),
    );
    let original = event("user.signup", json!({ "email": "a@b.c", "plan": "pro" }));
    let id = original.id;
    bus.publish(original).await.unwrap();
    let got = sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.data, json!({ "email": "<redacted>", "plan": "pro" }));
    assert_eq!(got.metadata.tags, ["redacted"]);
    assert_eq!(got.id, id, "the event keeps its id");

    bus.publish(event("user.note", json!({ "note": "x" })))
        .await
        .unwrap();
    let got = sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.data, json!({ "note": "replaced" }));

    let err = bus
        .publish(event("user.secret", json!({ "key": "k" })))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"privacy\"") && text.contains("secrets stay local"),
        "{text}"
    );
    assert!(
        sub.recv_timeout(Duration::from_millis(50)).await.is_none(),
        "a dropped event reaches no subscriber"
    );

    bus.publish(event("user.other", json!(1))).await.unwrap();
    let got = sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.data, json!(1));
}

#[tokio::test]
async fn after_emit_hooks_see_what_was_delivered() {
    let (registry, bus, _executor) = setup();
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = seen.clone();
    let _h = registry.register(
        HookPoint::AfterEventEmit,
        sync_hook_fn(move |ctx| {
            log.lock().push(ctx.data.clone());
            Ok(HookResult::Continue)
        }),
    );
    let _a = bus.subscribe("metrics.*").unwrap();
    let _b = bus.subscribe("metrics.**").unwrap();
    let receipt = bus
        .publish(event("metrics.tick", json!({ "n": 1 })))
        .await
        .unwrap();
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["type"], "metrics.tick");
    assert_eq!(seen[0]["delivered"], 2);
    assert_eq!(seen[0]["sequence"], receipt.sequence);
}

#[tokio::test]
async fn a_failing_closed_emit_hook_drops_the_event() {
    let (registry, bus, _executor) = setup();
    let mut sub = bus.subscribe("**").unwrap();
    let _h = registry
        .register_with(
            HookPoint::BeforeEventEmit,
            Arc::new(sync_hook_fn(|_| Err(Error::other("classifier down")))),
            HookOptions::new()
                .name("classifier")
                .fail_mode(FailMode::Closed),
        )
        .unwrap();
    let err = bus.publish(event("a.b", json!(1))).await.unwrap_err();
    assert!(err.to_string().contains("classifier down"), "{err}");
    assert!(sub.recv_timeout(Duration::from_millis(50)).await.is_none());
}

#[tokio::test]
async fn lifecycle_events_of_guarded_operations_pass_the_emit_hooks() {
    let (registry, bus, executor) = setup();
    let mut sub = bus.subscribe("tool.echo.*").unwrap();
    let _h = registry.register(
        HookPoint::BeforeEventEmit,
        sync_hook_fn(|ctx| {
            let mut ev = ctx.data.clone();
            ev["tags"] = json!(["seen-by-emit-hook"]);
            Ok(HookResult::Modified(ev))
        }),
    );
    let runner = GuardedRunner::new(executor);
    let spec = GuardSpec::new(ComponentId::tool("echo"), GuardPoints::tool());
    let ctx = HookContext::new(
        HookPoint::BeforeToolExecution,
        spec.component().clone(),
        json!({ "x": 1 }),
    );
    runner
        .run_context(&spec, ctx, |call| async move { Ok(call.input) })
        .await
        .unwrap();
    for expected in ["tool.echo.started", "tool.echo.completed"] {
        let ev = sub.recv_timeout(Duration::from_secs(1)).await.unwrap();
        assert_eq!(ev.event_type.as_str(), expected);
        assert_eq!(ev.metadata.tags, ["seen-by-emit-hook"]);
    }
}

#[tokio::test]
async fn without_emit_hooks_events_pass_unchanged() {
    let (_registry, bus, _executor) = setup();
    let mut sub = bus.subscribe("x").unwrap();
    bus.publish(event("x", json!({ "k": "v" }))).await.unwrap();
    assert_eq!(
        sub.recv_timeout(Duration::from_secs(1)).await.unwrap().data,
        json!({ "k": "v" })
    );
}
