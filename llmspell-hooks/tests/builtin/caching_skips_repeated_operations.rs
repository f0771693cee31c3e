//! CachingHook: a cached call is not run again until its entry expires.

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::Error;
use llmspell_hooks::builtin::CachingHook;
use llmspell_hooks::{HookPoint, MemoryHookCache};
use serde_json::{Value, json};

use crate::fixture::Fixture;

fn cached(ttl: Duration) -> (Fixture, Arc<CachingHook>) {
    let hook = Arc::new(
        CachingHook::builder()
            .ttl(ttl)
            .key_metadata(["tenant"])
            .build()
            .unwrap(),
    );
    let h = hook.clone();
    let f = Fixture::tool("weather")
        .runner(|r| h.attach(r))
        .hook(HookPoint::BeforeToolExecution, hook.clone());
    (f, hook)
}

#[tokio::test]
async fn a_cached_call_is_not_run_again() {
    let (f, hook) = cached(Duration::from_secs(60));
    let first = f
        .run(json!({ "city": "Oslo", "units": "metric" }))
        .await
        .unwrap();
    assert!(!first.cache_hit);
    // Same input with its keys in another order.
    let input: Value = serde_json::from_str(r#"{"units":"metric","city":"Oslo"}"#).unwrap();
    let second = f.run(input).await.unwrap();
    assert!(second.cache_hit);
    assert_eq!(
        second.output, first.output,
        "the stored output, call number included"
    );
    assert_eq!(f.calls(), 1, "the operation ran once");

    f.run(json!({ "city": "Bergen", "units": "metric" }))
        .await
        .unwrap();
    assert_eq!(f.calls(), 2, "another input is another key");
    let tenant = f
        .ctx(json!({ "city": "Oslo", "units": "metric" }))
        .with_metadata("tenant", "b");
    assert!(
        !f.run_ctx(tenant).await.unwrap().cache_hit,
        "tenants do not share results"
    );
    assert_eq!(f.calls(), 3);

    let stats = hook.stats();
    assert_eq!((stats.hits, stats.misses), (1, 3));
    assert_eq!(hook.decisions(), 4);
}

#[tokio::test]
async fn an_expired_entry_is_run_again() {
    let (f, _hook) = cached(Duration::from_millis(80));
    f.run(json!({ "city": "Oslo" })).await.unwrap();
    assert!(f.run(json!({ "city": "Oslo" })).await.unwrap().cache_hit);
    tokio::time::sleep(Duration::from_millis(160)).await;
    let again = f.run(json!({ "city": "Oslo" })).await.unwrap();
    assert!(!again.cache_hit);
    assert_eq!(again.output["call"], 2);
    assert_eq!(f.calls(), 2);
}

#[tokio::test]
async fn failures_are_not_cached_and_the_bound_evicts() {
    let cache = Arc::new(MemoryHookCache::new(3));
    let hook = Arc::new(
        CachingHook::builder()
            .cache(cache.clone())
            .ttl_for("flaky", Duration::from_secs(30))
            .build()
            .unwrap(),
    );
    let h = hook.clone();
    let f = Fixture::tool("flaky")
        .failing(1, Error::execution("tool:flaky", "down"))
        .runner(|r| h.attach(r))
        .hook(HookPoint::BeforeToolExecution, hook.clone());
    f.run(json!({ "x": 0 })).await.unwrap_err();
    let ok = f.run(json!({ "x": 0 })).await.unwrap();
    assert!(!ok.cache_hit, "the failure was not stored");
    assert!(f.run(json!({ "x": 0 })).await.unwrap().cache_hit);
    for x in 1..50 {
        f.run(json!({ "x": x })).await.unwrap();
    }
    cache.run_pending_tasks();
    let stats = hook.stats();
    assert!(stats.entries <= 3, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
    assert_eq!(hook.ttl_of("flaky"), Duration::from_secs(30));
}

#[tokio::test]
async fn a_key_function_decides_what_is_cached() {
    let hook = Arc::new(
        CachingHook::builder()
            .key_fn(|ctx| ctx.data["id"].as_str().map(str::to_owned))
            .build()
            .unwrap(),
    );
    let h = hook.clone();
    let f = Fixture::tool("lookup")
        .runner(|r| h.attach(r))
        .hook(HookPoint::BeforeToolExecution, hook.clone());
    f.run(json!({ "id": "a", "noise": 1 })).await.unwrap();
    assert!(
        f.run(json!({ "id": "a", "noise": 2 }))
            .await
            .unwrap()
            .cache_hit
    );
    f.run(json!({ "no_id": true })).await.unwrap();
    f.run(json!({ "no_id": true })).await.unwrap();
    assert_eq!(f.calls(), 3, "calls without an id are never cached");
}
