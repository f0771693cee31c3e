//! Workflows nest: a sequential inside a parallel inside a loop, each with
//! its own state, linked by correlation ids, bounded in depth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::Fixture;
use llmspell_core::{Error, ExecutionContext, Workflow};
use llmspell_events::Subscription;
use llmspell_workflows::{
    LoopWorkflow, ParallelBranch, ParallelWorkflow, SequentialWorkflow, Step, WorkflowEngine,
    input_fn, step_fn,
};
use serde_json::{Value, json};

fn arith(name: &str, factor: i64) -> Step {
    Step::function(
        name,
        step_fn(move |input, _| async move { Ok(json!(input.as_i64().unwrap_or(0) * factor)) }),
    )
}

/// seq(x) = (x * 2) * 10; par(x) = { left: seq(x), right: x * 3 };
/// loop over [1, 2, 3] running par(item).
fn build(engine: &WorkflowEngine) -> LoopWorkflow {
    let seq = SequentialWorkflow::builder("seq")
        .engine(engine.clone())
        .step(arith("double", 2))
        .step(
            arith("tenfold", 10)
                .input_from(input_fn(|s| async move { Ok(s.outputs["double"].clone()) })),
        )
        .build()
        .unwrap();
    let par = ParallelWorkflow::builder("par")
        .engine(engine.clone())
        .branch(ParallelBranch::new("left").step(Step::workflow("run_seq", Arc::new(seq))))
        .branch(ParallelBranch::new("right").step(arith("triple", 3)))
        .build()
        .unwrap();
    LoopWorkflow::builder("outer")
        .engine(engine.clone())
        .items([json!(1), json!(2), json!(3)])
        .step(
            Step::workflow("run_par", Arc::new(par)).input_from(input_fn(|s| async move {
                Ok(s.item.as_deref().cloned().unwrap_or(Value::Null))
            })),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_sequential_inside_a_parallel_inside_a_loop() {
    let f = Fixture::new();
    let wf = build(&f.engine);
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(r.success);
    assert_eq!(r.iterations, Some(3));
    // The last iteration's nested results, recorded under the step names.
    let par = &r.outputs["run_par"];
    assert_eq!(par["success"], true);
    assert_eq!(par["state"]["input"], json!(3));
    assert_eq!(par["outputs"]["triple"], json!(9));
    assert_eq!(par["outputs"]["run_seq"]["outputs"]["double"], json!(6));
    assert_eq!(par["outputs"]["run_seq"]["outputs"]["tenfold"], json!(60));
    assert!(
        r.outputs.get("triple").is_none(),
        "nested workflows keep their own state"
    );
}

fn drain(sub: &mut Subscription) -> Vec<Arc<llmspell_events::UniversalEvent>> {
    std::iter::from_fn(|| sub.try_recv()).collect()
}

#[tokio::test]
async fn nested_runs_are_children_of_the_step_that_started_them() {
    let f = Fixture::new();
    let mut outer = f.bus.subscribe("workflow.outer.started").unwrap();
    let mut par = f.bus.subscribe("workflow.par.started").unwrap();
    let mut seq = f.bus.subscribe("workflow.seq.started").unwrap();
    let exec = ExecutionContext::native();
    build(&f.engine).run(json!(null), &exec).await.unwrap();
    let outer = drain(&mut outer);
    let par = drain(&mut par);
    let seq = drain(&mut seq);
    assert_eq!((outer.len(), par.len(), seq.len()), (1, 3, 3));
    assert_eq!(
        outer[0].metadata.correlation_id,
        Some(exec.correlation_id.clone())
    );
    for p in &par {
        assert_eq!(p.metadata.parent_id, Some(exec.correlation_id.clone()));
    }
    let par_ids: Vec<_> = par
        .iter()
        .map(|p| p.metadata.correlation_id.clone())
        .collect();
    for s in &seq {
        assert!(
            par_ids.contains(&s.metadata.parent_id),
            "seq runs under a par run"
        );
    }
}

#[tokio::test]
async fn nesting_deeper_than_the_limit_fails() {
    let engine = WorkflowEngine::builder().max_depth(2).build().unwrap();
    let wf = build(&engine);
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::ResourceLimitExceeded { resource, limit: 2, requested: 3 } if resource == "workflow_depth"
        ),
        "{err:?}"
    );
    // Depth 3 fits a limit of 3.
    let engine = WorkflowEngine::builder().max_depth(3).build().unwrap();
    assert!(
        build(&engine)
            .execute(json!(null), &ExecutionContext::native())
            .await
            .is_ok()
    );
}
