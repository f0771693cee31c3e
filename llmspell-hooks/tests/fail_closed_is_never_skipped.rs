//! The fail mode is a promise: a fail-closed hook that cannot run (it fails,
//! or its breaker is open or half-open and refuses the call) fails the
//! operation; only an administrator's decision (`enabled = false`, a breaker
//! forced open) passes it over. Fail-open hooks are skipped, and every skip
//! is counted and reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use llmspell_core::{ComponentId, Error};
use llmspell_events::EventBus;
use llmspell_hooks::{
    BreakerConfig, BreakerState, FailMode, HookContext, HookExecutor, HookHandle, HookOptions,
    HookPoint, HookRegistry, HookResult, SKIPPED_TOPIC, hook_fn,
};
use serde_json::json;

const P: HookPoint = HookPoint::BeforeToolExecution;

fn ctx() -> HookContext {
    HookContext::new(P, ComponentId::tool("t"), json!({}))
}

/// Opens after 3 failures in a window of 3; probes after 40 ms; 1 probe.
fn quick_breaker() -> BreakerConfig {
    BreakerConfig {
        window_size: 3,
        minimum_calls: 3,
        open_wait: Duration::from_millis(40),
        max_open_wait: Duration::from_millis(40),
        half_open_probes: 1,
        ..BreakerConfig::default()
    }
}

/// A hook that fails while `failing` is above zero, and counts its calls.
fn flaky(
    registry: &HookRegistry,
    mode: FailMode,
    failing: &Arc<AtomicU32>,
    calls: &Arc<AtomicU32>,
) -> HookHandle {
    let (failing, calls) = (failing.clone(), calls.clone());
    registry
        .register_with(
            P,
            Arc::new(hook_fn(move |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                let fail = failing.load(Ordering::SeqCst) > 0;
                async move {
                    if fail {
                        Err(Error::other("policy store down"))
                    } else {
                        Ok(HookResult::Continue)
                    }
                }
            })),
            HookOptions::new()
                .name("policy")
                .fail_mode(mode)
                .breaker(quick_breaker()),
        )
        .unwrap()
}

