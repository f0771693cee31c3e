//! Hooks ordered by the dependencies they declare (`after`, `before`), then
//! priority, then registration; cycles and missing hooks refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_core::ComponentId;
use llmspell_hooks::{
    Hook, HookContext, HookExecutor, HookFilter, HookOptions, HookPoint, HookRegistry, HookResult,
    Priority, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::json;

const P: HookPoint = HookPoint::BeforeToolExecution;

fn recorder(log: &Arc<Mutex<Vec<String>>>, name: &str) -> Arc<dyn Hook> {
    let log = log.clone();
    let name = name.to_owned();
    Arc::new(sync_hook_fn(move |_| {
        log.lock().push(name.clone());
        Ok(HookResult::Continue)
    }))
}

fn named(name: &str) -> HookOptions {
    HookOptions::new().name(name)
}

async fn run(registry: &HookRegistry, log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    log.lock().clear();
    let mut ctx = HookContext::new(P, ComponentId::tool("t"), json!({}));
    HookExecutor::new(registry.clone())
        .execute_point(&mut ctx)
        .await
        .unwrap();
    log.lock().clone()
}

fn listed(registry: &HookRegistry) -> Vec<String> {
    registry
        .list(&HookFilter::new().point(P))
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[tokio::test]
async fn dependencies_come_before_priority_and_registration() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let reg = |name: &str, o: HookOptions| {
        registry
            .register_with(P, recorder(&log, name), o.name(name))
            .unwrap()
            .forget()
    };
    reg("auth", HookOptions::new().priority(Priority::LOW));
    reg(
        "audit",
        HookOptions::new().priority(Priority::HIGHEST).after("auth"),
    );
    reg("metrics", HookOptions::new().priority(Priority::LOWEST));
    reg(
        "rate",
        HookOptions::new().priority(Priority::HIGH).before("auth"),
    );
    // audit waits for auth; rate must precede auth; the rest by priority.
    assert_eq!(
        run(&registry, &log).await,
        ["rate", "auth", "audit", "metrics"]
    );
    assert_eq!(
        listed(&registry),
        ["rate", "auth", "audit", "metrics"],
        "listings show the run order"
    );
}

#[tokio::test]
async fn a_missing_hook_is_refused_unless_optional() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    registry
        .register_with(P, recorder(&log, "a"), named("a"))
        .unwrap()
        .forget();
    let e = registry
        .register_with(P, recorder(&log, "late"), named("late").after("auth"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"late\"") && e.contains("\"auth\"") && e.contains("registered: a"),
        "{e}"
    );
    assert_eq!(listed(&registry), ["a"], "nothing was registered");
    // Optional: allowed now, and honoured once the hook arrives.
    registry
        .register_with(
            P,
            recorder(&log, "late"),
            named("late")
                .priority(Priority::HIGHEST)
                .after("auth")
                .optional_dependencies(true),
        )
        .unwrap()
        .forget();
    assert_eq!(run(&registry, &log).await, ["late", "a"]);
    registry
        .register_with(
            P,
            recorder(&log, "auth"),
            named("auth").priority(Priority::LOWEST),
        )
        .unwrap()
        .forget();
    assert_eq!(run(&registry, &log).await, ["a", "auth", "late"]);
}

#[tokio::test]
async fn a_cycle_is_refused_naming_its_hooks() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    registry
        .register_with(P, recorder(&log, "a"), named("a"))
        .unwrap()
        .forget();
    registry
        .register_with(P, recorder(&log, "b"), named("b").after("a"))
        .unwrap()
        .forget();
    let e = registry
        .register_with(P, recorder(&log, "c"), named("c").after("b").before("a"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cycle") && e.contains("\"a\"") && e.contains("\"b\"") && e.contains("\"c\""),
        "{e}"
    );
    assert_eq!(listed(&registry), ["a", "b"]);
    // A batch with a cycle registers nothing.
    let e = registry.register_all([
        (P, recorder(&log, "x"), named("x").after("y")),
        (P, recorder(&log, "y"), named("y").after("x")),
    ]);
    assert!(e.is_err());
    assert_eq!(listed(&registry), ["a", "b"]);
}

#[tokio::test]
async fn removing_a_dependency_leaves_its_dependents_running() {
    let registry = HookRegistry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let auth = registry
        .register_with(
            P,
            recorder(&log, "auth"),
            named("auth").priority(Priority::LOWEST),
        )
        .unwrap();
    registry
        .register_with(
            P,
            recorder(&log, "audit"),
            named("audit").priority(Priority::HIGHEST).after("auth"),
        )
        .unwrap()
        .forget();
    registry
        .register_with(P, recorder(&log, "other"), named("other"))
        .unwrap()
        .forget();
    assert_eq!(run(&registry, &log).await, ["other", "auth", "audit"]);
    drop(auth);
    assert_eq!(run(&registry, &log).await, ["audit", "other"]);
    // A plain registration (no options) never fails on ordering.
    let _plain = registry.register(P, sync_hook_fn(|_| Ok(HookResult::Continue)));
    assert_eq!(listed(&registry).len(), 3);
}
