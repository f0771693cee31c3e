//! Lifecycle events of workflows and their steps are published with the
//! workflow's correlation id and language.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixture.rs"]
mod fixture;

use std::sync::Arc;

use fixture::{Fixture, constant, failing};
use llmspell_core::{ExecutionContext, Language};
use llmspell_events::Subscription;
use llmspell_workflows::{ErrorPolicy, SequentialWorkflow, Step};
use serde_json::json;

fn drain(sub: &mut Subscription) -> Vec<Arc<llmspell_events::UniversalEvent>> {
    std::iter::from_fn(|| sub.try_recv()).collect()
}

#[tokio::test]
async fn workflow_and_step_events_share_the_correlation_id() {
    let f = Fixture::new();
    let mut sub = f.bus.subscribe("workflow.**").unwrap();
    let mut tools = f.bus.subscribe("tool.calculator.*").unwrap();
    let wf = SequentialWorkflow::builder("etl")
        .engine(f.engine.clone())
        .step(Step::function("extract", constant(json!([1, 2]))))
        .step(Step::tool("load", "calculator").input(json!({ "expression": "1 + 1" })))
        .build()
        .unwrap();
    let exec = ExecutionContext::new(Language::Lua);
    wf.run(json!({ "source": "s3" }), &exec).await.unwrap();
    let events = drain(&mut sub);
    let topics: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        topics,
        [
            "workflow.etl.started",
            "workflow.etl.step.extract.started",
            "workflow.etl.step.extract.completed",
            "workflow.etl.step.load.started",
            "workflow.etl.step.load.completed",
            "workflow.etl.completed",
        ]
    );
    for e in &events {
        assert_eq!(
            e.metadata.correlation_id,
            Some(exec.correlation_id.clone()),
            "{}",
            e.event_type
        );
        assert_eq!(e.language, Language::Lua);
    }
    assert_eq!(events[0].data["input"], json!({ "source": "s3" }));
    assert_eq!(events[2].data["output"], json!([1, 2]));
    assert_eq!(
        events[5].data["output"]["outputs"]["load"],
        json!({ "result": 2 })
    );

    let tool_events = drain(&mut tools);
    assert_eq!(
        tool_events.len(),
        2,
        "the tool call publishes its own events"
    );
    for e in &tool_events {
        assert_eq!(
            e.metadata.parent_id,
            Some(exec.correlation_id.clone()),
            "tool calls are children"
        );
    }
}

#[tokio::test]
async fn failures_publish_failed_events() {
    let f = Fixture::new();
    let mut sub = f.bus.subscribe("workflow.broken.**").unwrap();
    let wf = SequentialWorkflow::builder("broken")
        .engine(f.engine.clone())
        .step(Step::function("tolerated", failing("meh")).on_error(ErrorPolicy::Continue))
        .step(Step::function("fatal", failing("boom")))
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    assert!(wf.run(json!(null), &exec).await.is_err());
    let topics: Vec<String> = drain(&mut sub)
        .iter()
        .map(|e| e.event_type.as_str().to_owned())
        .collect();
    assert_eq!(
        topics,
        [
            "workflow.broken.started",
            "workflow.broken.step.tolerated.started",
            "workflow.broken.step.tolerated.failed",
            "workflow.broken.step.fatal.started",
            "workflow.broken.step.fatal.failed",
            "workflow.broken.failed",
        ]
    );
}

#[tokio::test]
async fn one_step_can_be_watched_by_pattern() {
    let f = Fixture::new();
    let mut sub = f.bus.subscribe("workflow.*.step.load.completed").unwrap();
    let wf = SequentialWorkflow::builder("etl")
        .engine(f.engine.clone())
        .step(Step::function("extract", constant(json!(1))))
        .step(Step::function("load", constant(json!(2))))
        .build()
        .unwrap();
    wf.run(json!(null), &ExecutionContext::native())
        .await
        .unwrap();
    let events = drain(&mut sub);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["output"], json!(2));
}
