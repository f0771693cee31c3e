#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Each of the 19 transitions of the lifecycle table, driven through the
//! public API: the state it reaches, the `state_changed` event it publishes
//! and the hook point it fires (recorded with the agent as component);
//! transitions outside the table are refused with an error naming both
//! states and the allowed targets; vetoes at the cancellable points.

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use fixture::{AGENT_POINTS, Fixture, Gate, eventually, t};
use llmspell_agents::{
    AgentBehavior, AgentConfig, AgentContext, AgentState, Error, LifecycleAgent,
};
use llmspell_core::{ComponentType, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult};
use serde_json::{Value, json};

/// A behaviour whose initialisation and recovery fail on demand.
#[derive(Default)]
struct Flaky {
    fail_init: AtomicBool,
    fail_recover: AtomicBool,
    fail_run: AtomicBool,
}

#[async_trait]
impl AgentBehavior for Flaky {
    fn kind(&self) -> &str {
        "flaky"
    }
    async fn run(&self, input: Value, _cx: AgentContext) -> llmspell_core::Result<Value> {
        if self.fail_run.load(Ordering::SeqCst) {
            return Err(llmspell_core::Error::execution("agent:flaky", "run failed"));
        }
        Ok(input)
    }
    async fn initialize(&self) -> llmspell_core::Result<()> {
        if self.fail_init.load(Ordering::SeqCst) {
            return Err(llmspell_core::Error::execution(
                "agent:flaky",
                "init failed",
            ));
        }
        Ok(())
    }
    async fn recover(&self) -> llmspell_core::Result<()> {
        if self.fail_recover.load(Ordering::SeqCst) {
            return Err(llmspell_core::Error::execution(
                "agent:flaky",
                "recover failed",
            ));
        }
        Ok(())
    }
}

fn flaky(f: &Fixture, name: &str) -> LifecycleAgent<Flaky> {
    f.agents
        .custom(AgentConfig::basic(name), Flaky::default())
        .unwrap()
}

fn exec() -> ExecutionContext {
    ExecutionContext::native()
}

#[tokio::test]
async fn init_invoke_pause_resume_terminate_fire_their_points() {
    let mut f = Fixture::new();
    f.record(&AGENT_POINTS);
    let a = f.echo("helper");
    assert_eq!(a.state(), AgentState::Uninitialized);

    a.initialize(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(
        f.transitions(),
        [
            t("Uninitialized", "Initializing"),
            t("Initializing", "Ready")
        ]
    );
    let seen = f.take_seen();
    assert_eq!(
        seen.iter().map(|s| s.point.clone()).collect::<Vec<_>>(),
        [HookPoint::BeforeAgentInit, HookPoint::AfterAgentInit]
    );
    for s in &seen {
        assert_eq!(s.kind, ComponentType::Agent);
        assert_eq!(s.name, "helper");
    }
    assert_eq!(seen[0].data["from"], "Uninitialized");
    assert_eq!(seen[0].data["to"], "Initializing");
    assert_eq!(seen[0].data["type"], "basic");

    let out = a.invoke(json!({ "x": 1 }), &exec()).await.unwrap();
    assert_eq!(out["echo"], json!({ "x": 1 }));
    assert_eq!(
        f.transitions(),
        [t("Ready", "Running"), t("Running", "Ready")]
    );
    assert_eq!(
        f.points(),
        [
            HookPoint::BeforeAgentExecution,
            HookPoint::AfterAgentExecution
        ]
    );

    a.pause(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Paused);
    a.resume(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Paused"), t("Paused", "Ready")]
    );
    assert_eq!(
        f.points(),
        [HookPoint::AgentPaused, HookPoint::AgentResumed]
    );

    a.terminate(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Terminated);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Terminating"), t("Terminating", "Terminated")]
    );
    assert_eq!(
        f.points(),
        [
            HookPoint::BeforeAgentShutdown,
            HookPoint::AfterAgentShutdown
        ]
    );
}

