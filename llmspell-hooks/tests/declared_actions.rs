//! A hook declares the actions it may return: the executor holds it to the
//! declaration (any other action is a failure of the hook, under its fail
//! mode), and the guarded runner keeps a copy of an operation's input only
//! when a hook could ask for a retry or a redirect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, Error, ExecutionContext};
use llmspell_hooks::{
    ActionSet, FailMode, GuardPoints, GuardSpec, GuardedRunner, HookAction, HookContext,
    HookExecutor, HookOptions, HookPoint, HookRegistry, HookResult, hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn retry_once() -> HookResult {
    HookResult::Retry {
        delay: Duration::ZERO,
        max_attempts: 2,
    }
}

#[tokio::test]
async fn an_undeclared_action_is_a_failure_of_the_hook() {
    for (mode, cancels) in [(FailMode::Open, false), (FailMode::Closed, true)] {
        let registry = HookRegistry::new();
        let hook = hook_fn(|_ctx: Arc<HookContext>| async { Ok(HookResult::Cancel("no".into())) })
            .named("looker")
            .returns(ActionSet::OBSERVE);
        registry
            .register_with(
                HookPoint::BeforeToolExecution,
                Arc::new(hook),
                HookOptions::new().fail_mode(mode),
            )
            .unwrap()
            .forget();
        let executor = HookExecutor::new(registry);
        let mut ctx = HookContext::new(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("t"),
            json!({}),
        );
        let outcome = executor.execute_point(&mut ctx).await;
        if cancels {
            let message = outcome.unwrap_err().to_string();
            assert!(message.contains("looker"), "{message}");
            assert!(
                message.contains(
                    "returned cancel, which it does not declare (it declares: continue, skip)"
                ),
                "{message}"
            );
        } else {
            let outcome = outcome.unwrap();
            assert_eq!(outcome.result(), &HookResult::Continue);
            assert_eq!(outcome.skipped, 1);
        }
    }
}

#[test]
fn the_registry_knows_what_a_point_may_return() {
    let registry = HookRegistry::new();
    let p = HookPoint::AfterToolExecution;
    assert_eq!(registry.may_return(&p), ActionSet::NONE);
    let looker = registry.register(
        p.clone(),
        hook_fn(|_| async { Ok(HookResult::Continue) }).returns(ActionSet::OBSERVE),
    );
    assert_eq!(registry.may_return(&p), ActionSet::OBSERVE);
    let retrier = registry.register(
        p.clone(),
        hook_fn(|_| async { Ok(HookResult::Continue) })
            .returns([HookAction::Continue, HookAction::Retry]),
    );
    assert!(registry.may_return(&p).contains(HookAction::Retry));
    assert!(retrier.unregister());
    assert_eq!(registry.may_return(&p), ActionSet::OBSERVE);
    assert!(looker.unregister());
    assert_eq!(registry.may_return(&p), ActionSet::NONE);
    // A hook that declares nothing may return anything.
    let _any = registry.register(p.clone(), hook_fn(|_| async { Ok(HookResult::Continue) }));
    assert_eq!(registry.may_return(&p), ActionSet::ALL);
}

/// Runs an operation that records its inputs, with `hooks` registered.
async fn run_recording(registry: HookRegistry) -> (Result<Value, Error>, Vec<Value>) {
    let runner = GuardedRunner::new(HookExecutor::new(registry));
    let spec = GuardSpec::new(ComponentId::tool("echo"), GuardPoints::tool());
    let seen = Mutex::new(Vec::new());
    let result = runner
        .run(
            &spec,
            &ExecutionContext::native(),
            json!({ "text": "x".repeat(4096) }),
            |call| {
                seen.lock().push(call.input.clone());
                async move { Ok(json!({ "len": call.input["text"].as_str().map(str::len) })) }
            },
        )
        .await
        .map(|o| o.output);
    (result, seen.into_inner())
}

#[tokio::test]
async fn a_declared_retry_runs_the_operation_again_on_the_original_input() {
    let registry = HookRegistry::new();
    // Before: rewrites the input; After: asks for one more attempt.
    registry
        .register(
            HookPoint::BeforeToolExecution,
            hook_fn(|ctx| async move {
                let mut data = ctx.data.clone();
                data["attempt"] = json!(ctx.attempt);
                Ok(HookResult::Modified(data))
            })
            .returns([HookAction::Modified]),
        )
        .forget();
    registry
        .register(
            HookPoint::AfterToolExecution,
            hook_fn(|ctx| async move {
                Ok(if ctx.attempt == 1 {
                    retry_once()
                } else {
                    HookResult::Continue
                })
            })
            .returns([HookAction::Continue, HookAction::Retry]),
        )
        .forget();
    let (result, seen) = run_recording(registry).await;
    assert_eq!(result.unwrap(), json!({ "len": 4096 }));
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["attempt"], 1);
    assert_eq!(seen[1]["attempt"], 2);
    assert_eq!(seen[1]["text"], seen[0]["text"]);
}

#[tokio::test]
async fn observing_hooks_see_the_call_and_leave_it_unchanged() {
    let registry = HookRegistry::new();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    for point in [
        HookPoint::BeforeToolExecution,
        HookPoint::AfterToolExecution,
    ] {
        let sizes = sizes.clone();
        registry
            .register(
                point,
                hook_fn(move |ctx| {
                    sizes.lock().push(llmspell_core::json_size(&ctx.data));
                    async { Ok(HookResult::Continue) }
                })
                .returns(ActionSet::OBSERVE),
            )
            .forget();
    }
    let (result, seen) = run_recording(registry).await;
    assert_eq!(result.unwrap(), json!({ "len": 4096 }));
    assert_eq!(seen.len(), 1);
    assert_eq!(*sizes.lock(), vec![4096 + 11, 12]);
}
