//! CostTrackingHook: prices real responses, aggregates them, alerts at
//! budget thresholds and refuses the call that would exceed a budget.

use std::sync::Arc;

use llmspell_core::Error;
use llmspell_events::EventBus;
use llmspell_hooks::HookPoint;
use llmspell_hooks::builtin::{
    BUDGET_ALERT_TOPIC, Budget, CachingHook, CostTrackingHook, CostTrackingHookBuilder, ModelPrice,
    PricingTable, UnknownModelPolicy,
};
use serde_json::{Value, json};

use crate::fixture::Fixture;

/// 1.00 per 1K input tokens, 2.00 per 1K output tokens.
fn pricing() -> PricingTable {
    PricingTable::new("EUR").with("test", "m1", ModelPrice::new(1.0, 2.0))
}

/// A model that reads 1 token per 4 characters and always writes `max_tokens`.
fn llm(name: &str, cost: &Arc<CostTrackingHook>) -> Fixture {
    let f = model(Fixture::llm(name));
    let handles = cost.install(&f.registry).unwrap();
    f.keep(handles)
}

fn model(f: Fixture) -> Fixture {
    f.behaviour(|call, _| {
        let chars: usize = call.input["messages"]
            .as_array()
            .map(|m| m.iter().map(|m| m["content"].as_str().unwrap_or("").len()).sum())
            .unwrap_or(0);
        let input = (chars / 4) as u64;
        let output = call.input["max_tokens"].as_u64().unwrap_or(0);
        Ok(json!({
            "content": "…",
            "model": call.input["model"],
            "provider": "test",
            "usage": { "input_tokens": input, "output_tokens": output, "total_tokens": input + output },
            "finish_reason": "stop",
        }))
    })
}

/// A request estimated (and billed) at 2.00: 1000 input + 500 output tokens.
fn request(model: &str) -> Value {
    json!({
        "model": model,
        "provider": "test",
        "messages": [{ "role": "user", "content": "x".repeat(4000) }],
        "max_tokens": 500,
    })
}

fn build(b: CostTrackingHookBuilder) -> Arc<CostTrackingHook> {
    Arc::new(b.pricing(pricing()).build().unwrap())
}

#[tokio::test]
async fn responses_are_priced_and_aggregated() {
    let cost = build(CostTrackingHook::builder());
    let f = llm("writer", &cost);
    // A caller-chosen correlation id is tracked like a generated one.
    let id = llmspell_core::CorrelationId::new("req-42").unwrap();
    let ctx = f.ctx(request("m1")).with_correlation_id(id.clone());
    f.run_ctx(ctx).await.unwrap();
    f.run(request("m1-2026-01")).await.unwrap();
    let r = cost.report();
    assert_eq!(r.currency, "EUR");
    assert_eq!(r.total.calls, 2);
    assert_eq!((r.total.input_tokens, r.total.output_tokens), (2000, 1000));
    assert!((r.total.cost - 4.0).abs() < 1e-9, "{r:?}");
    assert!((r.by_component["writer"].cost - 4.0).abs() < 1e-9);
    assert_eq!(r.by_model["test/m1"].calls, 1);
    assert_eq!(
        r.by_model["test/m1-2026-01"].calls, 1,
        "priced as m1, listed as called"
    );
    assert!((cost.correlation(&id).unwrap().cost - 2.0).abs() < 1e-9);
}

#[tokio::test]
async fn unknown_models_count_at_zero_cost() {
    let cost = build(CostTrackingHook::builder());
    let f = llm("writer", &cost);
    f.run(request("mystery")).await.unwrap();
    let r = cost.report();
    assert_eq!((r.total.calls, r.total.unpriced_calls), (1, 1));
    assert_eq!(r.total.input_tokens, 1000);
    assert_eq!(r.total.cost, 0.0);

    let strict = build(CostTrackingHook::builder().unknown_model(UnknownModelPolicy::Deny));
    let f = llm("writer", &strict);
    let err = f.run(request("mystery")).await.unwrap_err();
    assert!(
        matches!(err, Error::Cancelled { ref reason, .. } if reason.contains("no price")),
        "{err:?}"
    );
    assert_eq!(f.calls(), 0);
}

