//! Sequential workflows: step order, the state shape, computed inputs,
//! every step kind, and the retry and error policies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fixture::{Fixture, TestAgent, constant, failing, identity, logged};
use llmspell_core::{Error, ExecutionContext, Workflow};
use llmspell_workflows::{
    ErrorPolicy, RetryPolicy, SequentialWorkflow, Step, WorkflowEngine, WorkflowResult, input_fn,
    step_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

async fn run(wf: &SequentialWorkflow, input: Value) -> Result<WorkflowResult, Error> {
    wf.run(input, &ExecutionContext::native()).await
}

#[tokio::test]
async fn steps_run_in_order_and_see_earlier_outputs() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("ordered")
        .step(Step::function("first", logged(&log, "first")))
        .step(Step::function("second", logged(&log, "second")))
        .step(
            Step::function(
                "third",
                step_fn(|_, state| async move {
                    Ok(json!({ "saw": state.outputs.keys().cloned().collect::<Vec<_>>() }))
                }),
            )
            .input(json!("ignored")),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!({ "n": 1 })).await.unwrap();
    assert_eq!(*log.lock(), ["first", "second"]);
    assert!(r.success && r.errors.is_empty());
    assert_eq!(r.outputs["third"], json!({ "saw": ["first", "second"] }));
    // Steps without an input get the workflow's input.
    assert_eq!(r.outputs["first"], json!({ "n": 1 }));
}

#[tokio::test]
async fn the_result_and_state_have_the_script_shape() {
    let wf = SequentialWorkflow::builder("shape")
        .var("greeting", json!("hi"))
        .step(Step::function("a", constant(json!(1))).save_as("a_copy"))
        .build()
        .unwrap();
    let v = wf
        .execute(json!({ "x": 1 }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(v["success"], true);
    assert_eq!(v["outputs"], json!({ "a": 1 }));
    assert_eq!(
        v["state"],
        json!({
            "input": { "x": 1 },
            "outputs": { "a": 1 },
            "vars": { "greeting": "hi", "a_copy": 1 },
        }),
        "no iteration or item outside loops"
    );
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["errors"], json!([]));
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["success", "outputs", "state", "duration_ms", "errors"]
    );
}

#[tokio::test]
async fn computed_inputs_read_earlier_outputs_through_tools() {
    let f = Fixture::new();
    let wf = SequentialWorkflow::builder("math")
        .engine(f.engine.clone())
        .step(Step::tool("add", "calculator").input(json!({ "expression": "1 + 2" })))
        .step(
            Step::tool("times", "calculator").input_from(input_fn(|state| async move {
                Ok(json!({
                    "expression": "x * y",
                    "variables": { "x": state.outputs["add"]["result"], "y": state.input["factor"] }
                }))
            })),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!({ "factor": 7 })).await.unwrap();
    assert_eq!(r.outputs["add"], json!({ "result": 3 }));
    assert_eq!(r.outputs["times"], json!({ "result": 21 }));
}

#[tokio::test]
async fn agent_and_workflow_steps_get_child_contexts() {
    let agent = TestAgent::new("helper");
    let inner = SequentialWorkflow::builder("inner")
        .step(Step::function("echo", identity()))
        .build()
        .unwrap();
    let wf = SequentialWorkflow::builder("outer")
        .step(Step::agent("ask", agent.clone()).input(json!({ "q": "why" })))
        .step(
            Step::workflow("nested", Arc::new(inner)).input_from(input_fn(|s| async move {
                Ok(s.outputs["ask"]["got"].clone())
            })),
        )
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    let r = wf.run(json!(null), &exec).await.unwrap();
    assert_eq!(
        r.outputs["ask"],
        json!({ "agent": "helper", "got": { "q": "why" } })
    );
    assert_eq!(r.outputs["nested"]["success"], true);
    assert_eq!(
        r.outputs["nested"]["outputs"]["echo"],
        json!({ "q": "why" })
    );
    let seen = agent.seen.lock();
    assert_eq!(seen[0].parent_id, Some(exec.correlation_id.clone()));
    assert_ne!(seen[0].correlation_id, exec.correlation_id);
}

#[tokio::test]
async fn build_checks_names_uniqueness_and_tools() {
    let dup = SequentialWorkflow::builder("wf")
        .step(Step::function("a", identity()))
        .step(Step::function("a", identity()))
        .build()
        .unwrap_err();
    assert!(
        dup.to_string().contains("steps[1].name") && dup.to_string().contains("used twice"),
        "{dup}"
    );
    let spaced = SequentialWorkflow::builder("wf")
        .step(Step::function("load data", identity()))
        .build()
        .unwrap_err();
    assert!(spaced.to_string().contains("\"load data\""), "{spaced}");
    let bad_wf = SequentialWorkflow::builder("my workflow")
        .build()
        .unwrap_err();
    assert!(bad_wf.to_string().contains("workflow name"), "{bad_wf}");
    let no_tools = SequentialWorkflow::builder("wf")
        .engine(WorkflowEngine::default())
        .step(Step::tool("calc", "calculator"))
        .build()
        .unwrap_err();
    assert!(
        no_tools.to_string().contains("no tool registry"),
        "{no_tools}"
    );
    let bad_retry = SequentialWorkflow::builder("wf")
        .step(Step::function("a", identity()).retry(RetryPolicy::attempts(0)))
        .build()
        .unwrap_err();
    assert!(
        bad_retry
            .to_string()
            .contains("steps[0].retry.max_attempts"),
        "{bad_retry}"
    );
}