#[tokio::test]
async fn pausing_a_running_agent_and_resuming_it_returns_to_running() {
    let mut f = Fixture::new();
    f.record(&[HookPoint::AgentPaused, HookPoint::AgentResumed]);
    let gate = Gate::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("gated"), gate.handler(false))
        .unwrap();
    a.initialize(&exec()).await.unwrap();
    f.transitions();

    let run = tokio::spawn({
        let a = a.clone();
        async move { a.invoke(json!("job"), &ExecutionContext::native()).await }
    });
    gate.entered().await;
    a.pause(&exec()).await.unwrap(); // Running → Paused
    assert_eq!(a.state(), AgentState::Paused);
    gate.release(); // the handler now waits at its checkpoint
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(
        !run.is_finished(),
        "a paused invocation waits at its checkpoint"
    );
    a.resume(&exec()).await.unwrap(); // Paused → Running (one in flight)
    assert_eq!(run.await.unwrap().unwrap(), json!({ "done": "job" }));
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(
        f.transitions(),
        [
            t("Ready", "Running"),
            t("Running", "Paused"),
            t("Paused", "Running"),
            t("Running", "Ready")
        ]
    );
    assert_eq!(
        f.points(),
        [HookPoint::AgentPaused, HookPoint::AgentResumed]
    );
}

#[tokio::test]
async fn failures_move_to_error_and_recovery_goes_back_to_ready() {
    let mut f = Fixture::new();
    f.record(&[
        HookPoint::AgentError,
        HookPoint::AgentRecovering,
        HookPoint::AfterAgentInit,
    ]);
    let a = flaky(&f, "flaky");
    a.behavior().fail_init.store(true, Ordering::SeqCst);

    // Initializing → Error
    let err = a.initialize(&exec()).await.unwrap_err();
    assert!(err.to_string().contains("init failed"), "{err}");
    assert_eq!(a.state(), AgentState::Error);
    assert_eq!(
        f.transitions(),
        [
            t("Uninitialized", "Initializing"),
            t("Initializing", "Error")
        ]
    );
    let seen = f.take_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].point, HookPoint::AgentError);
    assert_eq!(seen[0].data["message"], "init failed");

    // Error → Recovering → Error (recovery fails)
    a.behavior().fail_recover.store(true, Ordering::SeqCst);
    assert!(a.recover(&exec()).await.is_err());
    assert_eq!(a.state(), AgentState::Error);
    assert_eq!(
        f.transitions(),
        [t("Error", "Recovering"), t("Recovering", "Error")]
    );
    assert_eq!(
        f.points(),
        [HookPoint::AgentRecovering, HookPoint::AgentError]
    );

    // Error → Recovering → Ready
    a.behavior().fail_recover.store(false, Ordering::SeqCst);
    a.recover(&exec()).await.unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(
        f.transitions(),
        [t("Error", "Recovering"), t("Recovering", "Ready")]
    );
    assert_eq!(f.points(), [HookPoint::AgentRecovering]);

    // Running → Error (the guarded runner fires AgentError with the error)
    a.behavior().fail_run.store(true, Ordering::SeqCst);
    let err = a.invoke(json!(1), &exec()).await.unwrap_err();
    assert!(matches!(err, Error::Operation(_)), "{err:?}");
    assert_eq!(a.state(), AgentState::Error);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Running"), t("Running", "Error")]
    );
    let seen = f.take_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].point, HookPoint::AgentError);
    assert_eq!(seen[0].data["message"], "run failed");
    assert_eq!(seen[0].name, "flaky");

    // Error → Terminating → Terminated
    a.terminate(&exec()).await.unwrap();
    assert_eq!(
        f.transitions(),
        [t("Error", "Terminating"), t("Terminating", "Terminated")]
    );
}

#[tokio::test]
async fn termination_from_uninitialized_paused_and_running() {
    let mut f = Fixture::new();
    f.record(&[HookPoint::BeforeAgentShutdown]);

    let fresh = f.echo("fresh");
    fresh.terminate(&exec()).await.unwrap();
    assert_eq!(
        f.transitions(),
        [
            t("Uninitialized", "Terminating"),
            t("Terminating", "Terminated")
        ]
    );

    let paused = f.echo("paused");
    paused.initialize(&exec()).await.unwrap();
    paused.pause(&exec()).await.unwrap();
    f.transitions();
    paused.terminate(&exec()).await.unwrap();
    assert_eq!(
        f.transitions(),
        [t("Paused", "Terminating"), t("Terminating", "Terminated")]
    );

    let gate = Gate::new();
    let busy = f
        .agents
        .basic(AgentConfig::basic("busy"), gate.handler(false))
        .unwrap();
    busy.initialize(&exec()).await.unwrap();
    let run = tokio::spawn({
        let busy = busy.clone();
        async move { busy.invoke(json!(1), &ExecutionContext::native()).await }
    });
    gate.entered().await;
    f.transitions();
    busy.terminate(&exec()).await.unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { reason, .. } if reason.contains("terminated")),
        "{err:?}"
    );
    assert_eq!(
        f.transitions(),
        [t("Running", "Terminating"), t("Terminating", "Terminated")]
    );
    assert_eq!(busy.state(), AgentState::Terminated);
    assert_eq!(f.points().len(), 3);
}

