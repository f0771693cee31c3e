//! Loop workflows: items, inclusive ranges, while with break_when,
//! max_iterations, and the loop points.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::{Fixture, failing};
use llmspell_core::ExecutionContext;
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_workflows::{
    DEFAULT_WHILE_MAX_ITERATIONS, ErrorPolicy, LoopTermination, LoopWorkflow, Step, StepFn,
    condition_fn, input_fn, step_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// A body step recording `(iteration, item)` of every run.
fn witness(seen: &Arc<Mutex<Vec<(u64, Value)>>>) -> StepFn {
    let seen = seen.clone();
    step_fn(move |_, state| {
        let it = state.iteration.unwrap_or(0);
        let item = state.item.as_deref().cloned().unwrap_or(Value::Null);
        seen.lock().push((it, item.clone()));
        async move { Ok(json!({ "iteration": it, "item": item })) }
    })
}

async fn run(wf: &LoopWorkflow, input: Value) -> llmspell_workflows::WorkflowResult {
    wf.run(input, &ExecutionContext::native()).await.unwrap()
}

#[tokio::test]
async fn loops_over_items_with_iteration_and_item_in_state() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("each")
        .items([json!("a"), json!("b"), json!("c")])
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(
        *seen.lock(),
        [(1, json!("a")), (2, json!("b")), (3, json!("c"))]
    );
    assert_eq!(r.iterations, Some(3));
    assert_eq!(r.termination, Some(LoopTermination::Completed));
    assert_eq!(
        r.outputs["visit"],
        json!({ "iteration": 3, "item": "c" }),
        "body outputs are recorded under the step's own name; the last iteration's stays"
    );
    let v = r.to_json();
    assert_eq!(
        (v["iterations"].clone(), v["termination"].clone()),
        (json!(3), json!("completed"))
    );
}

#[tokio::test]
async fn ranges_include_their_end() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("count")
        .range((1, 5, 1))
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    assert_eq!(run(&wf, json!(null)).await.iterations, Some(5));
    let items: Vec<Value> = seen.lock().iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(items, [json!(1), json!(2), json!(3), json!(4), json!(5)]);

    seen.lock().clear();
    let wf = LoopWorkflow::builder("down")
        .range((5, 1, -2))
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    run(&wf, json!(null)).await;
    let items: Vec<Value> = seen.lock().iter().map(|(_, i)| i.clone()).collect();
    assert_eq!(items, [json!(5), json!(3), json!(1)]);

    seen.lock().clear();
    let wf = LoopWorkflow::builder("empty")
        .range((3, 1, 1))
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    assert_eq!(run(&wf, json!(null)).await.iterations, Some(0));
    assert!(seen.lock().is_empty());

    let wf = LoopWorkflow::builder("edge")
        .range((i64::MAX - 1, i64::MAX, 1))
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    assert_eq!(
        run(&wf, json!(null)).await.iterations,
        Some(2),
        "no overflow"
    );
}

