//! Guarded operations and hook firings are spans under
//! `TELEMETRY_TARGET`, parented by correlation ids even when a call crosses
//! tasks or threads, and nothing is recorded while no subscriber wants them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llmspell_core::{ComponentId, Error, ExecutionContext};
use llmspell_hooks::{
    GuardPoints, GuardSpec, GuardedRunner, HookExecutor, HookOptions, HookPoint, HookRegistry,
    HookResult, TELEMETRY_TARGET, sync_hook_fn,
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as the recorder saw it.
#[derive(Debug, Clone)]
struct Recorded {
    seq: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

impl Recorded {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// Records every span it sees, with its parent (span ids are reused, so
/// each span gets a sequence number of its own).
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<Recorded>>>,
    next: Arc<AtomicU64>,
}

struct Seq(u64);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Seq>().map(|s| s.0));
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        span.extensions_mut().insert(Seq(seq));
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.spans.lock().push(Recorded {
            seq,
            name: attrs.metadata().name(),
            parent,
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let Some(seq) = span.extensions().get::<Seq>().map(|s| s.0) else {
            return;
        };
        let mut spans = self.spans.lock();
        let recorded = spans.iter_mut().find(|r| r.seq == seq).unwrap();
        values.record(&mut Fields(&mut recorded.fields));
    }
}

/// One recording subscriber at a time: tracing caches each callsite's
/// interest over every live subscriber, so subscribers of concurrent tests
/// with different filters would blur each other's (a process has one).
static ONE_SUBSCRIBER: Mutex<()> = Mutex::new(());

/// Runs `f` on a current-thread runtime with a subscriber that records the
/// spans of `target`; returns what it recorded.
fn traced<F, Fut>(target: &str, f: F) -> Vec<Recorded>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = ONE_SUBSCRIBER.lock();
    let recorder = Recorder::default();
    let filter = Targets::new().with_target(target, Level::TRACE);
    let dispatch =
        Dispatch::new(tracing_subscriber::registry().with(recorder.clone().with_filter(filter)));
    tracing::dispatcher::with_default(&dispatch, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    });
    recorder.spans.lock().clone()
}

fn operation<'a>(spans: &'a [Recorded], kind: &str, name: &str) -> &'a Recorded {
    spans
        .iter()
        .find(|s| {
            s.name == "llmspell.operation"
                && s.field("operation") == kind
                && s.field("component.name") == name
        })
        .unwrap_or_else(|| panic!("no {kind} {name} span in {spans:#?}"))
}

fn hook<'a>(spans: &'a [Recorded], name: &str) -> &'a Recorded {
    spans
        .iter()
        .find(|s| s.name == "llmspell.hook" && s.field("hook") == name)
        .unwrap_or_else(|| panic!("no hook {name} span in {spans:#?}"))
}

fn runner_with_audit() -> (GuardedRunner, llmspell_hooks::HookHandle) {
    let registry = HookRegistry::new();
    let handle = registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(sync_hook_fn(|_| Ok(HookResult::Continue))),
            HookOptions::new().name("audit"),
        )
        .unwrap();
    (GuardedRunner::new(HookExecutor::new(registry)), handle)
}

async fn call_tool(runner: &GuardedRunner, exec: &ExecutionContext) -> Value {
    let spec = GuardSpec::new(ComponentId::tool("calculator"), GuardPoints::tool());
    runner
        .run(&spec, exec, json!({ "expression": "1+1" }), |_| async {
            Ok(json!(2))
        })
        .await
        .unwrap()
        .output
}