#[tokio::test]
async fn transitions_outside_the_table_are_refused_with_both_states() {
    let f = Fixture::new();
    let a = f.echo("strict");
    let err = a.pause(&exec()).await.unwrap_err();
    match &err {
        Error::InvalidTransition {
            from, to, allowed, ..
        } => {
            assert_eq!(
                (*from, *to),
                (AgentState::Uninitialized, AgentState::Paused)
            );
            assert_eq!(
                *allowed,
                [AgentState::Initializing, AgentState::Terminating]
            );
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "agent \"strict\" cannot pause: Uninitialized → Paused is not a valid transition \
         (from Uninitialized the agent can go to Initializing, Terminating)"
    );
    a.initialize(&exec()).await.unwrap();
    let err = a.initialize(&exec()).await.unwrap_err();
    assert!(err.to_string().contains("Ready → Initializing"), "{err}");
    let err = a.resume(&exec()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTransition {
                from: AgentState::Ready,
                ..
            }
        ),
        "{err:?}"
    );
    let err = a.recover(&exec()).await.unwrap_err();
    assert!(err.to_string().contains("Ready → Recovering"), "{err}");
    a.terminate(&exec()).await.unwrap();
    let err = a.terminate(&exec()).await.unwrap_err();
    assert!(
        err.to_string().contains("can go to nowhere; it is final"),
        "{err}"
    );
    assert_eq!(a.state(), AgentState::Terminated);
}

#[tokio::test]
async fn invoking_paused_or_terminated_agents_is_refused() {
    let f = Fixture::new();
    let a = f.echo("sleepy");
    a.initialize(&exec()).await.unwrap();
    a.pause(&exec()).await.unwrap();
    let err = a.invoke(json!(1), &exec()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotInvocable {
                state: AgentState::Paused,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("resume it first"), "{err}");
    let err = a
        .invoke_tool("calculator", json!({}), &exec())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotInvocable { .. }), "{err:?}");
    a.terminate(&exec()).await.unwrap();
    let err = a.invoke(json!(1), &exec()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotInvocable {
                state: AgentState::Terminated,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn cancel_at_the_cancellable_points_vetoes_the_transition() {
    let mut f = Fixture::new();
    for p in [
        HookPoint::BeforeAgentInit,
        HookPoint::AgentPaused,
        HookPoint::AgentResumed,
        HookPoint::AgentRecovering,
        HookPoint::BeforeAgentShutdown,
    ] {
        let name = p.to_string();
        f.hook(p, move |ctx| {
            if ctx.component.name.as_ref() == "guarded" {
                HookResult::Cancel(format!("no {name}"))
            } else {
                HookResult::Continue
            }
        });
    }
    let a = f.echo("guarded");
    let err = a.initialize(&exec()).await.unwrap_err();
    match &err {
        Error::Vetoed {
            from, to, reason, ..
        } => {
            assert_eq!(
                (*from, *to),
                (AgentState::Uninitialized, AgentState::Initializing)
            );
            assert_eq!(reason, "no BeforeAgentInit");
        }
        other => panic!("expected Vetoed, got {other:?}"),
    }
    assert_eq!(a.state(), AgentState::Uninitialized);
    assert!(
        f.transitions().is_empty(),
        "a vetoed transition publishes nothing"
    );
    let err = a.terminate(&exec()).await.unwrap_err();
    assert!(err.to_string().contains("no BeforeAgentShutdown"), "{err}");
    assert_eq!(a.state(), AgentState::Uninitialized);

    // Another agent is not affected; then veto pause, resume and recovery.
    let b = flaky(&f, "other");
    b.initialize(&exec()).await.unwrap();
    b.pause(&exec()).await.unwrap();
    b.resume(&exec()).await.unwrap();
    assert_eq!(b.state(), AgentState::Ready);

    f.clear_hooks();
    let g = flaky(&f, "guarded2");
    g.initialize(&exec()).await.unwrap();
    f.hook(HookPoint::AgentPaused, |_| {
        HookResult::Cancel("busy".into())
    });
    f.hook(HookPoint::AgentRecovering, |_| {
        HookResult::Cancel("stay down".into())
    });
    assert!(matches!(
        g.pause(&exec()).await.unwrap_err(),
        Error::Vetoed {
            to: AgentState::Paused,
            ..
        }
    ));
    assert_eq!(g.state(), AgentState::Ready);
    g.behavior().fail_run.store(true, Ordering::SeqCst);
    let _ = g.invoke(json!(1), &exec()).await.unwrap_err();
    assert_eq!(g.state(), AgentState::Error);
    assert!(matches!(
        g.recover(&exec()).await.unwrap_err(),
        Error::Vetoed {
            to: AgentState::Recovering,
            ..
        }
    ));
    assert_eq!(g.state(), AgentState::Error);
    // With recovery vetoed, auto-recovery on invoke fails the same way.
    g.behavior().fail_run.store(false, Ordering::SeqCst);
    assert!(matches!(
        g.invoke(json!(1), &exec()).await.unwrap_err(),
        Error::Vetoed { .. }
    ));
    f.clear_hooks();
    f.hook(HookPoint::AgentResumed, |_| {
        HookResult::Cancel("not yet".into())
    });
    let r = f.echo("resumer");
    r.initialize(&exec()).await.unwrap();
    r.pause(&exec()).await.unwrap();
    assert!(matches!(
        r.resume(&exec()).await.unwrap_err(),
        Error::Vetoed {
            from: AgentState::Paused,
            ..
        }
    ));
    assert_eq!(r.state(), AgentState::Paused);
}

#[tokio::test]
async fn state_changed_events_carry_reason_correlation_and_source() {
    let mut f = Fixture::new();
    let a = f.echo("evented");
    let exec = ExecutionContext::new(llmspell_core::Language::Lua);
    a.invoke(json!(1), &exec).await.unwrap(); // initialises first
    let events = f.drain();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.as_str() == "agent.evented.state_changed")
        .collect();
    assert_eq!(changes.len(), 4);
    let first = &changes[0];
    assert_eq!(
        first.data,
        json!({ "from": "Uninitialized", "to": "Initializing", "reason": "initialize" })
    );
    assert_eq!(changes[2].data["reason"], "invoke");
    assert_eq!(changes[3].data["reason"], "completed");
    for e in &changes {
        assert_eq!(e.metadata.correlation_id, Some(exec.correlation_id.clone()));
        assert_eq!(e.language, llmspell_core::Language::Lua);
        assert_eq!(e.metadata.source.as_deref(), Some("agent:evented"));
    }
    // The runner's lifecycle events of the same invocation.
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"agent.evented.started"), "{types:?}");
    assert!(types.contains(&"agent.evented.completed"), "{types:?}");
}

