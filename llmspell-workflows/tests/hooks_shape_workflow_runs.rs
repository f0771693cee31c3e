//! Hooks at the workflow and stage points change inputs and outputs, skip,
//! cancel and redirect steps; pattern, checkpoint, rollback and state points
//! fire, and their hooks' results take effect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::{Fixture, TestAgent, constant, failing, identity, logged, resolver};
use llmspell_core::{Error, ExecutionContext, Workflow};
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_workflows::{ErrorPolicy, SequentialWorkflow, Step, input_fn, step_fn};
use parking_lot::Mutex;
use serde_json::{Value, json};

fn step_is(ctx: &llmspell_hooks::HookContext, name: &str) -> bool {
    ctx.metadata.get("step").map(String::as_str) == Some(name)
}

#[tokio::test]
async fn stage_hooks_change_a_steps_input_and_output() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "rewrite-input", |ctx| {
        if step_is(ctx, "calc") {
            return HookResult::Modified(json!({ "expression": "6 * 7" }));
        }
        HookResult::Continue
    });
    f.hook(HookPoint::AfterWorkflowStage, "annotate-output", |ctx| {
        if step_is(ctx, "calc") {
            let mut out = ctx.data.clone();
            out["checked"] = json!(true);
            return HookResult::Modified(out);
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculator").input(json!({ "expression": "1 + 1" })))
        .step(
            Step::function("next", identity())
                .input_from(input_fn(|s| async move { Ok(s.outputs["calc"].clone()) })),
        )
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs["calc"], json!({ "result": 42, "checked": true }));
    assert_eq!(
        r.outputs["next"],
        json!({ "result": 42, "checked": true }),
        "later steps see the modified output"
    );
}

#[tokio::test]
async fn a_hook_cancelling_mid_workflow_stops_later_steps_and_names_itself() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "budget-guard", |ctx| {
        if step_is(ctx, "second") {
            return HookResult::Cancel("budget spent".into());
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("first", logged(&log, "first")))
        .step(Step::function("second", logged(&log, "second")).on_error(ErrorPolicy::Continue))
        .step(Step::function("third", logged(&log, "third")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "budget-guard".into(),
            reason: "budget spent".into()
        },
        "a cancel stops the workflow whatever the step's error policy"
    );
    assert!(err.to_string().contains("budget-guard"));
    assert_eq!(*log.lock(), ["first"]);
}

#[tokio::test]
async fn replace_before_a_step_skips_it() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "skipper", |ctx| {
        if step_is(ctx, "expensive") {
            return HookResult::Replace(json!({ "skipped": true }));
        }
        HookResult::Continue
    });
    let after = f.record(HookPoint::AfterWorkflowStage);
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("expensive", logged(&log, "expensive")))
        .step(Step::function("cheap", logged(&log, "cheap")))
        .build()
        .unwrap();
    let r = wf.run(json!(1), &ExecutionContext::native()).await.unwrap();
    assert_eq!(*log.lock(), ["cheap"]);
    assert_eq!(r.outputs["expensive"], json!({ "skipped": true }));
    let after = after.lock();
    assert_eq!(
        after[0],
        ("expensive".to_owned(), json!({ "skipped": true })),
        "After hooks still see it"
    );
}

#[tokio::test]
async fn a_tool_step_can_be_redirected_to_another_tool() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStage, "to-echo", |ctx| {
        if step_is(ctx, "calc") {
            return HookResult::Redirect("echo".into());
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculator").input(json!({ "expression": "1 + 1" })))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(
        r.outputs["calc"],
        json!({ "echo": { "expression": "1 + 1" } })
    );
}

#[tokio::test]
async fn agent_steps_redirect_through_the_resolver_and_functions_cannot() {
    let main = TestAgent::new("main");
    let backup = TestAgent::new("backup");
    let f = Fixture::with_resolver(Some(resolver(vec![backup.clone()], vec![])));
    f.hook(HookPoint::BeforeWorkflowStage, "fallback", |ctx| {
        if step_is(ctx, "ask") {
            return HookResult::Redirect("backup".into());
        }
        if step_is(ctx, "compute") {
            return HookResult::Redirect("elsewhere".into());
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::agent("ask", main.clone()).input(json!("hi")))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs["ask"], json!({ "agent": "backup", "got": "hi" }));
    assert!(main.seen.lock().is_empty());

    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("compute", identity()))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("function step"), "{err}");
}

