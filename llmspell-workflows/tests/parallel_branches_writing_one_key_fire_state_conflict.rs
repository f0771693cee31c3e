//! Two branches of one parallel run writing the same state key conflict:
//! `StateConflict` fires, and its hooks merge the values or refuse the
//! write. Writes of one branch, or of different runs, do not conflict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use fixture::{Fixture, constant};
use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_workflows::{ParallelBranch, ParallelWorkflow, SequentialWorkflow, Step};
use serde_json::{Value, json};

/// Two branches, each saving its list under the variable `found`.
fn two_writers(f: &Fixture) -> ParallelWorkflow {
    ParallelWorkflow::builder("search")
        .engine(f.engine.clone())
        .max_concurrency(1)
        .branch(
            ParallelBranch::new("web")
                .step(Step::function("web_search", constant(json!(["a", "b"]))).save_as("found")),
        )
        .branch(
            ParallelBranch::new("docs")
                .step(Step::function("doc_search", constant(json!(["c"]))).save_as("found")),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_conflict_hook_merges_the_two_branches_values() {
    let f = Fixture::new();
    let seen = f.record(HookPoint::StateConflict);
    f.hook(HookPoint::StateConflict, "merge", |ctx| {
        let mut merged: Vec<Value> = ctx.data["current"].as_array().cloned().unwrap_or_default();
        merged.extend(ctx.data["incoming"].as_array().cloned().unwrap_or_default());
        let mut data = ctx.data.clone();
        data["incoming"] = Value::Array(merged);
        HookResult::Modified(data)
    });
    let r = two_writers(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.state.vars["found"], json!(["a", "b", "c"]));
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 1, "one conflict: {seen:?}");
    let data = &seen[0].1;
    assert_eq!(
        (
            data["scope"].clone(),
            data["key"].clone(),
            data["current_branch"].clone(),
            data["incoming_branch"].clone()
        ),
        (json!("vars"), json!("found"), json!("web"), json!("docs"))
    );
}

#[tokio::test]
async fn a_conflict_hook_can_refuse_the_second_write() {
    let f = Fixture::new();
    f.hook(HookPoint::StateConflict, "single-writer", |_| {
        HookResult::Cancel("`found` has one writer".into())
    });
    let err = two_writers(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::Cancelled {
            hook: "single-writer".into(),
            reason: "`found` has one writer".into()
        }
    );
}

#[tokio::test]
async fn replace_writes_the_hooks_value_and_no_hook_means_the_last_writer_wins() {
    let f = Fixture::new();
    let r = two_writers(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.state.vars["found"], json!(["c"]), "last writer wins");
    f.hook(HookPoint::StateConflict, "pick", |_| {
        HookResult::Replace(json!("picked"))
    });
    let r = two_writers(&f)
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.state.vars["found"], json!("picked"));
}

#[tokio::test]
async fn one_branch_rewriting_its_key_and_sequential_writes_do_not_conflict() {
    let f = Fixture::new();
    let seen = f.record(HookPoint::StateConflict);
    let wf = ParallelWorkflow::builder("one")
        .engine(f.engine.clone())
        .branch(
            ParallelBranch::new("only")
                .step(Step::function("first", constant(json!(1))).save_as("x"))
                .step(Step::function("second", constant(json!(2))).save_as("x")),
        )
        .build()
        .unwrap();
    wf.run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    let seq = SequentialWorkflow::builder("seq")
        .engine(f.engine.clone())
        .step(Step::function("a", constant(json!(1))).save_as("x"))
        .step(Step::function("b", constant(json!(2))).save_as("x"))
        .build()
        .unwrap();
    seq.run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(seen.lock().is_empty(), "{:?}", seen.lock());
}
