//! RateLimitHook: quotas per key, bursts, runtime changes, cancel and retry modes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::Error;
use llmspell_hooks::HookPoint;
use llmspell_hooks::builtin::{RateKey, RateLimitHook, RateLimitMode, RateQuota};
use serde_json::json;

use crate::fixture::Fixture;

fn cancelled(r: Result<llmspell_hooks::GuardOutcome, Error>) -> String {
    match r {
        Err(Error::Cancelled { reason, .. }) => reason,
        other => panic!("expected a cancel, got {other:?}"),
    }
}

#[tokio::test]
async fn a_burst_beyond_the_quota_is_cancelled() {
    let limiter = RateLimitHook::builder()
        .default_quota(RateQuota::per_minute(2))
        .build()
        .unwrap();
    let f = Fixture::tool("search").hook(HookPoint::BeforeToolExecution, limiter);
    f.run(json!({})).await.unwrap();
    f.run(json!({})).await.unwrap();
    let why = cancelled(f.run(json!({})).await);
    assert!(why.contains("rate limit exceeded for \"search\""), "{why}");
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn tenants_do_not_share_quotas_and_quotas_change_at_runtime() {
    let limiter = Arc::new(
        RateLimitHook::builder()
            .key(RateKey::Metadata("tenant".into()))
            .default_quota(RateQuota::per_hour(1))
            .build()
            .unwrap(),
    );
    let f = Fixture::tool("llm").hook(HookPoint::BeforeToolExecution, limiter.clone());
    let run = |tenant: &'static str| f.run_ctx(f.ctx(json!({})).with_metadata("tenant", tenant));
    run("acme").await.unwrap();
    cancelled(run("acme").await);
    run("globex").await.unwrap();
    cancelled(run("globex").await);
    assert_eq!(f.calls(), 2);

    limiter
        .set_quota("acme", RateQuota::per_second(100).burst(3))
        .unwrap();
    assert_eq!(limiter.quota_of("acme").max_burst(), 3);
    for _ in 0..3 {
        run("acme").await.unwrap();
    }
    cancelled(run("acme").await);
    cancelled(run("globex").await);
    assert_eq!(f.calls(), 5);

    limiter
        .set_default_quota(RateQuota::per_second(100))
        .unwrap();
    run("globex").await.unwrap();
    assert!(limiter.remove_quota("acme"));
    run("acme").await.unwrap();
    assert_eq!(f.calls(), 7);
    assert!(limiter.set_quota("x", RateQuota::per_second(0)).is_err());
    assert_eq!(limiter.limited(), 4);
}

#[tokio::test]
async fn retry_mode_delays_the_call_until_the_quota_allows_it() {
    let interval = Duration::from_millis(120);
    let limiter = RateLimitHook::builder()
        .default_quota(RateQuota::with_period(interval))
        .mode(RateLimitMode::Retry {
            max_attempts: 5,
            max_wait: Duration::from_secs(2),
        })
        .build()
        .unwrap();
    let f = Fixture::tool("api").hook(HookPoint::BeforeToolExecution, limiter);
    let started = Instant::now();
    let first = f.run(json!({ "n": 1 })).await.unwrap();
    let second = f.run(json!({ "n": 2 })).await.unwrap();
    assert_eq!(first.attempts, 1);
    assert!(second.attempts >= 2, "the second call was retried");
    assert!(
        started.elapsed() >= interval,
        "waited for the quota: {:?}",
        started.elapsed()
    );
    assert_eq!(f.calls(), 2, "each operation ran once, after its wait");
}

#[tokio::test]
async fn retry_mode_cancels_when_the_wait_is_too_long() {
    let limiter = RateLimitHook::builder()
        .default_quota(RateQuota::per_hour(1))
        .mode(RateLimitMode::Retry {
            max_attempts: 3,
            max_wait: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let f = Fixture::tool("api").hook(HookPoint::BeforeToolExecution, limiter);
    f.run(json!({})).await.unwrap();
    let why = cancelled(f.run(json!({})).await);
    assert!(why.contains("exceeds max_wait"), "{why}");
}