#[test]
fn a_tool_called_from_another_thread_is_the_child_of_the_agent_that_called_it() {
    let (runner, _audit) = runner_with_audit();
    let spans = traced(TELEMETRY_TARGET, || async {
        let agent = GuardSpec::new(ComponentId::agent("helper"), GuardPoints::agent());
        let exec = ExecutionContext::native();
        let dispatch = tracing::dispatcher::get_default(Dispatch::clone);
        runner
            .run(&agent, &exec, json!({}), |_| {
                let (runner, exec, dispatch) = (runner.clone(), exec.clone(), dispatch.clone());
                async move {
                    // As a script engine's thread calls back into the host:
                    // no current span there.
                    let out = std::thread::spawn(move || {
                        tracing::dispatcher::with_default(&dispatch, || {
                            tokio::runtime::Builder::new_current_thread()
                                .build()
                                .unwrap()
                                .block_on(call_tool(&runner, &exec.child()))
                        })
                    })
                    .join()
                    .unwrap();
                    Ok(out)
                }
            })
            .await
            .unwrap();
    });
    let agent = operation(&spans, "agent", "helper");
    let tool = operation(&spans, "tool", "calculator");
    let audit = hook(&spans, "audit");
    assert_eq!(agent.parent, None);
    assert_eq!(tool.parent, Some(agent.seq), "{spans:#?}");
    assert_eq!(tool.field("parent_id"), agent.field("correlation_id"));
    assert_eq!(audit.parent, Some(tool.seq), "{spans:#?}");
    assert_eq!(audit.field("point"), "BeforeToolExecution");
    assert_eq!(audit.field("action"), "continue");
    assert_eq!(audit.field("failed"), "false");
    assert_eq!(audit.field("skipped"), "false");
    assert!(
        audit.field("latency_us").parse::<u64>().is_ok(),
        "{audit:?}"
    );
    for op in [agent, tool] {
        assert_eq!(op.field("outcome"), "ok");
        assert_eq!(op.field("attempts"), "1");
    }
    assert_eq!(tool.field("component.kind"), "tool");
}

#[test]
fn a_workflow_step_runs_inside_its_workflow_and_what_it_calls_inside_the_step() {
    let (runner, _audit) = runner_with_audit();
    let spans = traced(TELEMETRY_TARGET, || async {
        let workflow = GuardSpec::new(ComponentId::workflow("pipeline"), GuardPoints::workflow());
        let step = GuardSpec::with_prefix(
            workflow.component().clone(),
            GuardPoints::workflow_stage(),
            "step.compute",
        );
        let exec = ExecutionContext::native();
        let (runner, step, exec) = (&runner, &step, &exec);
        runner
            .run(&workflow, exec, json!({}), |_| async move {
                // A step shares the workflow's context; what it calls is a
                // child, here on another task.
                runner
                    .run(step, exec, json!({}), |_| async move {
                        let (runner, exec) = (runner.clone(), exec.child());
                        let tool = tokio::spawn(async move { call_tool(&runner, &exec).await });
                        Ok(tool.await.unwrap())
                    })
                    .await
                    .map(|o| o.output)
            })
            .await
            .unwrap();
    });
    let workflow = operation(&spans, "workflow", "pipeline");
    let step = operation(&spans, "workflow_step", "pipeline");
    let tool = operation(&spans, "tool", "calculator");
    assert_eq!(step.parent, Some(workflow.seq), "{spans:#?}");
    assert_eq!(step.field("component.part"), "step.compute");
    assert_eq!(
        step.field("correlation_id"),
        workflow.field("correlation_id")
    );
    assert_eq!(tool.parent, Some(step.seq), "{spans:#?}");
    assert_eq!(hook(&spans, "audit").parent, Some(tool.seq));
}

#[test]
fn parallel_steps_keep_their_own_children() {
    let (runner, _audit) = runner_with_audit();
    let spans = traced(TELEMETRY_TARGET, || async {
        let workflow = GuardSpec::new(ComponentId::workflow("fan"), GuardPoints::workflow());
        let step = |name: &str| {
            GuardSpec::with_prefix(
                workflow.component().clone(),
                GuardPoints::workflow_stage(),
                &format!("step.{name}"),
            )
        };
        let (left, right) = (step("left"), step("right"));
        let exec = ExecutionContext::native();
        let (runner, exec) = (&runner, &exec);
        let branch = |spec: &'static str, step: &GuardSpec| {
            let step = step.clone();
            async move {
                runner
                    .run(&step, exec, json!({}), |_| async move {
                        tokio::task::yield_now().await;
                        let tool = GuardSpec::new(ComponentId::tool(spec), GuardPoints::tool());
                        runner
                            .run(&tool, &exec.child(), json!({}), |_| async { Ok(json!(1)) })
                            .await
                            .map(|o| o.output)
                    })
                    .await
                    .unwrap()
            }
        };
        runner
            .run(&workflow, exec, json!({}), |_| {
                let (l, r) = (branch("left_tool", &left), branch("right_tool", &right));
                async move {
                    let (a, b) = futures::join!(l, r);
                    Ok(json!([a.output, b.output]))
                }
            })
            .await
            .unwrap();
    });
    let part = |p: &str| {
        spans
            .iter()
            .find(|s| s.field("component.part") == p)
            .unwrap()
            .seq
    };
    assert_eq!(
        operation(&spans, "tool", "left_tool").parent,
        Some(part("step.left"))
    );
    assert_eq!(
        operation(&spans, "tool", "right_tool").parent,
        Some(part("step.right"))
    );
}