#[tokio::test]
async fn an_open_breaker_fails_a_closed_hook_naming_why() {
    let registry = HookRegistry::new();
    let (failing, calls) = (Arc::new(AtomicU32::new(1)), Arc::new(AtomicU32::new(0)));
    let h = flaky(&registry, FailMode::Closed, &failing, &calls);
    let executor = HookExecutor::new(registry.clone());
    for _ in 0..3 {
        let err = executor.execute_point(&mut ctx()).await.unwrap_err();
        assert!(err.to_string().contains("policy store down"), "{err}");
    }
    assert_eq!(registry.get(h.id()).unwrap().breaker, BreakerState::Open);
    // The hook is not called any more, and the operation is refused.
    let err = executor.execute_point(&mut ctx()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3, "not called while open");
    match &err {
        Error::HookFailed { hook, message } => {
            assert_eq!(hook, "policy");
            assert!(
                message.starts_with("breaker open since ")
                    && message.contains("failure rate 100%")
                    && message.contains("next probe in"),
                "{message}"
            );
        }
        other => panic!("expected HookFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_half_open_breaker_with_its_probe_in_use_fails_a_closed_hook() {
    let registry = HookRegistry::new();
    let (failing, calls) = (Arc::new(AtomicU32::new(1)), Arc::new(AtomicU32::new(0)));
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    {
        let (failing, calls, gate, entered) = (
            failing.clone(),
            calls.clone(),
            gate.clone(),
            entered.clone(),
        );
        registry
            .register_with(
                P,
                Arc::new(hook_fn(move |_| {
                    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                    let fail = failing.load(Ordering::SeqCst) > 0;
                    let (gate, entered) = (gate.clone(), entered.clone());
                    async move {
                        if n == 4 {
                            // The probe: hold it until the test has tried a
                            // second call.
                            entered.notify_one();
                            gate.notified().await;
                        }
                        if fail {
                            Err(Error::other("policy store down"))
                        } else {
                            Ok(HookResult::Continue)
                        }
                    }
                })),
                HookOptions::new()
                    .name("policy")
                    .fail_mode(FailMode::Closed)
                    .breaker(quick_breaker()),
            )
            .unwrap()
            .forget();
    }
    let executor = HookExecutor::new(registry.clone());
    for _ in 0..3 {
        assert!(executor.execute_point(&mut ctx()).await.is_err());
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    failing.store(0, Ordering::SeqCst);
    let probe = tokio::spawn({
        let executor = executor.clone();
        async move { executor.execute_point(&mut ctx()).await }
    });
    entered.notified().await;
    let err = executor.execute_point(&mut ctx()).await.unwrap_err();
    assert!(
        matches!(&err, Error::HookFailed { message, .. }
            if message.starts_with("breaker half-open since") && message.contains("probe")),
        "{err:?}"
    );
    gate.notify_one();
    assert!(probe.await.unwrap().is_ok(), "the probe itself succeeds");
    assert!(
        executor.execute_point(&mut ctx()).await.is_ok(),
        "closed again after the probe"
    );
}

#[tokio::test]
async fn a_panicking_closed_hook_fails_the_point_every_time() {
    let registry = HookRegistry::new();
    let _h = registry
        .register_with(
            P,
            Arc::new(hook_fn(|_| async { panic!("bug in policy") })),
            HookOptions::new()
                .name("policy")
                .fail_mode(FailMode::Closed)
                .breaker(quick_breaker()),
        )
        .unwrap();
    let executor = HookExecutor::new(registry);
    for i in 0..6 {
        let err = executor.execute_point(&mut ctx()).await.unwrap_err();
        let text = err.to_string();
        if i < 3 {
            assert!(text.contains("panicked: bug in policy"), "{text}");
        } else {
            assert!(text.contains("breaker open since"), "{text}");
        }
    }
}

#[tokio::test]
async fn an_administrator_can_pass_over_a_closed_hook() {
    let registry = HookRegistry::new();
    let (failing, calls) = (Arc::new(AtomicU32::new(1)), Arc::new(AtomicU32::new(0)));
    let h = flaky(&registry, FailMode::Closed, &failing, &calls);
    let executor = HookExecutor::new(registry.clone());
    assert!(executor.execute_point(&mut ctx()).await.is_err());

    assert!(registry.set_enabled(h.id(), false));
    assert!(executor.execute_point(&mut ctx()).await.is_ok());
    let listed = registry.get(h.id()).unwrap();
    assert!(!listed.enabled, "the listing shows the hook is disabled");
    assert!(registry.set_enabled(h.id(), true));
    assert!(executor.execute_point(&mut ctx()).await.is_err());

    let control = registry.breaker(h.id()).unwrap();
    control.force_open();
    let before = calls.load(Ordering::SeqCst);
    assert!(executor.execute_point(&mut ctx()).await.is_ok());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "forced open: not called"
    );
    assert_eq!(
        registry.get(h.id()).unwrap().breaker,
        BreakerState::ForcedOpen,
        "the listing shows the breaker forced open"
    );
    control.reset();
    assert!(executor.execute_point(&mut ctx()).await.is_err());
}

#[tokio::test]
async fn fail_open_hooks_are_skipped_counted_and_reported() {
    let registry = HookRegistry::new();
    let bus = EventBus::new();
    let mut skipped_events = bus.subscribe(SKIPPED_TOPIC).unwrap();
    let (failing, calls) = (Arc::new(AtomicU32::new(1)), Arc::new(AtomicU32::new(0)));
    let h = flaky(&registry, FailMode::Open, &failing, &calls);
    let executor = HookExecutor::builder(registry.clone())
        .bus(bus.clone())
        .build();
    for _ in 0..5 {
        let outcome = executor.execute_point(&mut ctx()).await.unwrap();
        assert_eq!(outcome.skipped, 1);
    }
    // Three failures, then two refusals by the open breaker.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let perf = executor.monitor().hook(h.id()).unwrap();
    assert_eq!(
        (perf.latency.errors, perf.latency.skips),
        (3, 2),
        "{perf:?}"
    );
    let mut reasons = Vec::new();
    for _ in 0..5 {
        let ev = skipped_events
            .recv_timeout(Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(ev.data["hook_name"], "policy");
        assert_eq!(ev.data["point"], "BeforeToolExecution");
        reasons.push(ev.data["reason"].as_str().unwrap().to_owned());
    }
    assert!(reasons[0].contains("policy store down"), "{reasons:?}");
    assert!(reasons[4].starts_with("breaker open since"), "{reasons:?}");
}
