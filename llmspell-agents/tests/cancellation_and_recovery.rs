#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A running invocation ends promptly when cancelled (through the agent,
//! through the caller's token, by termination), even if its work never
//! yields to a checkpoint, and the agent returns to `Ready`. A failed
//! invocation leaves the agent in `Error`; recovery (explicit, or automatic
//! on the next invocation) brings it back.

#[path = "support/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use fixture::{Fixture, Gate, t};
use llmspell_agents::{
    AgentConfig, AgentState, CancellationToken, Error, InvokeOptions, handler_fn,
};
use llmspell_core::ExecutionContext;
use llmspell_hooks::HookPoint;
use serde_json::json;

fn exec() -> ExecutionContext {
    ExecutionContext::native()
}

/// A handler that never finishes on its own and never checks for
/// cancellation.
fn stuck() -> llmspell_agents::AgentHandler {
    handler_fn(|_, _| async {
        std::future::pending::<()>().await;
        Ok(json!("unreachable"))
    })
}

#[tokio::test]
async fn cancel_ends_a_running_invocation_promptly_and_the_agent_is_ready() {
    let mut f = Fixture::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("stuck"), stuck())
        .unwrap();
    a.initialize(&exec()).await.unwrap();
    f.drain();
    let run = tokio::spawn({
        let a = a.clone();
        async move { a.invoke(json!({}), &ExecutionContext::native()).await }
    });
    let a2 = a.clone();
    fixture::eventually("the agent runs", move || a2.state() == AgentState::Running).await;

    let asked = Instant::now();
    assert_eq!(a.cancel(), 1, "one invocation was in flight");
    let err = tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .expect("the invocation ends promptly")
        .unwrap()
        .unwrap_err();
    assert!(asked.elapsed() < Duration::from_millis(500));
    match &err {
        Error::Cancelled { agent, reason } => {
            assert_eq!(agent, "stuck");
            assert!(reason.contains("cancel()"), "{reason}");
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(err.is_cancelled());
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(a.in_flight(), 0);
    let events = f.drain();
    let cancelled = events
        .iter()
        .find(|e| e.event_type.as_str() == "agent.stuck.cancelled")
        .expect("a cancelled event");
    assert!(
        cancelled.data["reason"]
            .as_str()
            .unwrap()
            .contains("cancel()")
    );
    let last = events
        .iter()
        .rev()
        .find(|e| e.event_type.as_str() == "agent.stuck.state_changed")
        .unwrap();
    assert_eq!(last.data["to"], "Ready");
    assert_eq!(last.data["reason"], "cancelled");

    // Later invocations are not affected by the earlier cancel.
    let ok = f.echo("later");
    assert!(ok.invoke(json!(1), &exec()).await.is_ok());
}

#[tokio::test]
async fn the_callers_token_cancels_one_invocation() {
    let f = Fixture::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("stuck2"), stuck())
        .unwrap();
    let token = CancellationToken::new();
    let run = tokio::spawn({
        let a = a.clone();
        let options = InvokeOptions::new().cancel_token(token.clone());
        async move {
            a.invoke_with(json!({}), &ExecutionContext::native(), options)
                .await
        }
    });
    let a2 = a.clone();
    fixture::eventually("the agent runs", move || a2.state() == AgentState::Running).await;
    token.cancel();
    let err = tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { reason, .. } if reason.contains("caller")),
        "{err:?}"
    );
    assert_eq!(a.state(), AgentState::Ready);

    // An already cancelled token refuses at once, without running the work.
    let err = a
        .invoke_with(json!({}), &exec(), InvokeOptions::new().cancel_token(token))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn handlers_see_cancellation_through_their_context() {
    let f = Fixture::new();
    let gate = Gate::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("polite"), gate.handler(false))
        .unwrap();
    let run = tokio::spawn({
        let a = a.clone();
        async move { a.invoke(json!(1), &ExecutionContext::native()).await }
    });
    gate.entered().await;
    a.cancel();
    let err = run.await.unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn dropping_an_invocation_returns_the_agent_to_ready() {
    let mut f = Fixture::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("dropped"), stuck())
        .unwrap();
    a.initialize(&exec()).await.unwrap();
    f.drain();
    let r = tokio::time::timeout(Duration::from_millis(20), a.invoke(json!({}), &exec())).await;
    assert!(r.is_err(), "the invocation was still running");
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(a.in_flight(), 0);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Running"), t("Running", "Ready")]
    );
}

#[tokio::test]
async fn recovery_from_error_explicit_and_automatic() {
    let mut f = Fixture::new();
    f.record(&[HookPoint::AgentError, HookPoint::AgentRecovering]);
    let fail = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let fl = fail.clone();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("phoenix"),
            handler_fn(move |_, _| {
                let fail = fl.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    if fail {
                        Err(llmspell_core::Error::External {
                            service: "upstream".into(),
                            message: "unavailable".into(),
                            retryable: true,
                            source: None,
                        })
                    } else {
                        Ok(json!("fine"))
                    }
                }
            }),
        )
        .unwrap();
    let err = a.invoke(json!({}), &exec()).await.unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert_eq!(a.state(), AgentState::Error);
    assert_eq!(f.points(), [HookPoint::AgentError]);

    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    a.recover(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(f.points(), [HookPoint::AgentRecovering]);

    // Fail again, then invoke: auto-recovery runs first.
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = a.invoke(json!({}), &exec()).await.unwrap_err();
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    f.points();
    f.transitions();
    assert_eq!(a.invoke(json!({}), &exec()).await.unwrap(), json!("fine"));
    assert_eq!(f.points(), [HookPoint::AgentRecovering]);
    assert_eq!(
        f.transitions(),
        [
            t("Error", "Recovering"),
            t("Recovering", "Ready"),
            t("Ready", "Running"),
            t("Running", "Ready")
        ]
    );
}

#[tokio::test]
async fn without_auto_recovery_an_agent_in_error_refuses_work() {
    let f = Fixture::new();
    let a = f
        .agents
        .basic(
            AgentConfig::basic("strict").with_auto_recover(false),
            handler_fn(|_, _| async { Err(llmspell_core::Error::other("broken")) }),
        )
        .unwrap();
    let _ = a.invoke(json!({}), &exec()).await.unwrap_err();
    let err = a.invoke(json!({}), &exec()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotInvocable {
                state: AgentState::Error,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("recover it first"), "{err}");
    a.recover(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Ready);
}