#[tokio::test]
async fn an_unknown_tool_fails_with_a_suggestion() {
    let f = Fixture::new();
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculater").input(json!({ "expression": "1" })))
        .build()
        .unwrap();
    let err = run(&wf, json!(null)).await.unwrap_err();
    assert!(
        err.to_string().contains("did you mean \"calculator\""),
        "{err}"
    );
}

#[tokio::test]
async fn the_fail_policy_stops_the_workflow() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .step(Step::function("bad", failing("broken")))
        .step(Step::function("after", logged(&log, "after")))
        .build()
        .unwrap();
    let err = run(&wf, json!(null)).await.unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(log.lock().is_empty(), "later steps must not run");
}

#[tokio::test]
async fn continue_records_the_error_and_goes_on() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .step(Step::function("bad", failing("broken")).on_error(ErrorPolicy::Continue))
        .step(Step::function("after", logged(&log, "after")))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await.unwrap();
    assert!(!r.success);
    assert_eq!(*log.lock(), ["after"]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].step, "bad");
    assert!(r.errors[0].error.to_string().contains("broken"));
    assert!(r.outputs.get("bad").is_none());
    assert_eq!(r.to_json()["errors"][0]["error"]["message"], "broken");
}

#[tokio::test]
async fn default_uses_the_fallback_output() {
    let wf = SequentialWorkflow::builder("wf")
        .step(
            Step::function("bad", failing("broken"))
                .on_error(ErrorPolicy::Default(json!({ "fallback": true }))),
        )
        .step(
            Step::function("next", identity())
                .input_from(input_fn(|s| async move { Ok(s.outputs["bad"].clone()) })),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await.unwrap();
    assert!(r.success, "a default output is not an error");
    assert_eq!(r.outputs["next"], json!({ "fallback": true }));
}

#[tokio::test]
async fn rollback_restores_the_lists_writes_and_skips_the_rest() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .var("status", json!("initial"))
        .step(Step::function("a", constant(json!("A"))).save_as("status"))
        .step(Step::function("bad", failing("broken")).on_error(ErrorPolicy::Rollback))
        .step(Step::function("after", logged(&log, "after")))
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await.unwrap();
    assert!(!r.success);
    assert_eq!(r.errors[0].step, "bad");
    assert!(r.outputs.is_empty(), "the output of `a` is rolled back");
    assert_eq!(r.state.vars["status"], json!("initial"));
    assert!(log.lock().is_empty(), "the rest of the list is skipped");
}

#[tokio::test]
async fn retries_rerun_failures_until_one_succeeds() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let flaky = step_fn(move |_, _| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n < 3 {
                Err(Error::Timeout {
                    operation: "flaky".into(),
                    after: Duration::from_millis(1),
                })
            } else {
                Ok(json!(n))
            }
        }
    });
    let wf = SequentialWorkflow::builder("wf")
        .step(
            Step::function("flaky", flaky)
                .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(1), 2.0)),
        )
        .build()
        .unwrap();
    let r = run(&wf, json!(null)).await.unwrap();
    assert_eq!(r.outputs["flaky"], json!(3));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_skip_permanent_errors_when_asked() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let broken = step_fn(move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
        async move { Err(Error::execution("test", "permanent")) }
    });
    let wf = SequentialWorkflow::builder("wf")
        .step(
            Step::function("a", broken.clone())
                .retry(RetryPolicy::attempts(2).backoff(Duration::ZERO, 1.0)),
        )
        .build()
        .unwrap();
    assert!(run(&wf, json!(null)).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    calls.store(0, Ordering::SeqCst);
    let wf = SequentialWorkflow::builder("wf")
        .step(Step::function("a", broken).retry(RetryPolicy::attempts(5).transient_only(true)))
        .build()
        .unwrap();
    assert!(run(&wf, json!(null)).await.is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "not transient: not retried"
    );
}

#[tokio::test]
async fn a_step_over_its_timeout_fails_with_timeout() {
    let slow = step_fn(|_, _| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Value::Null)
    });
    let wf = SequentialWorkflow::builder("wf")
        .step(Step::function("slow", slow).timeout(Duration::from_millis(20)))
        .build()
        .unwrap();
    let err = run(&wf, json!(null)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { operation, .. } if operation == "workflow:wf.step:slow"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_panicking_function_step_is_an_error_not_a_crash() {
    let wf = SequentialWorkflow::builder("wf")
        .step(Step::function(
            "boom",
            step_fn(|input, _| async move {
                if input.is_null() {
                    panic!("exploded");
                }
                Ok(input)
            }),
        ))
        .build()
        .unwrap();
    let err = run(&wf, json!(null)).await.unwrap_err();
    assert!(err.to_string().contains("exploded"), "{err}");
}

#[tokio::test]
async fn empty_workflows_succeed() {
    let wf = SequentialWorkflow::builder("empty").build().unwrap();
    let r = run(&wf, json!(1)).await.unwrap();
    assert!(r.success && r.outputs.is_empty());
}
