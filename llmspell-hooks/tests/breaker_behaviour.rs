//! Breakers through the executor: opening on failures and on slowness,
//! probing, recovering with backoff, admin states, transition events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use llmspell_core::{ComponentId, Error};
use llmspell_events::EventBus;
use llmspell_hooks::{
    BreakerConfig, BreakerState, ExecutorConfig, HookContext, HookExecutor, HookOptions, HookPoint,
    HookRegistry, HookResult, hook_fn, sync_hook_fn,
};
use serde_json::json;

const P: HookPoint = HookPoint::BeforeToolExecution;

fn ctx() -> HookContext {
    HookContext::new(P, ComponentId::tool("t"), json!({}))
}

fn quick_breaker() -> BreakerConfig {
    BreakerConfig {
        window_size: 10,
        minimum_calls: 5,
        open_wait: Duration::from_millis(50),
        max_open_wait: Duration::from_millis(400),
        half_open_probes: 2,
        ..BreakerConfig::default()
    }
}

#[tokio::test]
async fn a_failing_hook_is_skipped_once_its_breaker_opens_and_the_bus_hears_it() {
    let bus = EventBus::new();
    let mut transitions = bus.subscribe("hook.breaker.*").unwrap();
    let registry = HookRegistry::new();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let h = registry
        .register_with(
            P,
            Arc::new(sync_hook_fn(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
                Err(Error::other("broken"))
            })),
            HookOptions::new().name("flaky"),
        )
        .unwrap();
    let executor = HookExecutor::builder(registry.clone())
        .bus(bus.clone())
        .build();
    for _ in 0..30 {
        executor.execute_point(&mut ctx()).await.unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        10,
        "default breaker: opens after 10 failing calls"
    );
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Open);
    let perf = executor.monitor().hook(h.id()).unwrap();
    assert_eq!((perf.latency.calls, perf.latency.skips), (10, 20));
    let ev = transitions.try_recv().unwrap();
    assert_eq!(ev.event_type.as_str(), "hook.breaker.opened");
    assert_eq!(ev.data["hook_name"], "flaky");
    assert_eq!(ev.data["hook_id"], h.id().to_string());
    assert_eq!(ev.data["point"], "BeforeToolExecution");
    assert_eq!(ev.data["state"], "open");
    assert!(
        ev.data["reason"]
            .as_str()
            .unwrap()
            .contains("failure rate 100%")
    );
}

#[tokio::test]
async fn a_hook_that_turns_slow_is_skipped_within_twenty_calls() {
    let registry = HookRegistry::new();
    let slow = Arc::new(AtomicBool::new(false));
    let s = slow.clone();
    let h = registry.register(
        P,
        hook_fn(move |_| {
            let s = s.clone();
            async move {
                if s.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
                Ok(HookResult::Continue)
            }
        }),
    );
    let executor = HookExecutor::builder(registry.clone())
        .config(ExecutorConfig::default().budget(P, Duration::from_millis(5)))
        .build();
    for _ in 0..50 {
        executor.execute_point(&mut ctx()).await.unwrap();
    }
    slow.store(true, Ordering::SeqCst);
    let mut calls_until_skipped = 0;
    while registry.get(h.id()).unwrap().breaker == BreakerState::Closed {
        executor.execute_point(&mut ctx()).await.unwrap();
        calls_until_skipped += 1;
        assert!(
            calls_until_skipped <= 20,
            "still called after 20 slow calls"
        );
    }
    assert!(
        calls_until_skipped >= 5,
        "not before the slow share reaches the threshold"
    );
    let before = executor.monitor().hook(h.id()).unwrap().latency.calls;
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(
        executor.monitor().hook(h.id()).unwrap().latency.calls,
        before,
        "skipped while open"
    );
}

#[tokio::test]
async fn an_open_breaker_probes_after_its_wait_and_recovers() {
    let bus = EventBus::new();
    let mut transitions = bus.subscribe("hook.breaker.*").unwrap();
    let registry = HookRegistry::new();
    let healthy = Arc::new(AtomicBool::new(false));
    let hh = healthy.clone();
    let h = registry
        .register_with(
            P,
            Arc::new(sync_hook_fn(move |_| {
                if hh.load(Ordering::SeqCst) {
                    Ok(HookResult::Continue)
                } else {
                    Err(Error::other("down"))
                }
            })),
            HookOptions::new().breaker(quick_breaker()),
        )
        .unwrap();
    let executor = HookExecutor::builder(registry.clone())
        .bus(bus.clone())
        .build();
    for _ in 0..5 {
        executor.execute_point(&mut ctx()).await.unwrap();
    }
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Open);
    // A failed probe reopens with a longer wait.
    tokio::time::sleep(Duration::from_millis(60)).await;
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Open);
    tokio::time::sleep(Duration::from_millis(60)).await;
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(
        registry.get(h.id()).unwrap().breaker,
        BreakerState::Open,
        "the second wait is 100 ms: 60 ms is not enough"
    );
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(60)).await;
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(
        registry.get(h.id()).unwrap().breaker,
        BreakerState::HalfOpen
    );
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Closed);
    let kinds: Vec<String> = std::iter::from_fn(|| transitions.try_recv())
        .map(|e| e.event_type.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "hook.breaker.opened",
            "hook.breaker.half_open",
            "hook.breaker.opened",
            "hook.breaker.half_open",
            "hook.breaker.closed"
        ]
    );
}

#[tokio::test]
async fn admin_states_override_the_breaker() {
    let registry = HookRegistry::new();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let h = registry.register(
        P,
        sync_hook_fn(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            Err(Error::other("always"))
        }),
    );
    let executor = HookExecutor::new(registry.clone());
    let control = registry.breaker(h.id()).unwrap();
    control.force_open();
    executor.execute_point(&mut ctx()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "forced open: skipped");
    control.disable();
    for _ in 0..40 {
        executor.execute_point(&mut ctx()).await.unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        40,
        "disabled: always called, never opens"
    );
    assert_eq!(control.state(), BreakerState::Disabled);
    control.reset();
    assert_eq!(control.state(), BreakerState::Closed);
}

#[test]
fn invalid_breaker_settings_are_refused_at_registration() {
    let registry = HookRegistry::new();
    let err = registry
        .register_with(
            P,
            Arc::new(sync_hook_fn(|_| Ok(HookResult::Continue))),
            HookOptions::new().breaker(BreakerConfig {
                half_open_probes: 0,
                ..BreakerConfig::default()
            }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("half_open_probes"), "{err}");
    assert!(registry.is_empty());
}
