//! The budget guard and the audit log are registered fail-closed: once their
//! breaker opens, calls are refused instead of running unguarded.

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::Error;
use llmspell_hooks::builtin::{Budget, CostTrackingHook, ModelPrice, PricingTable, SecurityHook};
use llmspell_hooks::{BreakerConfig, BreakerState, FailMode, HookOptions, HookPoint};
use serde_json::json;

use crate::fixture::{Fixture, Flaky};

fn small_window() -> BreakerConfig {
    BreakerConfig {
        window_size: 3,
        minimum_calls: 3,
        open_wait: Duration::from_secs(60),
        max_open_wait: Duration::from_secs(60),
        ..BreakerConfig::default()
    }
}

fn breaker_refusal(err: &Error, hook: &str) -> bool {
    matches!(err, Error::HookFailed { hook: h, message }
        if h == hook && message.starts_with("breaker open since"))
}

#[tokio::test]
async fn the_budget_guard_refuses_calls_after_its_breaker_opens() {
    let cost = Arc::new(
        CostTrackingHook::builder()
            .pricing(PricingTable::new("EUR").with("test", "m1", ModelPrice::new(1.0, 2.0)))
            .total_budget(Budget::new(5.0))
            .build()
            .unwrap(),
    );
    let f = Fixture::llm("writer").behaviour(|call, _| {
        Ok(json!({
            "model": call.input["model"], "provider": "test",
            "usage": { "input_tokens": 1000, "output_tokens": 500 },
        }))
    });
    // Every call counts as slow (a machine under load), so the guard's
    // breaker opens after three calls.
    let guard = f
        .registry
        .register_with(
            HookPoint::BeforeLlmCall,
            cost.clone(),
            HookOptions::default()
                .name("budget")
                .fail_mode(FailMode::Closed)
                .slow_budget(Duration::from_nanos(1))
                .breaker(small_window()),
        )
        .unwrap();
    let tracking = f
        .registry
        .register_with(
            HookPoint::AfterLlmCall,
            cost.clone(),
            HookOptions::default(),
        )
        .unwrap();
    let id = guard.id();
    let f = f.keep(vec![guard, tracking]);
    let request = json!({
        "model": "m1", "provider": "test",
        "messages": [{ "role": "user", "content": "x".repeat(4000) }],
        "max_tokens": 500,
    });
    f.run(request.clone()).await.unwrap();
    f.run(request.clone()).await.unwrap();
    let over = f.run(request.clone()).await.unwrap_err();
    assert!(
        matches!(&over, Error::Cancelled { reason, .. } if reason.contains("budget guard")),
        "{over:?}"
    );
    assert_eq!(f.registry.get(id).unwrap().breaker, BreakerState::Open);
    let err = f.run(request).await.unwrap_err();
    assert!(breaker_refusal(&err, "budget"), "{err:?}");
    assert_eq!(
        f.calls(),
        2,
        "the model ran only for the two calls in budget"
    );
    assert!((cost.report().total.cost - 4.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_audit_hook_refuses_unaudited_calls_after_its_breaker_opens() {
    let backend = Arc::new(Flaky::default());
    let security = SecurityHook::builder()
        .audit(backend.clone())
        .build()
        .unwrap();
    let f = Fixture::tool("shell");
    let h = f
        .registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(security),
            HookOptions::default()
                .name("audit")
                .fail_mode(FailMode::Closed)
                .breaker(small_window()),
        )
        .unwrap();
    let id = h.id();
    let f = f.keep(vec![h]);
    f.run(json!({ "cmd": "ls" })).await.unwrap();
    backend.fail(true);
    // Two failures in a window of three calls open the breaker.
    for _ in 0..2 {
        let err = f.run(json!({ "cmd": "ls" })).await.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }
    assert_eq!(f.registry.get(id).unwrap().breaker, BreakerState::Open);
    // The store is back, but the breaker is open: the call still cannot be
    // audited now, so it does not run.
    backend.fail(false);
    let err = f.run(json!({ "cmd": "ls" })).await.unwrap_err();
    assert!(breaker_refusal(&err, "audit"), "{err:?}");
    assert_eq!(f.calls(), 1, "only the audited call ran");
}
