//! Correlation traces recorded by the guarded runner and the executor:
//! nesting by correlation and parent ids, parallel operations of one id,
//! retries and redirects, bounds, abandoned operations, and traces rebuilt
//! from span events of more than one process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, CorrelationId, ExecutionContext};
use llmspell_events::{EventBus, EventQuery, EventStore, PersistenceConfig};
use llmspell_hooks::trace::{Span, SpanOutcome};
use llmspell_hooks::{
    GuardPoints, GuardSpec, GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult,
    TRACE_TOPIC, Trace, TraceRecorder, sync_hook_fn,
};
use llmspell_storage::MemoryBackend;
use serde_json::{Value, json};

fn runner(registry: &HookRegistry, capacity: usize) -> (GuardedRunner, TraceRecorder) {
    let traces = TraceRecorder::new(capacity);
    let executor = HookExecutor::builder(registry.clone())
        .traces(traces.clone())
        .build();
    (GuardedRunner::new(executor), traces)
}

fn tool(name: &str) -> GuardSpec {
    GuardSpec::new(ComponentId::tool(name), GuardPoints::tool())
}

fn id(text: &str) -> CorrelationId {
    CorrelationId::new(text).unwrap()
}

fn ok(v: Value) -> llmspell_core::Result<Value> {
    Ok(v)
}

#[tokio::test]
async fn operations_nest_by_their_ids_and_hooks_land_in_their_operation() {
    let registry = HookRegistry::new();
    registry
        .register(
            HookPoint::BeforeToolExecution,
            sync_hook_fn(|ctx| {
                Ok(if ctx.component.name.as_ref() == "inner" {
                    HookResult::Modified(json!({ "x": 2 }))
                } else {
                    HookResult::Continue
                })
            }),
        )
        .forget();
    let (runner, traces) = runner(&registry, 8);
    let root = ExecutionContext::native().with_correlation_id(id("root-1"));
    let child = root.child();
    let r = runner.clone();
    let out = runner
        .run(&tool("outer"), &root, json!({}), |_| {
            let (r, child) = (r.clone(), child.clone());
            async move {
                let inner = r
                    .run(&tool("inner"), &child, json!({ "x": 1 }), |c| async move {
                        ok(c.input)
                    })
                    .await?;
                ok(inner.output)
            }
        })
        .await
        .unwrap();
    assert_eq!(out.output, json!({ "x": 2 }));
    let trace = traces
        .trace(&CorrelationId::new("root-1").unwrap())
        .unwrap();
    assert_eq!(trace.spans.len(), 2);
    let outer = trace.roots().next().unwrap();
    assert_eq!(outer.label(), "tool:outer");
    let inner: Vec<&Span> = trace.children(outer.id).collect();
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].correlation_id, child.correlation_id);
    assert_eq!(
        inner[0].hooks.len(),
        1,
        "the inner call's own Before firing"
    );
    assert_eq!(inner[0].hooks[0].action.as_deref(), Some("modified"));
    assert_eq!(outer.hooks.len(), 1, "only the outer's Before hook");
    // The child's own id finds the same trace.
    assert_eq!(traces.trace(&child.correlation_id).unwrap().id, trace.id);
}

#[tokio::test]
async fn parallel_operations_of_one_id_each_get_their_own_hooks() {
    let registry = HookRegistry::new();
    registry
        .register(
            HookPoint::BeforeToolExecution,
            sync_hook_fn(|_| Ok(HookResult::Continue)),
        )
        .forget();
    let (runner, traces) = runner(&registry, 8);
    let exec = ExecutionContext::native().with_correlation_id(id("par-1"));
    let a = tool("a");
    let b = tool("b");
    let slow = |ms: u64| {
        move |c: llmspell_hooks::OperationCall| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ok(c.input)
        }
    };
    let (x, y) = tokio::join!(
        runner.run(&a, &exec, json!(1), slow(30)),
        runner.run(&b, &exec, json!(2), slow(10)),
    );
    x.unwrap();
    y.unwrap();
    let trace = traces.trace(&CorrelationId::new("par-1").unwrap()).unwrap();
    assert_eq!(trace.spans.len(), 2);
    for s in &trace.spans {
        assert_eq!(s.hooks.len(), 1, "{}: one Before firing", s.label());
        assert!(s.parent.is_none(), "siblings, not nested");
    }
    let analysis = trace.analyse(5);
    assert_eq!(
        analysis.critical_path[0].label, "tool:a",
        "the one that ended last"
    );
}

