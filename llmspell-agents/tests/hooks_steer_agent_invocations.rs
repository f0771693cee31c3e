#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hook results at `BeforeAgentExecution` / `AfterAgentExecution` /
//! `AgentError` change what an invocation does: new input and output,
//! cancel, replace, redirect to another registered agent (and fallback at
//! the error point), retry, fork and cache; with the runner's
//! `agent.<name>.*` events.

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fixture::Fixture;
use llmspell_agents::{AgentConfig, AgentState, Error, handler_fn};
use llmspell_core::{ExecutionContext, Language};
use llmspell_hooks::{ForkOperation, HookOptions, HookPoint, HookResult, sync_hook_fn};
use serde_json::json;

fn exec() -> ExecutionContext {
    ExecutionContext::native()
}

/// A basic agent that doubles `x`.
fn doubler(f: &Fixture, name: &str) -> llmspell_agents::BasicAgent {
    f.agents
        .basic(
            AgentConfig::basic(name),
            handler_fn(|input, cx| async move {
                let x = input["x"].as_i64().unwrap_or(0);
                Ok(json!({ "y": x * 2, "by": cx.name(), "attempt": cx.attempt() }))
            }),
        )
        .unwrap()
}

#[tokio::test]
async fn modified_before_changes_the_input_and_after_the_output() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentExecution, |ctx| {
        HookResult::Modified(json!({ "x": ctx.data["x"].as_i64().unwrap() + 100 }))
    });
    f.hook(HookPoint::AfterAgentExecution, |ctx| {
        let mut out = ctx.data.clone();
        out["checked"] = json!(true);
        HookResult::Modified(out)
    });
    let a = doubler(&f, "double");
    let out = a.invoke(json!({ "x": 1 }), &exec()).await.unwrap();
    assert_eq!(out["y"], 202, "the handler saw the modified input");
    assert_eq!(out["checked"], true, "the caller got the modified output");
}

#[tokio::test]
async fn cancel_before_skips_the_work_and_leaves_the_agent_ready() {
    let mut f = Fixture::new();
    let ran = Arc::new(AtomicU32::new(0));
    let r = ran.clone();
    let h = f.hooks.register_with(
        HookPoint::BeforeAgentExecution,
        Arc::new(sync_hook_fn(|_| Ok(HookResult::Cancel("over budget".into()))).named("budget")),
        HookOptions::new().component("guarded"),
    );
    let _h = h.unwrap();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("guarded"),
            handler_fn(move |_, _| {
                r.fetch_add(1, Ordering::SeqCst);
                async { Ok(json!(1)) }
            }),
        )
        .unwrap();
    let err = a.invoke(json!({}), &exec()).await.unwrap_err();
    match &err {
        Error::Operation(llmspell_core::Error::Cancelled { hook, reason }) => {
            assert_eq!(hook, "budget");
            assert_eq!(reason, "over budget");
        }
        other => panic!("expected a hook cancellation, got {other:?}"),
    }
    assert!(err.is_cancelled());
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the handler never ran");
    assert_eq!(
        a.state(),
        AgentState::Ready,
        "a hook's cancel is not a failure"
    );
    let types: Vec<String> = f.drain().iter().map(|e| e.event_type.to_string()).collect();
    assert!(
        types.contains(&"agent.guarded.cancelled".to_owned()),
        "{types:?}"
    );
    // Other agents are not guarded by that hook.
    let b = doubler(&f, "free");
    assert_eq!(b.invoke(json!({ "x": 2 }), &exec()).await.unwrap()["y"], 4);
}

#[tokio::test]
async fn replace_before_skips_the_handler() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentExecution, |_| {
        HookResult::Replace(json!({ "y": "from the hook" }))
    });
    let a = doubler(&f, "replaced");
    let out = a
        .invoke_with(json!({ "x": 1 }), &exec(), Default::default())
        .await
        .unwrap();
    assert_eq!(out.output, json!({ "y": "from the hook" }));
    assert!(out.replaced);
}

#[tokio::test]
async fn redirect_runs_another_registered_agent() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentExecution, |ctx| {
        if ctx.component.name.as_ref() == "front" {
            HookResult::Redirect("back".into())
        } else {
            HookResult::Continue
        }
    });
    let front = doubler(&f, "front");
    let back = doubler(&f, "back");
    back.initialize(&exec()).await.unwrap();
    let out = front
        .invoke_with(json!({ "x": 5 }), &exec(), Default::default())
        .await
        .unwrap();
    assert_eq!(&*out.target, "back");
    assert_eq!(out.output["by"], "back", "the target agent's handler ran");
    assert_eq!(out.output["y"], 10);
    assert_eq!(back.state(), AgentState::Ready);

    // A redirect to a name nobody registered fails and names it.
    f.clear_hooks();
    f.hook(HookPoint::BeforeAgentExecution, |_| {
        HookResult::Redirect("nobody".into())
    });
    let err = front.invoke(json!({ "x": 1 }), &exec()).await.unwrap_err();
    assert!(err.to_string().contains("nobody"), "{err}");
}