#[tokio::test]
async fn an_error_hook_can_supply_a_steps_output() {
    let f = Fixture::new();
    let errors = f.record(HookPoint::WorkflowError);
    f.hook(HookPoint::WorkflowError, "fallback", |ctx| {
        if step_is(ctx, "flaky") {
            return HookResult::Replace(json!("from the hook"));
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("flaky", failing("down")))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(r.success);
    assert_eq!(r.outputs["flaky"], json!("from the hook"));
    assert_eq!(errors.lock()[0].1["message"], "down");
}

#[tokio::test]
async fn workflow_hooks_change_the_input_and_the_result() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStart, "defaults", |ctx| {
        let mut input = ctx.data.clone();
        input["lang"] = json!("en");
        HookResult::Modified(input)
    });
    f.hook(HookPoint::AfterWorkflowComplete, "stamp", |ctx| {
        let mut result = ctx.data.clone();
        result["stamped"] = json!(true);
        HookResult::Modified(result)
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("echo", identity()))
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    let r = wf.run(json!({ "text": "hi" }), &exec).await.unwrap();
    assert_eq!(r.outputs["echo"], json!({ "text": "hi", "lang": "en" }));
    let v = wf.execute(json!({}), &exec).await.unwrap();
    assert_eq!(v["stamped"], true);
    assert_eq!(v["success"], true);
}

#[tokio::test]
async fn a_result_replaced_by_a_hook_is_returned_raw_by_execute() {
    let f = Fixture::new();
    f.hook(HookPoint::AfterWorkflowComplete, "summarise", |_| {
        HookResult::Replace(json!("summary"))
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    assert_eq!(
        wf.execute(json!(null), &exec).await.unwrap(),
        json!("summary")
    );
    let err = wf.run(json!(null), &exec).await.unwrap_err();
    assert!(err.to_string().contains("not a workflow result"), "{err}");
}

#[tokio::test]
async fn a_workflow_cancelled_before_it_starts_runs_nothing() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeWorkflowStart, "closed", |_| {
        HookResult::Cancel("maintenance".into())
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", logged(&log, "a")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Cancelled { ref hook, .. } if hook == "closed"),
        "{err}"
    );
    assert!(log.lock().is_empty());
}

#[tokio::test]
async fn transitions_and_checkpoints_fire_between_and_after_steps() {
    let f = Fixture::new();
    let transitions = f.record(HookPoint::WorkflowStageTransition);
    let checkpoints = f.record(HookPoint::WorkflowCheckpoint);
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", constant(json!(1))))
        .step(Step::function("b", constant(json!(2))))
        .step(Step::function("c", constant(json!(3))))
        .build()
        .unwrap();
    wf.run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    let t: Vec<Value> = transitions.lock().iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(
        t,
        [
            json!({ "from": "a", "to": "b" }),
            json!({ "from": "b", "to": "c" })
        ]
    );
    let c = checkpoints.lock();
    assert_eq!(c.len(), 3);
    assert_eq!(c[1].1["step"], "b");
    assert_eq!(c[1].1["state"]["outputs"], json!({ "a": 1, "b": 2 }));
}

#[tokio::test]
async fn a_transition_hook_can_cancel() {
    let f = Fixture::new();
    f.hook(HookPoint::WorkflowStageTransition, "gate", |ctx| {
        if ctx.data["to"] == "b" {
            return HookResult::Cancel("closed gate".into());
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", logged(&log, "a")))
        .step(Step::function("b", logged(&log, "b")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gate"), "{err}");
    assert_eq!(*log.lock(), ["a"]);
}

#[tokio::test]
async fn state_hooks_fire_on_reads_and_writes() {
    let f = Fixture::new();
    let before_writes = f.record(HookPoint::BeforeStateWrite);
    let after_writes = f.record(HookPoint::AfterStateWrite);
    let reads = f.record(HookPoint::BeforeStateRead);
    f.hook(HookPoint::AfterStateRead, "inject", |ctx| {
        let mut s = ctx.data.clone();
        s["vars"]["secret"] = json!("from hook");
        HookResult::Modified(s)
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", constant(json!(1))).save_as("copy"))
        .step(Step::function(
            "peek",
            step_fn(|_, s| async move { Ok(s.vars["secret"].clone()) }),
        ))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(
        r.outputs["peek"],
        json!("from hook"),
        "the read was modified"
    );
    assert!(
        r.state.vars.get("secret").is_none(),
        "reads do not change the state"
    );
    let writes: Vec<Value> = before_writes
        .lock()
        .iter()
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(
        writes,
        [
            json!({ "scope": "outputs", "key": "a", "value": 1 }),
            json!({ "scope": "vars", "key": "copy", "value": 1 }),
            json!({ "scope": "outputs", "key": "peek", "value": "from hook" }),
        ]
    );
    assert_eq!(after_writes.lock().len(), 3);
    let readers: Vec<(String, Value)> = reads.lock().clone();
    assert_eq!(
        readers,
        [
            ("a".to_owned(), json!({ "reader": "a" })),
            ("peek".to_owned(), json!({ "reader": "peek" }))
        ],
        "function steps read the state"
    );
}

#[tokio::test]
async fn a_refused_state_write_fails_the_workflow() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeStateWrite, "read-only-vars", |ctx| {
        if ctx.data["scope"] == "vars" {
            return HookResult::Cancel("vars are read-only".into());
        }
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", constant(json!(1))).save_as("x"))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "read-only-vars".into(),
            reason: "vars are read-only".into()
        }
    );
}

#[tokio::test]
async fn stage_contexts_carry_step_metadata_and_the_workflow_correlation() {
    let f = Fixture::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    f.hook(HookPoint::BeforeWorkflowStage, "spy", move |ctx| {
        s.lock().push((
            ctx.metadata.clone(),
            ctx.correlation_id.clone(),
            ctx.component.clone(),
        ));
        HookResult::Continue
    });
    let tool_parents = Arc::new(Mutex::new(Vec::new()));
    let t = tool_parents.clone();
    f.hook(HookPoint::BeforeToolExecution, "tool-spy", move |ctx| {
        t.lock().push(ctx.parent_id.clone());
        HookResult::Continue
    });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::tool("calc", "calculator").input(json!({ "expression": "2" })))
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    wf.run(json!(null), &exec).await.unwrap();
    let seen = seen.lock();
    let (meta, correlation, component) = &seen[0];
    assert_eq!(meta["workflow"], "wf");
    assert_eq!(meta["step"], "calc");
    assert_eq!(meta["step_kind"], "tool");
    assert_eq!(*correlation, exec.correlation_id);
    assert_eq!(component.to_string(), "workflow:wf");
    assert_eq!(*tool_parents.lock(), [Some(exec.correlation_id.clone())]);
}

#[tokio::test]
async fn a_whole_workflow_can_be_redirected_through_the_resolver() {
    let v2 = SequentialWorkflow::builder("v2")
        .step(Step::function("new_path", constant(json!("v2"))))
        .build()
        .unwrap();
    let f = Fixture::with_resolver(Some(resolver(vec![], vec![Arc::new(v2)])));
    f.hook(HookPoint::BeforeWorkflowStart, "canary", |ctx| {
        if ctx.component.name.as_ref() == "v1" {
            return HookResult::Redirect("v2".into());
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let v1 = SequentialWorkflow::builder("v1")
        .engine(f.engine.clone())
        .step(Step::function("old_path", logged(&log, "old_path")))
        .build()
        .unwrap();
    let r = v1
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs["new_path"], json!("v2"));
    assert!(log.lock().is_empty());

    f.hook(HookPoint::BeforeWorkflowStart, "nowhere", |ctx| {
        if ctx.component.name.as_ref() == "v3" {
            return HookResult::Redirect("missing".into());
        }
        HookResult::Continue
    });
    let v3 = SequentialWorkflow::builder("v3")
        .engine(f.engine.clone())
        .build()
        .unwrap();
    let err = v3
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("workflow \"missing\" not found"),
        "{err}"
    );
}

#[tokio::test]
async fn a_checkpoint_hook_can_stop_the_run_after_a_step() {
    let f = Fixture::new();
    let checkpoints = f.record(HookPoint::WorkflowCheckpoint);
    f.hook(HookPoint::WorkflowCheckpoint, "freeze", |ctx| {
        if ctx.data["step"] == "b" {
            return HookResult::Cancel("frozen after b".into());
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("a", logged(&log, "a")))
        .step(Step::function("b", logged(&log, "b")))
        .step(Step::function("c", logged(&log, "c")))
        .build()
        .unwrap();
    let err = wf
        .run(json!("x"), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "freeze".into(),
            reason: "frozen after b".into()
        }
    );
    assert_eq!(*log.lock(), ["a", "b"], "no step runs after the cancel");
    let checkpoints = checkpoints.lock();
    assert_eq!(checkpoints.len(), 2);
    assert_eq!(
        checkpoints[1].1["state"]["outputs"],
        json!({ "a": "x", "b": "x" })
    );
}

#[tokio::test]
async fn a_rollback_hook_can_refuse_the_rollback_and_stop_the_run() {
    // `check` fails with the Rollback policy: its list's writes are undone
    // and the run goes on with the error recorded, unless a WorkflowRollback
    // hook cancels.
    let rollback_wf = |f: &Fixture| {
        SequentialWorkflow::builder("tx")
            .engine(f.engine.clone())
            .step(Step::function("keep", constant(json!(1))).save_as("kept"))
            .step(Step::function("check", failing("invalid")).on_error(ErrorPolicy::Rollback))
            .build()
            .unwrap()
    };
    let f = Fixture::new();
    let r = rollback_wf(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(r.state.vars.get("kept").is_none(), "rolled back");
    assert_eq!(r.errors.len(), 1);

    let f = Fixture::new();
    let rollbacks = f.record(HookPoint::WorkflowRollback);
    f.hook(HookPoint::WorkflowRollback, "no-undo", |ctx| {
        HookResult::Cancel(format!(
            "not undoing {}",
            ctx.data["restore"][1]["key"].as_str().unwrap_or("?")
        ))
    });
    let err = rollback_wf(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "no-undo".into(),
            reason: "not undoing kept".into()
        }
    );
    let (step, data) = rollbacks.lock()[0].clone();
    assert_eq!(step, "check");
    assert_eq!(data["error"]["message"], "invalid");
    assert_eq!(data["state"]["vars"]["kept"], 1);
}

#[tokio::test]
async fn a_state_read_hook_can_supply_the_state_or_refuse_the_read() {
    let f = Fixture::new();
    f.hook(HookPoint::BeforeStateRead, "reads", |ctx| {
        match ctx.data["reader"].as_str() {
            Some("peek") => HookResult::Replace(json!({
                "input": "from the hook",
                "outputs": {},
                "vars": { "secret": "supplied" }
            })),
            Some("forbidden") => HookResult::Cancel("no reading here".into()),
            _ => HookResult::Continue,
        }
    });
    let peek = step_fn(|_, s| async move { Ok(json!([s.input.as_ref(), s.var("secret")])) });
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("peek", peek))
        .build()
        .unwrap();
    let r = wf
        .run(json!("real input"), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs["peek"], json!(["from the hook", "supplied"]));
    assert!(
        r.state.vars.get("secret").is_none(),
        "the live state is unchanged"
    );

    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("forbidden", logged(&log, "forbidden")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "reads".into(),
            reason: "no reading here".into()
        }
    );
    assert!(
        log.lock().is_empty(),
        "the step did not run without its state"
    );
}

#[tokio::test]
async fn an_after_state_write_cancel_refuses_the_write_and_stops_the_run() {
    let f = Fixture::new();
    let seen = f.record(HookPoint::AfterStateWrite);
    f.hook(HookPoint::AfterStateWrite, "audit", |ctx| {
        if ctx.data["scope"] == "vars" && ctx.data["key"] == "total" {
            return HookResult::Cancel(format!("total {} not audited", ctx.data["value"]));
        }
        HookResult::Continue
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = SequentialWorkflow::builder("wf")
        .engine(f.engine.clone())
        .step(Step::function("sum", constant(json!(12))).save_as("total"))
        .step(Step::function("report", logged(&log, "report")))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "audit".into(),
            reason: "total 12 not audited".into()
        }
    );
    assert!(
        log.lock().is_empty(),
        "no step runs after the refused write"
    );
    let seen: Vec<Value> = seen.lock().iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(
        seen,
        [
            json!({ "scope": "outputs", "key": "sum", "value": 12 }),
            json!({ "scope": "vars", "key": "total", "value": 12 })
        ]
    );
}