#[tokio::test]
async fn while_loops_until_break_when() {
    // Counts by saving each iteration number into vars.n; breaks after n = 4.
    let wf = LoopWorkflow::builder("until")
        .repeat_while(condition_fn(|s| async move {
            Ok(s.vars.get("n").and_then(Value::as_u64).unwrap_or(0) < 10)
        }))
        .break_when(condition_fn(|s| async move {
            Ok(s.vars.get("n").and_then(Value::as_u64) == Some(4))
        }))
        .step(
            Step::function(
                "count",
                step_fn(|_, s| async move { Ok(json!(s.iteration)) }),
            )
            .save_as("n"),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(r.iterations, Some(4));
    assert_eq!(r.termination, Some(LoopTermination::Break));
    assert_eq!(r.state.vars["n"], json!(4));
}

#[tokio::test]
async fn while_stops_when_its_condition_turns_false() {
    let wf = LoopWorkflow::builder("w")
        .repeat_while(condition_fn(|s| async move {
            Ok(s.vars.get("n").and_then(Value::as_u64).unwrap_or(0) < 3)
        }))
        .step(
            Step::function(
                "count",
                step_fn(|_, s| async move { Ok(json!(s.iteration)) }),
            )
            .save_as("n"),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(
        (r.iterations, r.termination),
        (Some(3), Some(LoopTermination::Completed))
    );
}

#[tokio::test]
async fn max_iterations_stops_the_loop() {
    let wf = LoopWorkflow::builder("capped")
        .range((1, 100, 1))
        .max_iterations(7)
        .step(Step::function(
            "s",
            step_fn(|_, s| async move { Ok(json!(s.item)) }),
        ))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert!(r.success);
    assert_eq!(
        (r.iterations, r.termination),
        (Some(7), Some(LoopTermination::MaxIterations))
    );
    assert_eq!(r.outputs["s"], json!(7));

    // Exactly max_iterations items complete normally.
    let wf = LoopWorkflow::builder("exact")
        .items([json!(1), json!(2)])
        .max_iterations(2)
        .build()
        .unwrap();
    assert_eq!(
        run(&wf, json!(null)).await.termination,
        Some(LoopTermination::Completed)
    );

    // An endless while loop stops at the default bound.
    let wf = LoopWorkflow::builder("forever")
        .repeat_while(condition_fn(|_| async { Ok(true) }))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(r.iterations, Some(DEFAULT_WHILE_MAX_ITERATIONS));
    assert_eq!(r.termination, Some(LoopTermination::MaxIterations));
}

#[tokio::test]
async fn items_can_come_from_the_input() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("from_input")
        .items_from(input_fn(|s| async move { Ok(s.input["list"].clone()) }))
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    let r = run(&wf, json!({ "list": [10, 20] })).await;
    assert_eq!(r.iterations, Some(2));
    let err = wf
        .run(json!({ "list": "nope" }), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expected an array"), "{err}");
}

#[tokio::test]
async fn iteration_points_fire_and_may_change_the_item() {
    let f = Fixture::new();
    let starts = f.record(HookPoint::LoopIterationStart);
    let ends = f.record(HookPoint::LoopIterationEnd);
    let terminated = f.record(HookPoint::LoopTerminated);
    f.hook(HookPoint::LoopIterationStart, "shout", |ctx| {
        let mut d = ctx.data.clone();
        d["item"] = json!(d["item"].as_str().unwrap_or_default().to_uppercase());
        HookResult::Modified(d)
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("hooked")
        .engine(f.engine.clone())
        .items([json!("x"), json!("y")])
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    run(&wf, json!(null)).await;
    assert_eq!(*seen.lock(), [(1, json!("X")), (2, json!("Y"))]);
    assert_eq!(starts.lock().len(), 2);
    assert_eq!(ends.lock()[1].1, json!({ "iteration": 2, "item": "Y" }));
    assert_eq!(
        terminated.lock()[0].1,
        json!({ "reason": "completed", "iterations": 2 })
    );
}

#[tokio::test]
async fn a_failing_body_ends_the_loop_with_reason_error() {
    let f = Fixture::new();
    let terminated = f.record(HookPoint::LoopTerminated);
    let wf = LoopWorkflow::builder("breaks")
        .engine(f.engine.clone())
        .range((1, 3))
        .step(Step::function("bad", failing("nope")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"));
    assert_eq!(
        terminated.lock()[0].1,
        json!({ "reason": "error", "iterations": 0 })
    );
}

#[tokio::test]
async fn continue_in_a_body_records_the_iteration() {
    let wf = LoopWorkflow::builder("tolerant")
        .range((1, 3))
        .step(Step::function("bad", failing("nope")).on_error(ErrorPolicy::Continue))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert!(!r.success);
    let iterations: Vec<Option<u64>> = r.errors.iter().map(|e| e.iteration).collect();
    assert_eq!(iterations, [Some(1), Some(2), Some(3)]);
}

#[tokio::test]
async fn rollback_undoes_only_the_failed_iteration() {
    // Each iteration saves its item, then item 3 fails with Rollback: the
    // writes of iteration 3 are undone, those of 1 and 2 stay.
    let f = Fixture::new();
    let rollbacks = f.record(HookPoint::WorkflowRollback);
    let wf = LoopWorkflow::builder("tx")
        .engine(f.engine.clone())
        .items([json!(1), json!(2), json!(3)])
        .step(
            Step::function("keep", step_fn(|_, s| async move { Ok(json!(s.item)) }))
                .save_as("last"),
        )
        .step(
            Step::function(
                "check",
                step_fn(|_, s| async move {
                    if s.item.as_deref() == Some(&json!(3)) {
                        Err(llmspell_core::Error::other("three is bad"))
                    } else {
                        Ok(json!("ok"))
                    }
                }),
            )
            .on_error(ErrorPolicy::Rollback),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(r.iterations, Some(3));
    assert_eq!(r.state.vars["last"], json!(2));
    assert_eq!(r.outputs["keep"], json!(2));
    assert_eq!(
        r.outputs["check"],
        json!("ok"),
        "iteration 2's output stays"
    );
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].iteration, Some(3));
    let (step, data) = rollbacks.lock()[0].clone();
    assert_eq!(step, "check");
    assert_eq!(
        data["restore"],
        json!([{ "scope": "outputs", "key": "keep" }, { "scope": "vars", "key": "last" }])
    );
    assert_eq!(data["error"]["message"], "three is bad");
    assert_eq!(
        data["state"]["vars"]["last"],
        json!(3),
        "the state before the rollback"
    );
}

#[tokio::test]
async fn a_cancel_at_an_iteration_end_stops_the_loop() {
    let f = Fixture::new();
    let terminated = f.record(HookPoint::LoopTerminated);
    f.hook(HookPoint::LoopIterationEnd, "two-is-enough", |ctx| {
        if ctx.data["iteration"] == 2 {
            return HookResult::Cancel(format!("stop after {}", ctx.data["item"]));
        }
        HookResult::Continue
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("bounded")
        .engine(f.engine.clone())
        .items([json!("a"), json!("b"), json!("c")])
        .step(Step::function("visit", witness(&seen)))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        llmspell_core::Error::Cancelled {
            hook: "two-is-enough".into(),
            reason: "stop after \"b\"".into()
        }
    );
    assert_eq!(
        *seen.lock(),
        [(1, json!("a")), (2, json!("b"))],
        "the third iteration never started"
    );
    assert_eq!(
        terminated.lock()[0].1,
        json!({ "reason": "cancelled", "iterations": 2 })
    );
}

#[tokio::test]
async fn a_cancel_at_loop_terminated_fails_a_loop_that_ran_to_its_end() {
    let f = Fixture::new();
    f.hook(HookPoint::LoopTerminated, "need-a-break", |ctx| {
        if ctx.data["reason"] != "break" {
            return HookResult::Cancel(format!(
                "ended by {} after {} iterations",
                ctx.data["reason"].as_str().unwrap_or("?"),
                ctx.data["iterations"]
            ));
        }
        HookResult::Continue
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wf = LoopWorkflow::builder("search")
        .engine(f.engine.clone())
        .range((1, 3))
        .step(Step::function("look", witness(&seen)))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        llmspell_core::Error::Cancelled {
            hook: "need-a-break".into(),
            reason: "ended by completed after 3 iterations".into()
        }
    );
    assert_eq!(seen.lock().len(), 3, "every iteration ran");
    // A loop that breaks passes the same hook.
    let wf = LoopWorkflow::builder("search")
        .engine(f.engine.clone())
        .range((1, 3))
        .break_when(condition_fn(|s| async move { Ok(s.iteration == Some(2)) }))
        .step(Step::function("look", witness(&seen)))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await;
    assert_eq!(r.termination, Some(LoopTermination::Break));
}