#[tokio::test]
async fn the_guard_stops_the_call_that_would_exceed_the_budget() {
    let bus = EventBus::new();
    let mut alerts = bus.subscribe(BUDGET_ALERT_TOPIC).unwrap();
    let cost = build(
        CostTrackingHook::builder()
            .total_budget(Budget::new(5.0))
            .bus(bus.clone()),
    );
    let f = llm("writer", &cost);
    f.run(request("m1")).await.unwrap();
    assert!(alerts.try_recv().is_none(), "40 % crosses no threshold");
    f.run(request("m1")).await.unwrap();
    let a = alerts.try_recv().expect("50 % alert");
    assert_eq!(
        (a.data["scope"].as_str(), a.data["threshold"].as_f64()),
        (Some("total"), Some(0.5))
    );
    let b = alerts.try_recv().expect("80 % alert");
    assert_eq!(b.data["threshold"], 0.8);
    assert_eq!(b.data["currency"], "EUR");
    assert!((b.data["spent"].as_f64().unwrap() - 4.0).abs() < 1e-9);

    let err = f.run(request("m1")).await.unwrap_err();
    match err {
        Error::Cancelled { hook, reason } => {
            assert_eq!(hook, "builtin.cost_tracking");
            assert!(
                reason.contains("budget guard") && reason.contains("total budget"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.calls(), 2, "the third call never reached the model");

    // A cheaper call still fits: 200 input tokens + 100 output tokens = 0.40.
    let small = json!({
        "model": "m1", "provider": "test",
        "messages": [{ "role": "user", "content": "y".repeat(800) }],
        "max_tokens": 100,
    });
    f.run(small).await.unwrap();
    let r = cost.report();
    assert_eq!(r.guarded, 1);
    assert!((r.total.cost - 4.4).abs() < 1e-9, "{r:?}");
    assert_eq!(r.budgets[0].alerts_fired, [0.5, 0.8]);
    assert!((r.budgets[0].remaining - 0.6).abs() < 1e-9);
}

#[tokio::test]
async fn component_budgets_are_separate() {
    let cost = build(CostTrackingHook::builder().component_budget("intern", Budget::new(3.0)));
    let intern = llm("intern", &cost);
    intern.run(request("m1")).await.unwrap();
    intern.run(request("m1")).await.unwrap_err();
    let r = cost.report();
    assert_eq!(r.budgets.len(), 1);
    assert_eq!(r.budgets[0].scope, "component:intern");
    assert_eq!(r.budgets[0].alerts_fired, [0.5]);
    drop(intern);
    let lead = llm("lead", &cost);
    for _ in 0..3 {
        lead.run(request("m1")).await.unwrap();
    }
    assert_eq!(lead.calls(), 3, "another component is not limited");
}

#[tokio::test]
async fn calls_in_flight_hold_their_estimate_until_they_report_back() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    let cost = build(CostTrackingHook::builder().total_budget(Budget::new(3.0)));
    let f = llm("writer", &cost);
    let ran = Arc::new(AtomicU32::new(0));
    let call = || {
        let ran = ran.clone();
        f.runner.run_context(&f.spec, f.ctx(request("m1")), move |_call| {
            let ran = ran.clone();
            async move {
                ran.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok(json!({
                    "content": "…", "model": "m1", "provider": "test",
                    "usage": { "input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500 },
                }))
            }
        })
    };
    // Two calls of 2.00 each start together under a 3.00 budget: one runs.
    let (a, b) = tokio::join!(call(), call());
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one call may run: {a:?} / {b:?}"
    );
    let refused = a.err().or(b.err()).unwrap();
    assert!(
        matches!(&refused, Error::Cancelled { reason, .. } if reason.contains("held by calls in flight")),
        "{refused:?}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    let r = cost.report();
    assert!(
        (r.total.cost - 2.0).abs() < 1e-9 && r.reserved == 0.0,
        "{r:?}"
    );

    // A failed call releases its estimate at LlmError.
    let cost = build(CostTrackingHook::builder().total_budget(Budget::new(3.0)));
    let f = llm("writer", &cost);
    let ran = Arc::new(AtomicU32::new(0));
    let call = |fail: bool| {
        let ran = ran.clone();
        f.runner
            .run_context(&f.spec, f.ctx(request("m1")), move |_call| {
                let ran = ran.clone();
                async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    if fail {
                        return Err(Error::other("overloaded"));
                    }
                    Ok(json!({ "model": "m1", "provider": "test",
                    "usage": { "input_tokens": 1000, "output_tokens": 500 } }))
                }
            })
    };
    call(true).await.unwrap_err();
    assert_eq!(cost.report().reserved, 0.0);
    call(false).await.unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cache_hits_are_not_billed_again() {
    let cost = build(CostTrackingHook::builder());
    let cache = Arc::new(
        CachingHook::builder()
            .ttl(std::time::Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    let c = cache.clone();
    let f = model(Fixture::llm("writer"))
        .runner(|r| c.attach(r))
        .hook(HookPoint::BeforeLlmCall, cache.clone());
    let handles = cost.install(&f.registry).unwrap();
    let f = f.keep(handles);
    let first = f.run(request("m1")).await.unwrap();
    let second = f.run(request("m1")).await.unwrap();
    assert!(!first.cache_hit && second.cache_hit);
    assert_eq!(f.calls(), 1, "the model ran once");
    let r = cost.report();
    assert_eq!(
        r.total.calls, 1,
        "the served copy is not a second call: {r:?}"
    );
    assert!((r.total.cost - 2.0).abs() < 1e-9, "{r:?}");
    assert!(
        r.reserved.abs() < 1e-9,
        "the guard's estimate was released: {r:?}"
    );
}
