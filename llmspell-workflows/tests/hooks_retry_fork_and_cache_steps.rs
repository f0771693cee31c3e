//! Hook-driven `Retry`, `Fork` and `Cache` on workflow steps (the stage
//! points and the step's `WorkflowError`) and on whole workflows: a retried
//! step really runs again and sees its attempt, forks run the components
//! they name and are reported, a cached step is served without running.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fixture::{Fixture, TestAgent, constant, resolver};
use llmspell_core::{Agent, ComponentMetadata, Error, ExecutionContext, Result, async_trait};
use llmspell_events::Subscription;
use llmspell_hooks::{ForkOperation, HookContext, HookPoint, HookResult};
use llmspell_workflows::{ErrorPolicy, RetryPolicy, SequentialWorkflow, Step, StepFn, step_fn};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn step_is(ctx: &HookContext, name: &str) -> bool {
    ctx.metadata.get("step").map(String::as_str) == Some(name)
}

fn attempt(ctx: &HookContext) -> u32 {
    ctx.attempt
}

fn retry(max_attempts: u32) -> HookResult {
    HookResult::Retry {
        delay: Duration::ZERO,
        max_attempts,
    }
}

fn cache(key: impl Into<String>) -> HookResult {
    HookResult::Cache {
        key: key.into(),
        ttl: Duration::from_secs(60),
    }
}

fn fork(operations: &[(&str, Value)]) -> HookResult {
    HookResult::Fork {
        operations: operations
            .iter()
            .map(|(target, input)| ForkOperation {
                target: (*target).to_owned(),
                input: input.clone(),
            })
            .collect(),
    }
}

/// A function step that counts its runs, fails its first `failures` runs
/// and then answers `{ run: n, input }`.
fn counted(runs: &Arc<AtomicUsize>, failures: usize) -> StepFn {
    let runs = runs.clone();
    step_fn(move |input, _| {
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n <= failures {
                return Err(Error::execution("test", format!("failure {n}")));
            }
            Ok(json!({ "run": n, "input": input }))
        }
    })
}

/// An agent that fails its first `failures` calls and records the
/// `attempt` metadata of every context it is called with.
struct FlakyAgent {
    meta: ComponentMetadata,
    failures: usize,
    attempts: Mutex<Vec<u32>>,
}

impl FlakyAgent {
    fn new(name: &str, failures: usize) -> Arc<Self> {
        Arc::new(Self {
            meta: ComponentMetadata::agent(name, "fails, then answers"),
            failures,
            attempts: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl Agent for FlakyAgent {
    fn metadata(&self) -> &ComponentMetadata {
        &self.meta
    }
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        let n = {
            let mut seen = self.attempts.lock();
            seen.push(ctx.attempt);
            seen.len()
        };
        if n <= self.failures {
            return Err(Error::execution("agent:flaky", format!("failure {n}")));
        }
        Ok(json!({ "call": n, "got": input }))
    }
}

fn drain(sub: &mut Subscription) -> Vec<Value> {
    std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.data.clone())
        .collect()
}

fn native() -> ExecutionContext {
    ExecutionContext::native()
}

// ---- Retry -------------------------------------------------------------

#[tokio::test]
async fn a_retry_hook_on_a_step_error_reruns_the_step_until_it_succeeds() {
    let f = Fixture::new();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let a = attempts.clone();
    f.hook(HookPoint::BeforeWorkflowStage, "attempts", move |ctx| {
        if step_is(ctx, "flaky") {
            a.lock().push(attempt(ctx));
        }
        HookResult::Continue
    });
    let step_errors = Arc::new(AtomicUsize::new(0));
    let e = step_errors.clone();
    f.hook(HookPoint::WorkflowError, "retry-flaky", move |ctx| {
        if step_is(ctx, "flaky") {
            e.fetch_add(1, Ordering::SeqCst);
            return retry(5);
        }
        HookResult::Continue
    });
    let after = f.record(HookPoint::AfterWorkflowStage);
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("flaky", counted(&runs, 2)).input(json!("x")))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "two failures, then a success"
    );
    assert!(r.success && r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outputs["flaky"], json!({ "run": 3, "input": "x" }));
    assert_eq!(
        *attempts.lock(),
        [1, 2, 3],
        "the Before hooks run again for each attempt, numbered from the second"
    );
    assert_eq!(step_errors.load(Ordering::SeqCst), 2);
    let after = after.lock();
    assert_eq!(
        *after,
        [("flaky".to_owned(), json!({ "run": 3, "input": "x" }))],
        "After hooks see only the final outcome"
    );
}