#[tokio::test]
async fn retries_redirects_and_cancels_are_reported() {
    let registry = HookRegistry::new();
    registry
        .register(
            HookPoint::BeforeToolExecution,
            sync_hook_fn(|ctx| {
                Ok(match (ctx.component.name.as_ref(), ctx.attempt) {
                    ("flaky", 1) => HookResult::Retry {
                        delay: Duration::ZERO,
                        max_attempts: 3,
                    },
                    ("old", _) => HookResult::Redirect("new".into()),
                    ("banned", _) => HookResult::Cancel("not allowed".into()),
                    _ => HookResult::Continue,
                })
            }),
        )
        .forget();
    let (runner, traces) = runner(&registry, 8);
    let exec = ExecutionContext::native().with_correlation_id(id("ops-1"));
    let r = runner.clone();
    let e = exec.clone();
    runner
        .run(&tool("driver"), &exec, json!({}), move |_| {
            let (r, e) = (r.clone(), e.clone());
            async move {
                r.run(&tool("flaky"), &e.child(), json!({}), |c| async move {
                    ok(c.input)
                })
                .await?;
                r.run(&tool("old"), &e.child(), json!({}), |c| async move {
                    ok(json!(c.target.as_ref()))
                })
                .await?;
                let refused = r
                    .run(&tool("banned"), &e.child(), json!({}), |c| async move {
                        ok(c.input)
                    })
                    .await;
                assert!(refused.is_err());
                ok(json!("done"))
            }
        })
        .await
        .unwrap();
    let trace = traces.trace(&CorrelationId::new("ops-1").unwrap()).unwrap();
    let a = trace.analyse(5);
    assert_eq!(a.retries.len(), 1);
    assert_eq!(a.retries[0].label, "tool:flaky");
    assert_eq!(a.retries[0].attempts, 2);
    assert_eq!(a.redirects.len(), 1);
    assert_eq!(a.redirects[0].to, "new");
    let actions: Vec<(&str, &str)> = a
        .decisions
        .iter()
        .map(|d| (d.operation.as_str(), d.action.as_deref().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("tool:flaky", "retry"),
            ("tool:old", "redirect"),
            ("tool:banned", "cancel")
        ],
        "every non-continue action, in the order they ran"
    );
    let banned = trace
        .spans
        .iter()
        .find(|s| &*s.component == "banned")
        .unwrap();
    assert_eq!(banned.outcome, SpanOutcome::Cancelled);
}

#[tokio::test]
async fn the_recorder_is_bounded_and_marks_abandoned_operations() {
    let registry = HookRegistry::new();
    let (runner, traces) = runner(&registry, 3);
    for i in 0..5 {
        let exec = ExecutionContext::native().with_correlation_id(id(&format!("t-{i}")));
        runner
            .run(
                &tool("calc"),
                &exec,
                json!(i),
                |c| async move { ok(c.input) },
            )
            .await
            .unwrap();
    }
    assert_eq!(traces.len(), 3);
    assert!(traces.trace(&CorrelationId::new("t-0").unwrap()).is_none());
    let recent: Vec<String> = traces
        .recent(10)
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(recent, ["t-4", "t-3", "t-2"]);

    // A caller that stops waiting leaves an abandoned span, not a running one.
    let exec = ExecutionContext::native().with_correlation_id(id("gone"));
    let never = tool("never");
    let fut = runner.run(&never, &exec, json!({}), |_| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        ok(json!(null))
    });
    let _ = tokio::time::timeout(Duration::from_millis(10), fut).await;
    let trace = traces.trace(&CorrelationId::new("gone").unwrap()).unwrap();
    assert_eq!(trace.spans[0].outcome, SpanOutcome::Abandoned);
}

#[tokio::test]
async fn spans_persist_as_events_and_join_across_processes() {
    // "Process A" runs the root; "process B" (another recorder, another
    // executor) runs a child whose context carried the trace id and parent.
    let bus = EventBus::new();
    let store = EventStore::new(Arc::new(MemoryBackend::new()));
    let persistence = bus
        .persist(
            store.clone(),
            PersistenceConfig::new([TRACE_TOPIC]).unwrap(),
        )
        .unwrap();
    let make = || {
        let executor = HookExecutor::builder(HookRegistry::new())
            .bus(bus.clone())
            .traces(TraceRecorder::new(4))
            .build();
        GuardedRunner::new(executor)
    };
    let (a, b) = (make(), make());
    let root = ExecutionContext::native().with_correlation_id(id("x-1"));
    let remote = serde_json::to_string(&root.child()).unwrap();
    a.run(&tool("front"), &root, json!({}), |_| {
        let b = b.clone();
        let remote = remote.clone();
        async move {
            // What crossed the wire: the child's execution context.
            let there: ExecutionContext = serde_json::from_str(&remote).unwrap();
            b.run(
                &tool("back"),
                &there,
                json!({}),
                |c| async move { ok(c.input) },
            )
            .await?;
            ok(json!({}))
        }
    })
    .await
    .unwrap();
    persistence.flush().await.unwrap();
    let stored = store
        .query(&EventQuery::new().pattern(TRACE_TOPIC).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let trace = Trace::load(&store, &CorrelationId::new("x-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    let front = trace.roots().next().unwrap();
    assert_eq!(front.label(), "tool:front");
    let back: Vec<&Span> = trace.children(front.id).collect();
    assert_eq!(back.len(), 1, "the other process's span joined the tree");
    assert_eq!(back[0].label(), "tool:back");
    // Found by the child's own id too.
    let by_child = Trace::load(&store, &back[0].correlation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_child.id.to_string(), "x-1");
    // A span event that does not decode is an error naming it.
    let mut bad = stored[0].clone();
    bad.data = json!({ "id": "nope" });
    let e = Trace::from_events(bad.metadata.correlation_id.clone().unwrap(), [&bad]).unwrap_err();
    assert!(e.to_string().contains("is not a span"), "{e}");
    persistence.shutdown().await.unwrap();
}
