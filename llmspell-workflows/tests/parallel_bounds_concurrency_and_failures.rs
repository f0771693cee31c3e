//! Parallel workflows: concurrency bounds, fail-fast against collected
//! errors, and the fork and join points.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fixture::{Fixture, constant, failing, logged};
use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_workflows::{ParallelBranch, ParallelWorkflow, Step, StepFn, step_fn};
use parking_lot::Mutex;
use serde_json::json;

/// Counts how many of its instances run at once.
#[derive(Default)]
struct Gauge {
    active: AtomicUsize,
    peak: AtomicUsize,
}

fn busy(gauge: &Arc<Gauge>, ms: u64) -> StepFn {
    let gauge = gauge.clone();
    step_fn(move |_, _| {
        let gauge = gauge.clone();
        async move {
            let now = gauge.active.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            gauge.active.fetch_sub(1, Ordering::SeqCst);
            Ok(json!(now))
        }
    })
}

fn fan_out(gauge: &Arc<Gauge>, branches: usize, limit: Option<usize>) -> ParallelWorkflow {
    let mut b = ParallelWorkflow::builder("fan");
    for i in 0..branches {
        b = b.branch(
            ParallelBranch::new(format!("b{i}"))
                .step(Step::function(format!("s{i}"), busy(gauge, 20)))
                .step(Step::function(format!("t{i}"), busy(gauge, 5))),
        );
    }
    if let Some(n) = limit {
        b = b.max_concurrency(n);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn at_most_max_concurrency_branches_run_at_once() {
    let gauge = Arc::new(Gauge::default());
    let r = fan_out(&gauge, 6, Some(2))
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(r.success);
    assert_eq!(r.outputs.len(), 12, "every branch step recorded its output");
    assert_eq!(gauge.peak.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_a_bound_all_branches_overlap() {
    let gauge = Arc::new(Gauge::default());
    fan_out(&gauge, 5, None)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(gauge.peak.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn fail_fast_cancels_the_other_branches() {
    let f = Fixture::new();
    let joined = f.record(HookPoint::ParallelJoin);
    let log = Arc::new(Mutex::new(Vec::new()));
    let slow_then_log = {
        let log = log.clone();
        step_fn(move |_, _| {
            let log = log.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                log.lock().push("slow finished".to_owned());
                Ok(json!(null))
            }
        })
    };
    let wf = ParallelWorkflow::builder("ff")
        .engine(f.engine.clone())
        .branch(ParallelBranch::new("slow").step(Step::function("wait", slow_then_log)))
        .branch(ParallelBranch::new("bad").step(Step::function("boom", failing("boom"))))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "did not wait for the slow branch"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(log.lock().is_empty(), "the slow branch was cancelled");
    let data = joined.lock()[0].1.clone();
    assert_eq!(
        data["branches"][0],
        json!({ "name": "slow", "status": "cancelled" })
    );
    assert_eq!(data["branches"][1]["status"], "failed");
    assert_eq!(
        (data["failed"].clone(), data["cancelled"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn fail_fast_skips_branches_not_started() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = ParallelWorkflow::builder("serial")
        .max_concurrency(1)
        .branch(ParallelBranch::new("first").step(Step::function("boom", failing("boom"))))
        .branch(ParallelBranch::new("second").step(Step::function("later", logged(&log, "later"))))
        .build()
        .unwrap();
    assert!(
        wf.run(json!(null), &ExecutionContext::native())
            .await
            .is_err()
    );
    assert!(log.lock().is_empty());
}

#[tokio::test]
async fn collecting_errors_lets_the_other_branches_finish() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = ParallelWorkflow::builder("collect")
        .fail_fast(false)
        .branch(
            ParallelBranch::new("bad")
                .step(Step::function("boom", failing("boom")))
                .step(Step::function("after_boom", logged(&log, "after_boom"))),
        )
        .branch(ParallelBranch::new("good").step(Step::function("fine", constant(json!("ok")))))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(!r.success);
    assert_eq!(r.outputs["fine"], json!("ok"));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].step.as_str(), r.errors[0].branch.as_deref()),
        ("boom", Some("bad"))
    );
    assert!(
        log.lock().is_empty(),
        "the failed branch stops at its failed step"
    );
}

#[tokio::test]
async fn a_hook_cancel_stops_everything_even_when_collecting() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "stopper", |ctx| {
        if ctx.metadata.get("step").map(String::as_str) == Some("b") {
            return HookResult::Cancel("not b".into());
        }
        HookResult::Continue
    });
    let wf = ParallelWorkflow::builder("p")
        .engine(f.engine.clone())
        .fail_fast(false)
        .branch(ParallelBranch::new("one").step(Step::function("a", constant(json!(1)))))
        .branch(ParallelBranch::new("two").step(Step::function("b", constant(json!(2)))))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "stopper".into(),
            reason: "not b".into()
        }
    );
}