#[tokio::test]
async fn an_agent_step_rerun_by_a_retry_hook_is_told_its_attempt() {
    let flaky = FlakyAgent::new("flaky", 2);
    let f = Fixture::new();
    f.hook(HookPoint::WorkflowError, "retry-ask", |ctx| {
        if step_is(ctx, "ask") {
            return retry(3);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::agent("ask", flaky.clone()).input(json!("hi")))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(r.outputs["ask"], json!({ "call": 3, "got": "hi" }));
    assert_eq!(
        *flaky.attempts.lock(),
        [1, 2, 3],
        "the agent's context carries the attempt, as for a step's own retry policy"
    );

    // A fallback chosen on a later attempt is told the attempt too.
    let backup = TestAgent::new("backup");
    let f = Fixture::with_resolver(Some(resolver(vec![backup.clone()], vec![])));
    f.hook(HookPoint::WorkflowError, "retry-then-fall-back", |ctx| {
        if attempt(ctx) == 1 {
            return retry(3);
        }
        HookResult::Redirect("backup".into())
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::agent("ask", FlakyAgent::new("flaky", usize::MAX)).input(json!("hi")))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(r.outputs["ask"], json!({ "agent": "backup", "got": "hi" }));
    let seen = backup.seen.lock();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].attempt, 2);
}

#[tokio::test]
async fn a_step_retried_by_a_hook_and_by_its_policy_counts_attempts_over_both() {
    let flaky = FlakyAgent::new("flaky", 3);
    let f = Fixture::new();
    f.hook(HookPoint::WorkflowError, "retry-ask", |ctx| {
        if step_is(ctx, "ask") {
            return retry(3);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(
            Step::agent("ask", flaky.clone())
                .input(json!("hi"))
                .retry(RetryPolicy::attempts(2).backoff(Duration::ZERO, 1.0)),
        )
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(r.outputs["ask"], json!({ "call": 4, "got": "hi" }));
    let attempts: Vec<u32> = flaky.attempts.lock().clone();
    assert_eq!(
        attempts,
        [1, 2, 3, 4],
        "two stage attempts of two policy attempts each"
    );
}

#[tokio::test]
async fn a_retry_hook_gives_up_at_max_attempts_and_the_steps_error_stands() {
    let f = Fixture::new();
    f.hook(HookPoint::WorkflowError, "retry-three-times", |ctx| {
        if step_is(ctx, "down") {
            return retry(3);
        }
        if step_is(ctx, "greedy") {
            return retry(1000);
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("down", counted(&runs, usize::MAX)))
        .build()
        .unwrap();
    let err = wf.run(json!(null), &native()).await.unwrap_err();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "max_attempts counts the first"
    );
    assert_eq!(err, Error::execution("test", "failure 3"));

    // At the limit the error policy applies as usual.
    runs.store(0, Ordering::SeqCst);
    let wf = SequentialWorkflow::builder("wf2")
        .engine(f.engine.clone())
        .step(Step::function("down", counted(&runs, usize::MAX)).on_error(ErrorPolicy::Continue))
        .step(Step::function("next", constant(json!("ran"))))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert!(!r.success);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].step, "down");
    assert_eq!(r.outputs["next"], json!("ran"));

    // A hook asking for more attempts than the runner allows gets its cap (10).
    let greedy = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf3")
        .engine(f.engine.clone())
        .step(Step::function("greedy", counted(&greedy, usize::MAX)))
        .build()
        .unwrap();
    assert!(wf.run(json!(null), &native()).await.is_err());
    assert_eq!(greedy.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn a_retry_hook_before_a_stage_holds_the_step_and_cancels_past_the_limit() {
    let f = Fixture::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    f.hook(
        HookPoint::BeforeWorkflowStage,
        "wait-for-quota",
        move |ctx| {
            if step_is(ctx, "held") {
                s.lock().push(attempt(ctx));
                if attempt(ctx) != 3 {
                    return retry(5);
                }
            }
            if step_is(ctx, "never") {
                return retry(2);
            }
            HookResult::Continue
        },
    );
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("held", counted(&runs, 0)))
        .build()
        .unwrap();
    let r = wf.run(json!(1), &native()).await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the step runs once the Before hooks let it"
    );
    assert_eq!(r.outputs["held"]["run"], json!(1));
    assert_eq!(*seen.lock(), [1, 2, 3]);

    let never = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf2")
        .engine(f.engine.clone())
        .step(Step::function("never", counted(&never, 0)).on_error(ErrorPolicy::Continue))
        .build()
        .unwrap();
    let err = wf.run(json!(1), &native()).await.unwrap_err();
    assert_eq!(never.load(Ordering::SeqCst), 0);
    match err {
        Error::Cancelled { hook, reason } => {
            assert_eq!(hook, "wait-for-quota");
            assert!(reason.contains("limit of 2 attempt(s)"), "{reason}");
        }
        other => panic!("expected a cancellation, got {other}"),
    }
}

#[tokio::test]
async fn a_retry_hook_after_a_stage_reruns_it_until_the_output_passes() {
    let f = Fixture::new();
    f.hook(HookPoint::AfterWorkflowStage, "quality-gate", |ctx| {
        if step_is(ctx, "draft") && ctx.data["run"].as_u64() < Some(3) {
            return retry(5);
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("draft", counted(&runs, 0)).input(json!("topic")))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(r.outputs["draft"], json!({ "run": 3, "input": "topic" }));
}

// ---- Fork --------------------------------------------------------------

#[tokio::test]
async fn a_fork_before_a_tool_step_runs_the_named_tools_and_reports_each() {
    let f = Fixture::new();
    let mut forked = f.bus.subscribe("workflow.wf.step.calc.forked").unwrap();
    let tools_run = f.record(HookPoint::BeforeToolExecution);
    f.hook(HookPoint::BeforeWorkflowStage, "audit", |ctx| {
        if step_is(ctx, "calc") {
            return fork(&[
                ("echo", json!({ "audit": ctx.data.clone() })),
                ("calculator", json!({ "expression": "6 * 7" })),
            ]);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculator").input(json!({ "expression": "1 + 1" })))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(
        r.outputs["calc"],
        json!({ "result": 2 }),
        "the step itself runs as usual"
    );
    assert_eq!(
        tools_run.lock().len(),
        3,
        "the step's tool and both forked tools ran"
    );
    let mut reports = drain(&mut forked);
    reports.sort_by_key(|r| r["target"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        reports,
        [
            json!({ "target": "calculator", "ok": true, "output": { "result": 42 } }),
            json!({ "target": "echo", "ok": true,
                    "output": { "echo": { "audit": { "expression": "1 + 1" } } } }),
        ]
    );
}

#[tokio::test]
async fn a_fork_of_an_agent_step_runs_agents_found_by_the_resolver() {
    let main = TestAgent::new("main");
    let auditor = TestAgent::new("auditor");
    let f = Fixture::with_resolver(Some(resolver(vec![auditor.clone()], vec![])));
    let mut forked = f.bus.subscribe("workflow.wf.step.ask.forked").unwrap();
    f.hook(HookPoint::BeforeWorkflowStage, "shadow", |ctx| {
        if step_is(ctx, "ask") {
            return fork(&[("auditor", ctx.data.clone()), ("ghost", json!({}))]);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::agent("ask", main.clone()).input(json!("question")))
        .build()
        .unwrap();
    let exec = native();
    let r = wf.run(json!(null), &exec).await.unwrap();
    assert_eq!(
        r.outputs["ask"],
        json!({ "agent": "main", "got": "question" })
    );
    assert_eq!(main.seen.lock().len(), 1);
    let audited = auditor.seen.lock();
    assert_eq!(audited.len(), 1, "the forked agent ran once");
    assert_eq!(
        audited[0].parent_id,
        Some(exec.correlation_id),
        "as a child of the run"
    );
    let mut reports = drain(&mut forked);
    reports.sort_by_key(|r| r["target"].as_str().unwrap_or_default().to_owned());
    assert_eq!(reports.len(), 2);
    assert_eq!(
        reports[0],
        json!({ "target": "auditor", "ok": true,
                "output": { "agent": "auditor", "got": "question" } })
    );
    assert_eq!(reports[1]["target"], "ghost");
    assert_eq!(reports[1]["ok"], false);
    assert_eq!(
        reports[1]["error"]["kind"], "not_found",
        "an unresolvable fork target is reported, not fatal"
    );
}

#[tokio::test]
async fn forks_after_a_stage_and_on_a_step_error_run_and_leave_the_outcome_alone() {
    let auditor = TestAgent::new("auditor");
    let f = Fixture::with_resolver(Some(resolver(vec![auditor.clone()], vec![])));
    let mut forked = f.bus.subscribe("workflow.wf.step.*.forked").unwrap();
    f.hook(HookPoint::AfterWorkflowStage, "copy-output", |ctx| {
        if step_is(ctx, "ok") {
            return fork(&[("auditor", json!({ "output": ctx.data.clone() }))]);
        }
        HookResult::Continue
    });
    f.hook(HookPoint::WorkflowError, "report-failure", |ctx| {
        if step_is(ctx, "bad") {
            return fork(&[("auditor", json!({ "error": ctx.data["message"].clone() }))]);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::agent("ok", TestAgent::new("main")).input(json!(1)))
        .step(
            Step::agent("bad", FlakyAgent::new("flaky", usize::MAX))
                .input(json!(2))
                .on_error(ErrorPolicy::Continue),
        )
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(
        r.outputs["ok"],
        json!({ "agent": "main", "got": 1 }),
        "output kept"
    );
    assert_eq!(r.errors.len(), 1, "the error stands");
    assert_eq!(r.errors[0].step, "bad");
    assert_eq!(auditor.seen.lock().len(), 2, "both forks ran");
    let reports = drain(&mut forked);
    assert_eq!(
        reports,
        [
            json!({ "target": "auditor", "ok": true, "output": { "agent": "auditor",
                    "got": { "output": { "agent": "main", "got": 1 } } } }),
            json!({ "target": "auditor", "ok": true, "output": { "agent": "auditor",
                    "got": { "error": "failure 1" } } }),
        ]
    );
}

#[tokio::test]
async fn a_function_step_cannot_fork_and_the_report_says_why() {
    let f = Fixture::new();
    let mut forked = f.bus.subscribe("workflow.wf.step.compute.forked").unwrap();
    f.hook(HookPoint::BeforeWorkflowStage, "fork-fn", |ctx| {
        if step_is(ctx, "compute") {
            return fork(&[("elsewhere", json!({}))]);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("compute", constant(json!(5))))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(r.outputs["compute"], json!(5), "the step itself still runs");
    let reports = drain(&mut forked);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["ok"], false);
    assert_eq!(reports[0]["error"]["kind"], "invalid_input");
    let message = reports[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("function step"), "{message}");
}

// ---- Cache -------------------------------------------------------------

#[tokio::test]
async fn a_cache_hook_serves_a_steps_second_run_without_running_it() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "memo", |ctx| {
        if step_is(ctx, "slow") {
            return cache(format!("slow:{}", ctx.data));
        }
        HookResult::Continue
    });
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    f.hook(HookPoint::AfterWorkflowStage, "cost", move |ctx| {
        if step_is(ctx, "slow") {
            h.lock().push(ctx.cache_hit);
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("slow", counted(&runs, 0)))
        .build()
        .unwrap();
    let first = wf.run(json!({ "q": 1 }), &native()).await.unwrap();
    let second = wf.run(json!({ "q": 1 }), &native()).await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the second run was served from the cache"
    );
    assert_eq!(second.outputs["slow"], first.outputs["slow"]);
    assert_eq!(
        second.outputs["slow"],
        json!({ "run": 1, "input": { "q": 1 } })
    );
    assert_eq!(*hits.lock(), [false, true]);

    let third = wf.run(json!({ "q": 2 }), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "another key runs the step");
    assert_eq!(third.outputs["slow"]["run"], json!(2));
}

#[tokio::test]
async fn a_cache_hook_after_a_stage_stores_the_output_and_on_an_error_is_ignored() {
    let f = Fixture::new();
    f.hook(HookPoint::AfterWorkflowStage, "store", |ctx| {
        if step_is(ctx, "fresh") {
            return cache("fresh-output");
        }
        HookResult::Continue
    });
    f.hook(HookPoint::WorkflowError, "store-error", |ctx| {
        if step_is(ctx, "broken") {
            return cache("broken-output");
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let broken = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("fresh", counted(&runs, 0)).input(json!("in")))
        .step(Step::function("broken", counted(&broken, usize::MAX)))
        .build()
        .unwrap();
    let err = wf.run(json!(null), &native()).await.unwrap_err();
    assert_eq!(
        err,
        Error::execution("test", "failure 1"),
        "the error stands"
    );
    let cache = f.engine.runner().cache();
    assert_eq!(
        cache.get("fresh-output"),
        Some(json!({ "run": 1, "input": "in" }))
    );
    assert_eq!(cache.get("broken-output"), None);
}

#[tokio::test]
async fn a_cached_output_rejected_and_retried_fresh_is_not_reported_as_a_hit() {
    let f = Fixture::new();
    f.engine.runner().cache().put(
        "answer",
        json!({ "run": 0, "input": "stale" }),
        Duration::from_secs(60),
    );
    // Attempt 1 consults the cache; a retry goes to the step itself.
    f.hook(HookPoint::BeforeWorkflowStage, "memo", |ctx| {
        if step_is(ctx, "answer") && attempt(ctx) == 1 {
            return cache("answer");
        }
        HookResult::Continue
    });
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    f.hook(HookPoint::AfterWorkflowStage, "freshness", move |ctx| {
        if step_is(ctx, "answer") {
            h.lock().push(ctx.cache_hit);
            if ctx.data["input"] == "stale" {
                return retry(2);
            }
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("answer", counted(&runs, 0)).input(json!("live")))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(r.outputs["answer"], json!({ "run": 1, "input": "live" }));
    assert_eq!(
        *hits.lock(),
        [true, false],
        "the second attempt ran the step: After hooks must not count it as served"
    );
}

#[tokio::test]
async fn a_cached_output_rejected_and_redirected_is_not_reported_as_a_hit() {
    let f = Fixture::new();
    f.engine.runner().cache().put(
        "calc",
        json!({ "result": "stale" }),
        Duration::from_secs(60),
    );
    f.hook(HookPoint::BeforeWorkflowStage, "memo", |ctx| {
        if step_is(ctx, "calc") {
            return cache("calc");
        }
        HookResult::Continue
    });
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    f.hook(HookPoint::AfterWorkflowStage, "freshness", move |ctx| {
        if step_is(ctx, "calc") {
            h.lock().push(ctx.cache_hit);
            if ctx.data["result"] == "stale" {
                return HookResult::Redirect("echo".into());
            }
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculator").input(json!({ "expression": "1 + 1" })))
        .build()
        .unwrap();
    let r = wf.run(json!(null), &native()).await.unwrap();
    assert_eq!(
        r.outputs["calc"],
        json!({ "echo": { "expression": "1 + 1" } })
    );
    assert_eq!(
        *hits.lock(),
        [true, false],
        "the redirect target ran: After hooks must not count it as served"
    );
}

// ---- Whole workflows ---------------------------------------------------

#[tokio::test]
async fn a_retry_hook_on_a_workflow_error_reruns_the_whole_workflow() {
    let f = Fixture::new();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let s = starts.clone();
    f.hook(HookPoint::BeforeWorkflowStart, "attempts", move |ctx| {
        s.lock().push(attempt(ctx));
        HookResult::Continue
    });
    f.hook(HookPoint::WorkflowError, "retry-run", |ctx| {
        // The run's own error point has no `step` in its metadata.
        if !ctx.metadata.contains_key("step") {
            return retry(3);
        }
        HookResult::Continue
    });
    let first = Arc::new(AtomicUsize::new(0));
    let flaky = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("first", counted(&first, 0)))
        .step(Step::function("flaky", counted(&flaky, 1)))
        .build()
        .unwrap();
    let r = wf.run(json!("go"), &native()).await.unwrap();
    assert_eq!(
        first.load(Ordering::SeqCst),
        2,
        "every step runs again, from fresh state"
    );
    assert_eq!(flaky.load(Ordering::SeqCst), 2);
    assert!(r.success);
    assert_eq!(r.outputs["first"], json!({ "run": 2, "input": "go" }));
    assert_eq!(*starts.lock(), [1, 2]);
}

#[tokio::test]
async fn a_cache_hook_before_a_workflow_serves_its_second_run_without_running_steps() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStart, "memo", |ctx| {
        cache(format!("wf:{}", ctx.data))
    });
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    f.hook(HookPoint::AfterWorkflowComplete, "cost", move |ctx| {
        h.lock().push(ctx.cache_hit);
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("work", counted(&runs, 0)))
        .build()
        .unwrap();
    let first = wf.run(json!(7), &native()).await.unwrap();
    let second = wf.run(json!(7), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(second.outputs, first.outputs);
    assert_eq!(*hits.lock(), [false, true]);
    wf.run(json!(8), &native()).await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_fork_before_a_workflow_runs_other_workflows_and_reports_them() {
    let audit_runs = Arc::new(AtomicUsize::new(0));
    let audit = SequentialWorkflow::builder("audit")
        .step(Step::function("log", counted(&audit_runs, 0)))
        .build()
        .unwrap();
    let f = Fixture::with_resolver(Some(resolver(vec![], vec![Arc::new(audit)])));
    let mut forked = f.bus.subscribe("workflow.main.forked").unwrap();
    f.hook(HookPoint::BeforeWorkflowStart, "shadow-run", |ctx| {
        if ctx.component.name.as_ref() == "main" {
            return fork(&[
                ("audit", json!({ "of": ctx.data.clone() })),
                ("missing", json!(null)),
            ]);
        }
        HookResult::Continue
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let wf = SequentialWorkflow::builder("main")
        .engine(f.engine.clone())
        .step(Step::function("work", counted(&runs, 0)))
        .build()
        .unwrap();
    let r = wf.run(json!("in"), &native()).await.unwrap();
    assert_eq!(r.outputs["work"], json!({ "run": 1, "input": "in" }));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        audit_runs.load(Ordering::SeqCst),
        1,
        "the forked workflow ran"
    );
    let mut reports = drain(&mut forked);
    reports.sort_by_key(|r| r["target"].as_str().unwrap_or_default().to_owned());
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["target"], "audit");
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(
        reports[0]["output"]["outputs"]["log"],
        json!({ "run": 1, "input": { "of": "in" } })
    );
    assert_eq!(reports[1]["target"], "missing");
    assert_eq!(reports[1]["ok"], false);
    assert_eq!(reports[1]["error"]["kind"], "not_found");
}