#[tokio::test]
async fn redirect_at_the_error_point_is_a_fallback() {
    let mut f = Fixture::new();
    f.hook(HookPoint::AgentError, |ctx| {
        if ctx.component.name.as_ref() == "primary" {
            HookResult::Redirect("fallback".into())
        } else {
            HookResult::Continue
        }
    });
    let primary = f
        .agents
        .basic(
            AgentConfig::basic("primary"),
            handler_fn(|_, _| async {
                Err(llmspell_core::Error::execution("agent:primary", "down"))
            }),
        )
        .unwrap();
    let _fallback = doubler(&f, "fallback");
    let out = primary
        .invoke_with(json!({ "x": 4 }), &exec(), Default::default())
        .await
        .unwrap();
    assert_eq!(&*out.target, "fallback");
    assert_eq!(out.output["y"], 8);
    assert_eq!(
        primary.state(),
        AgentState::Ready,
        "the fallback's success is the invocation's"
    );
}

#[tokio::test]
async fn retry_runs_the_handler_again() {
    let mut f = Fixture::new();
    f.hook(HookPoint::AgentError, |ctx| {
        if ctx.attempt < 3 {
            HookResult::Retry {
                delay: Duration::from_millis(1),
                max_attempts: 3,
            }
        } else {
            HookResult::Continue
        }
    });
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("flaky"),
            handler_fn(move |_, cx| {
                let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    if n < 3 {
                        return Err(llmspell_core::Error::execution("agent:flaky", "try again"));
                    }
                    Ok(json!({ "attempt": cx.attempt() }))
                }
            }),
        )
        .unwrap();
    let out = a
        .invoke_with(json!({}), &exec(), Default::default())
        .await
        .unwrap();
    assert_eq!(out.attempts, 3);
    assert_eq!(out.output["attempt"], 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn fork_runs_other_agents_alongside() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentExecution, |ctx| {
        if ctx.component.name.as_ref() == "main" {
            HookResult::Fork {
                operations: vec![ForkOperation {
                    target: "audit".into(),
                    input: json!({ "x": 50 }),
                }],
            }
        } else {
            HookResult::Continue
        }
    });
    let main = doubler(&f, "main");
    let _audit = doubler(&f, "audit");
    let out = main
        .invoke_with(json!({ "x": 1 }), &exec(), Default::default())
        .await
        .unwrap();
    assert_eq!(out.output["y"], 2);
    assert_eq!(out.forks.len(), 1);
    assert_eq!(out.forks[0].target, "audit");
    assert_eq!(out.forks[0].result.as_ref().unwrap()["y"], 100);
}

#[tokio::test]
async fn cache_serves_the_second_invocation_without_running() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentExecution, |ctx| HookResult::Cache {
        key: format!("k-{}", ctx.data["x"]),
        ttl: Duration::from_secs(60),
    });
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("cached"),
            handler_fn(move |input, _| {
                c.fetch_add(1, Ordering::SeqCst);
                async move { Ok(json!({ "seen": input["x"] })) }
            }),
        )
        .unwrap();
    let first = a
        .invoke_with(json!({ "x": 7 }), &exec(), Default::default())
        .await
        .unwrap();
    let second = a
        .invoke_with(json!({ "x": 7 }), &exec(), Default::default())
        .await
        .unwrap();
    assert!(!first.cache_hit && second.cache_hit);
    assert_eq!(second.output, json!({ "seen": 7 }));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn replace_at_the_error_point_turns_a_failure_into_success() {
    let mut f = Fixture::new();
    f.hook(HookPoint::AgentError, |_| {
        HookResult::Replace(json!({ "fallback": true }))
    });
    let a = f
        .agents
        .basic(
            AgentConfig::basic("failing"),
            handler_fn(|_, _| async { Err(llmspell_core::Error::other("boom")) }),
        )
        .unwrap();
    assert_eq!(
        a.invoke(json!({}), &exec()).await.unwrap(),
        json!({ "fallback": true })
    );
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn lifecycle_events_share_the_invocation_correlation_and_language() {
    let mut f = Fixture::new();
    f.hook(HookPoint::AfterAgentExecution, |_| HookResult::Continue);
    let a = doubler(&f, "traced");
    a.initialize(&exec()).await.unwrap();
    f.drain();
    let exec = ExecutionContext::new(Language::Javascript);
    a.invoke(json!({ "x": 3 }), &exec).await.unwrap();
    let events = f.drain();
    let started = events
        .iter()
        .find(|e| e.event_type.as_str() == "agent.traced.started")
        .expect("a started event");
    assert_eq!(started.data["input"], json!({ "x": 3 }));
    let completed = events
        .iter()
        .find(|e| e.event_type.as_str() == "agent.traced.completed")
        .expect("a completed event");
    assert_eq!(completed.data["output"]["y"], 6);
    for e in [started, completed] {
        assert_eq!(e.metadata.correlation_id, Some(exec.correlation_id.clone()));
        assert_eq!(e.language, Language::Javascript);
    }
}

#[tokio::test]
async fn a_failed_invocation_publishes_failed() {
    let mut f = Fixture::new();
    f.hook(HookPoint::AgentError, |_| HookResult::Continue);
    let a = f
        .agents
        .basic(
            AgentConfig::basic("sad"),
            handler_fn(|_, _| async { Err(llmspell_core::Error::other("nope")) }),
        )
        .unwrap();
    assert!(a.invoke(json!({}), &exec()).await.is_err());
    let failed = f
        .drain()
        .into_iter()
        .find(|e| e.event_type.as_str() == "agent.sad.failed")
        .expect("a failed event");
    assert_eq!(failed.data["error"]["message"], "nope");
}