#[test]
fn the_operation_span_says_how_it_ended() {
    let registry = HookRegistry::new();
    let tries = Arc::new(AtomicU64::new(0));
    let seen = tries.clone();
    let _hooks = [
        registry
            .register_with(
                HookPoint::BeforeToolExecution,
                Arc::new(sync_hook_fn(|ctx| {
                    Ok(match ctx.component.name.as_ref() {
                        "forbidden" => HookResult::Cancel("not allowed".into()),
                        "cached" => HookResult::Cache {
                            key: "k".into(),
                            ttl: Duration::from_secs(60),
                        },
                        _ => HookResult::Continue,
                    })
                })),
                HookOptions::new().name("policy"),
            )
            .unwrap(),
        registry
            .register_with(
                HookPoint::ToolError,
                Arc::new(sync_hook_fn(move |ctx| {
                    Ok(
                        if ctx.component.name.as_ref() == "flaky"
                            && seen.load(Ordering::Relaxed) < 2
                        {
                            HookResult::Retry {
                                delay: Duration::ZERO,
                                max_attempts: 3,
                            }
                        } else {
                            HookResult::Continue
                        },
                    )
                })),
                HookOptions::new().name("retrier"),
            )
            .unwrap(),
    ];
    let runner = GuardedRunner::new(HookExecutor::new(registry));
    let spans = traced(TELEMETRY_TARGET, || async {
        let exec = ExecutionContext::native();
        let run = |name: &'static str| {
            let spec = GuardSpec::new(ComponentId::tool(name), GuardPoints::tool());
            let (runner, exec, tries) = (&runner, &exec, &tries);
            async move {
                runner
                    .run(&spec, exec, json!({}), |_| async move {
                        match name {
                            "broken" => Err(Error::other("it broke")),
                            "flaky" if tries.fetch_add(1, Ordering::Relaxed) < 1 => {
                                Err(Error::other("not yet"))
                            }
                            _ => Ok(json!(1)),
                        }
                    })
                    .await
            }
        };
        assert!(run("forbidden").await.is_err());
        assert!(run("broken").await.is_err());
        run("cached").await.unwrap();
        assert!(run("cached").await.unwrap().cache_hit);
        assert_eq!(run("flaky").await.unwrap().attempts, 2);
    });
    let ended = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == "llmspell.operation" && s.field("component.name") == name)
            .map(|s| (s.field("outcome"), s.field("attempts")))
            .collect::<Vec<_>>()
    };
    assert_eq!(ended("forbidden"), [("cancelled", "1")]);
    assert_eq!(ended("broken"), [("error", "1")]);
    assert_eq!(ended("cached"), [("ok", "1"), ("cached", "1")]);
    assert_eq!(ended("flaky"), [("ok", "2")]);
    let broken = operation(&spans, "tool", "broken");
    assert!(broken.field("error").contains("it broke"), "{broken:?}");
    assert_eq!(broken.field("otel.status_code"), "error");
    let cancel = spans
        .iter()
        .find(|s| s.name == "llmspell.hook" && s.field("action") == "cancel")
        .unwrap();
    assert_eq!(
        cancel.parent,
        Some(operation(&spans, "tool", "forbidden").seq)
    );
}

#[test]
fn nothing_is_recorded_and_runs_stay_passthrough_while_no_subscriber_wants_the_target() {
    let registry = HookRegistry::new();
    let runner = GuardedRunner::new(HookExecutor::new(registry.clone()));
    let spec = GuardSpec::new(ComponentId::tool("calculator"), GuardPoints::tool());
    assert!(runner.is_passthrough(&spec));
    let audit = registry.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|_| Ok(HookResult::Continue)),
    );
    let spans = traced("some_other_target", || async {
        assert!(!tracing::enabled!(target: TELEMETRY_TARGET, Level::TRACE));
        call_tool(&runner, &ExecutionContext::native()).await;
    });
    assert!(spans.is_empty(), "{spans:#?}");
    drop(audit);
    let passthrough = std::cell::Cell::new(false);
    let spans = traced(TELEMETRY_TARGET, || async {
        passthrough.set(runner.is_passthrough(&spec));
        call_tool(&runner, &ExecutionContext::native()).await;
    });
    assert!(!passthrough.get(), "a recorded run is not a pass-through");
    assert_eq!(
        operation(&spans, "tool", "calculator").field("outcome"),
        "ok"
    );
}
