//! Conditional workflows: the first branch whose condition holds runs,
//! else the default; the condition and selection points.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::{Fixture, constant};
use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult};
use llmspell_workflows::{Branch, Condition, ConditionalWorkflow, Step, condition_fn};
use parking_lot::Mutex;
use serde_json::json;

/// A condition that logs its evaluation and checks `input.kind == kind`.
fn kind_is(log: &Arc<Mutex<Vec<String>>>, kind: &'static str) -> Condition {
    let log = log.clone();
    condition_fn(move |s| {
        log.lock().push(kind.to_owned());
        let hit = s.input["kind"] == json!(kind);
        async move { Ok(hit) }
    })
}

fn triage(f: &Fixture, log: &Arc<Mutex<Vec<String>>>) -> ConditionalWorkflow {
    ConditionalWorkflow::builder("triage")
        .engine(f.engine.clone())
        .branch(
            Branch::new("bug", kind_is(log, "bug"))
                .step(Step::function("fix", constant(json!("fixed"))))
                .step(Step::function("verify", constant(json!("verified")))),
        )
        .branch(
            Branch::new("feature", kind_is(log, "feature"))
                .step(Step::function("plan", constant(json!("planned")))),
        )
        .branch(
            Branch::new("also_feature", kind_is(log, "feature"))
                .step(Step::function("never", constant(json!("never")))),
        )
        .default_step(Step::function("archive", constant(json!("archived"))))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_first_matching_branch_runs_and_later_conditions_are_not_asked() {
    let f = Fixture::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = triage(&f, &log);
    let r = wf
        .run(json!({ "kind": "feature" }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.branch.as_deref(), Some("feature"));
    assert_eq!(r.outputs["plan"], json!("planned"));
    assert!(r.outputs.get("never").is_none() && r.outputs.get("archive").is_none());
    assert_eq!(*log.lock(), ["bug", "feature"]);
}

#[tokio::test]
async fn branch_steps_record_outputs_under_their_own_names() {
    let f = Fixture::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let r = triage(&f, &log)
        .run(json!({ "kind": "bug" }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.outputs["fix"], json!("fixed"));
    assert_eq!(r.outputs["verify"], json!("verified"));
    assert_eq!(r.to_json()["branch"], "bug");
}

#[tokio::test]
async fn the_default_runs_when_nothing_matches() {
    let f = Fixture::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let r = triage(&f, &log)
        .run(json!({ "kind": "question" }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.branch.as_deref(), Some("default"));
    assert_eq!(r.outputs["archive"], json!("archived"));
    assert_eq!(*log.lock(), ["bug", "feature", "feature"]);
}

#[tokio::test]
async fn without_a_default_nothing_runs() {
    let wf = ConditionalWorkflow::builder("c")
        .branch(Branch::new("never", condition_fn(|_| async { Ok(false) })))
        .build()
        .unwrap();
    let r = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    assert!(r.success && r.outputs.is_empty());
    assert_eq!(r.branch.as_deref(), Some("default"));
}

#[tokio::test]
async fn each_condition_and_the_selection_fire_their_points() {
    let f = Fixture::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let evaluated = f.record(HookPoint::WorkflowConditionEvaluated);
    let selected = f.record(HookPoint::WorkflowBranchSelected);
    triage(&f, &log)
        .run(json!({ "kind": "feature" }), &ExecutionContext::native())
        .await
        .unwrap();
    let evaluated: Vec<_> = evaluated.lock().iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(
        evaluated,
        [
            json!({ "branch": "bug", "index": 0, "result": false }),
            json!({ "branch": "feature", "index": 1, "result": true }),
        ]
    );
    assert_eq!(selected.lock()[0].1, json!({ "branch": "feature" }));
}

#[tokio::test]
async fn hooks_can_override_a_condition_and_the_selected_branch() {
    let f = Fixture::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    f.hook(HookPoint::WorkflowConditionEvaluated, "force-bug", |ctx| {
        if ctx.data["branch"] == "bug" {
            let mut d = ctx.data.clone();
            d["result"] = json!(true);
            return HookResult::Modified(d);
        }
        HookResult::Continue
    });
    let r = triage(&f, &log)
        .run(json!({ "kind": "feature" }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.branch.as_deref(), Some("bug"));

    let f = Fixture::new();
    f.hook(HookPoint::WorkflowBranchSelected, "send-to-default", |_| {
        HookResult::Modified(json!({ "branch": "default" }))
    });
    let r = triage(&f, &log)
        .run(json!({ "kind": "bug" }), &ExecutionContext::native())
        .await
        .unwrap();
    assert_eq!(r.branch.as_deref(), Some("default"));
    assert_eq!(r.outputs["archive"], json!("archived"));

    let f = Fixture::new();
    f.hook(HookPoint::WorkflowBranchSelected, "typo", |_| {
        HookResult::Modified(json!({ "branch": "bugz" }))
    });
    let err = triage(&f, &log)
        .run(json!({ "kind": "bug" }), &ExecutionContext::native())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("bugz") && err.to_string().contains("\"feature\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_condition_names_its_branch() {
    let wf = ConditionalWorkflow::builder("c")
        .branch(Branch::new(
            "shaky",
            condition_fn(|_| async { Err(Error::other("cannot decide")) }),
        ))
        .build()
        .unwrap();
    let err = wf
        .run(json!(null), &ExecutionContext::native())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("branch:shaky") && text.contains("cannot decide"),
        "{text}"
    );
}

#[tokio::test]
async fn branch_names_are_checked() {
    let never = || condition_fn(|_| async { Ok(false) });
    let reserved = ConditionalWorkflow::builder("c")
        .branch(Branch::new("default", never()))
        .build()
        .unwrap_err();
    assert!(reserved.to_string().contains("reserved"), "{reserved}");
    let twice = ConditionalWorkflow::builder("c")
        .branch(Branch::new("a", never()))
        .branch(Branch::new("a", never()))
        .build()
        .unwrap_err();
    assert!(twice.to_string().contains("branches[1].name"), "{twice}");
    let shared_step = ConditionalWorkflow::builder("c")
        .branch(Branch::new("a", never()).step(Step::function("s", constant(json!(1)))))
        .default_step(Step::function("s", constant(json!(1))))
        .build()
        .unwrap_err();
    assert!(
        shared_step.to_string().contains("default[0].name"),
        "{shared_step}"
    );
}