#[tokio::test]
async fn concurrent_invocations_keep_the_agent_running_until_the_last_ends() {
    let mut f = Fixture::new();
    let gate = Gate::new();
    let a = f
        .agents
        .basic(AgentConfig::basic("shared"), gate.handler(false))
        .unwrap();
    a.initialize(&exec()).await.unwrap();
    f.transitions();
    let spawn = |n: i64| {
        let a = a.clone();
        tokio::spawn(async move { a.invoke(json!(n), &ExecutionContext::native()).await })
    };
    let (one, two) = (spawn(1), spawn(2));
    gate.entered().await;
    gate.entered().await;
    assert_eq!(a.in_flight(), 2);
    gate.release();
    let a2 = a.clone();
    eventually("one invocation ended", move || a2.in_flight() == 1).await;
    assert_eq!(a.state(), AgentState::Running);
    gate.release();
    one.await.unwrap().unwrap();
    two.await.unwrap().unwrap();
    assert_eq!(a.state(), AgentState::Ready);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Running"), t("Running", "Ready")]
    );
}

#[tokio::test]
async fn after_init_and_after_shutdown_report_the_transition_they_completed() {
    let mut f = Fixture::new();
    f.record(&[HookPoint::AfterAgentInit, HookPoint::AfterAgentShutdown]);
    let a = f.echo("reporter");
    // The first invocation initialises the agent.
    a.invoke(json!("hi"), &exec()).await.unwrap();
    a.terminate(&exec()).await.unwrap();
    let seen = f.take_seen();
    assert_eq!(
        seen.iter()
            .map(|s| (s.point.clone(), s.kind, s.name.as_str(), s.data.clone()))
            .collect::<Vec<_>>(),
        [
            (
                HookPoint::AfterAgentInit,
                ComponentType::Agent,
                "reporter",
                json!({ "agent": "reporter", "type": "basic", "from": "Initializing", "to": "Ready" })
            ),
            (
                HookPoint::AfterAgentShutdown,
                ComponentType::Agent,
                "reporter",
                json!({ "agent": "reporter", "type": "basic", "from": "Terminating", "to": "Terminated" })
            ),
        ]
    );
}