#[tokio::test]
async fn fork_fires_before_the_branches() {
    let f = Fixture::new();
    let forked = f.record(HookPoint::ParallelFork);
    let wf = ParallelWorkflow::builder("p")
        .engine(f.engine.clone())
        .max_concurrency(3)
        .branch(ParallelBranch::new("one"))
        .branch(ParallelBranch::new("two"))
        .build()
        .unwrap();
    wf.run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(
        forked.lock()[0].1,
        json!({ "branches": ["one", "two"], "max_concurrency": 2, "fail_fast": true })
    );
}

#[tokio::test]
async fn build_checks_the_settings() {
    let zero = ParallelWorkflow::builder("p")
        .max_concurrency(0)
        .build()
        .unwrap_err();
    assert!(zero.to_string().contains("max_concurrency"), "{zero}");
    let twice = ParallelWorkflow::builder("p")
        .branch(ParallelBranch::new("x"))
        .branch(ParallelBranch::new("x"))
        .build()
        .unwrap_err();
    assert!(twice.to_string().contains("used twice"), "{twice}");
}

#[tokio::test]
async fn a_cancel_at_the_fork_starts_no_branch() {
    let f = Fixture::new();
    f.hook(HookPoint::ParallelFork, "serial-only", |ctx| {
        if ctx.data["max_concurrency"].as_u64() > Some(1) {
            return HookResult::Cancel(format!("{} branches at once", ctx.data["max_concurrency"]));
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = ParallelWorkflow::builder("p")
        .engine(f.engine.clone())
        .branch(ParallelBranch::new("one").step(Step::function("a", logged(&log, "a"))))
        .branch(ParallelBranch::new("two").step(Step::function("b", logged(&log, "b"))))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "serial-only".into(),
            reason: "2 branches at once".into()
        }
    );
    assert!(log.lock().is_empty(), "no branch started");
}

#[tokio::test]
async fn a_cancel_at_the_join_fails_the_run_after_its_branches_ran() {
    let f = Fixture::new();
    f.hook(HookPoint::ParallelJoin, "all-or-nothing", |ctx| {
        if ctx.data["failed"].as_u64() > Some(0) {
            return HookResult::Cancel(format!("{} branch failed", ctx.data["failed"]));
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = ParallelWorkflow::builder("p")
        .engine(f.engine.clone())
        .fail_fast(false)
        .branch(ParallelBranch::new("good").step(Step::function("a", logged(&log, "a"))))
        .branch(ParallelBranch::new("bad").step(Step::function("b", failing("down"))))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "all-or-nothing".into(),
            reason: "1 branch failed".into()
        }
    );
    assert_eq!(*log.lock(), ["a"], "the branches ran before the join");
    // Without failures the join lets the run succeed with both outputs.
    let wf = ParallelWorkflow::builder("p")
        .engine(f.engine.clone())
        .branch(ParallelBranch::new("x").step(Step::function("x", constant(json!(1)))))
        .branch(ParallelBranch::new("y").step(Step::function("y", constant(json!(2)))))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs.len(), 2);
}
