//! Registering and unregistering while other threads fire the same point:
//! no hook is lost or run twice, and every firing sees a consistent list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use llmspell_core::ComponentId;
use llmspell_hooks::{
    HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry, HookResult, Priority,
    sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::json;

const P: HookPoint = HookPoint::BeforeToolExecution;

#[test]
fn concurrent_register_unregister_while_firing() {
    let registry = HookRegistry::new();
    // Hooks that stay for the whole test append their id to the run log.
    let permanent: Vec<u64> = (0..5).collect();
    for &n in &permanent {
        registry
            .register_with(
                P,
                Arc::new(sync_hook_fn(move |ctx| {
                    let mut seen: Vec<u64> =
                        serde_json::from_value(ctx.data["seen"].clone()).unwrap_or_default();
                    seen.push(n);
                    Ok(HookResult::Modified(json!({ "seen": seen })))
                })),
                HookOptions::new().priority(Priority(n as i32)),
            )
            .unwrap()
            .forget();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let executor = HookExecutor::new(registry.clone());
    let mut firers = Vec::new();
    for _ in 0..2 {
        let executor = executor.clone();
        let stop = stop.clone();
        firers.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut firings = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut ctx = HookContext::new(P, ComponentId::tool("t"), json!({ "seen": [] }));
                rt.block_on(executor.execute_point(&mut ctx)).unwrap();
                let seen: Vec<u64> = serde_json::from_value(ctx.data["seen"].clone()).unwrap();
                // Every permanent hook ran exactly once, in priority order.
                assert_eq!(seen, [4, 3, 2, 1, 0], "a firing lost or repeated a hook");
                firings += 1;
            }
            firings
        }));
    }
    let live = Arc::new(Mutex::new(HashSet::new()));
    let mut churners = Vec::new();
    for t in 0..2 {
        let registry = registry.clone();
        let live = live.clone();
        churners.push(std::thread::spawn(move || {
            for i in 0..500 {
                let h =
                    registry.register(P, sync_hook_fn(|_| Ok(HookResult::Skipped("churn".into()))));
                if i % 5 == 0 {
                    live.lock().insert(h.forget());
                } else {
                    assert!(
                        h.unregister(),
                        "thread {t}: unregister of a live hook must report true"
                    );
                    assert!(!h.unregister(), "a second unregister reports false");
                }
            }
        }));
    }
    for c in churners {
        c.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let firings: usize = firers.into_iter().map(|f| f.join().unwrap()).sum();
    assert!(firings > 0);
    let listed: HashSet<_> = registry
        .list(&llmspell_hooks::HookFilter::new().point(P))
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(registry.len(), 5 + 200);
    assert_eq!(listed.len(), 5 + 200, "no hook lost or duplicated");
    assert!(live.lock().iter().all(|id| listed.contains(id)));
}

#[test]
fn bulk_registration_is_atomic_per_point() {
    let registry = HookRegistry::new();
    let hooks: Vec<_> = (0..10)
        .map(|i| {
            let h: Arc<dyn llmspell_hooks::Hook> =
                Arc::new(sync_hook_fn(|_| Ok(HookResult::Continue)));
            (
                if i % 2 == 0 {
                    HookPoint::AgentPaused
                } else {
                    HookPoint::AgentResumed
                },
                h,
                HookOptions::new().tag("bulk"),
            )
        })
        .collect();
    let handles = registry.register_all(hooks).unwrap();
    assert_eq!(handles.len(), 10);
    assert_eq!(
        registry
            .list(&llmspell_hooks::HookFilter::new().tag("bulk"))
            .len(),
        10
    );
    drop(handles);
    assert!(registry.is_empty(), "dropping handles unregisters");
}
