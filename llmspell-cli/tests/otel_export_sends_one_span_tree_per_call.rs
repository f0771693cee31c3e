//! `llmspell run --otel-endpoint URL` sends each guarded operation and each
//! hook firing to an OTLP/HTTP collector as spans: a workflow, its step, the
//! agent the step calls, the tool the agent calls and the hook on that tool
//! form one trace, each the child of the one before. Without the flag
//! nothing is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tempfile::TempDir;

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// An OTLP/HTTP receiver on a free loopback port: it decodes every
/// `POST /v1/traces` and keeps the requests.
struct Collector {
    url: String,
    received: Received,
    _runtime: tokio::runtime::Runtime,
}

impl Collector {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = Received::default();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state(received.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            received,
            _runtime: runtime,
        }
    }

    /// Every span received, with the service name it came under.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut spans = Vec::new();
        for request in self.received.lock().unwrap().iter() {
            for resource in &request.resource_spans {
                let service = resource
                    .resource
                    .as_ref()
                    .and_then(|r| text(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for scope in &resource.scope_spans {
                    for span in &scope.spans {
                        spans.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        spans
    }
}

async fn receive(State(received): State<Received>, body: Bytes) -> Response {
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            received.lock().unwrap().push(request);
            (
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
                .into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// An attribute as text (strings as they are, numbers and booleans printed).
fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()
        .and_then(|v: &AnyValue| v.value.as_ref())?;
    Some(match value {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

fn attr(span: &Span, key: &str) -> String {
    text(&span.attributes, key).unwrap_or_default()
}

fn llmspell(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .expect("the llmspell binary runs")
}

const SCRIPT: &str = r#"
Hook.register("BeforeToolExecution", function(ctx) end, { name = "audit" })
local helper = Agent.create({ name = "helper", handler = function(input, agent)
  return agent:invoke_tool("calculator", { expression = "1+1" })
end })
local pipeline = Workflow.sequential({ name = "pipeline", steps = {
  { name = "compute", agent = helper, input = { n = 1 } },
} })
local out = pipeline:execute({})
print(out.outputs.compute.result, Tool.invoke("calculator", { expression = "2+2" }).result)
"#;

/// The one span of `found`.
fn one<'a>(found: Vec<&'a Span>, spans: &[&Span]) -> &'a Span {
    assert_eq!(found.len(), 1, "{spans:#?}");
    found[0]
}

/// Asserts that `child` is the child of `parent` in the same trace.
fn assert_child(child: &Span, parent: &Span, spans: &[&Span]) {
    assert_eq!(child.trace_id, parent.trace_id, "one trace: {spans:#?}");
    assert_eq!(
        child.parent_span_id, parent.span_id,
        "{} under {}: {spans:#?}",
        child.name, parent.name
    );
}

#[test]
fn a_workflow_step_agent_tool_and_hook_are_one_trace() {
    let collector = Collector::start();
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("pipeline.lua"), SCRIPT).unwrap();
    let out = llmspell(
        &[
            "run",
            "--storage",
            "memory",
            "--no-persist",
            "--otel-endpoint",
            &collector.url,
            "pipeline.lua",
        ],
        dir.path(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2\t4");

    // Everything was sent before the process ended.
    let received = collector.spans();
    assert!(
        received.iter().all(|(service, _)| service == "llmspell"),
        "{received:#?}"
    );
    let spans: Vec<&Span> = received.iter().map(|(_, s)| s).collect();
    for span in &spans {
        let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "each attribute once: {span:#?}");
    }
    let operation = |kind: &str, name: &str| -> Vec<&Span> {
        spans
            .iter()
            .copied()
            .filter(|s| {
                s.name == "llmspell.operation"
                    && attr(s, "operation") == kind
                    && attr(s, "component.name") == name
            })
            .collect()
    };
    let workflow = one(operation("workflow", "pipeline"), &spans);
    let step = one(operation("workflow_step", "pipeline"), &spans);
    let agent = one(operation("agent", "helper"), &spans);
    let tools = operation("tool", "calculator");
    assert_eq!(tools.len(), 2, "{spans:#?}");
    let (called, direct): (Vec<&Span>, Vec<&Span>) = tools
        .into_iter()
        .partition(|t| t.parent_span_id == agent.span_id);
    let (called, direct) = (one(called, &spans), one(direct, &spans));

    assert!(workflow.parent_span_id.is_empty(), "a root: {workflow:#?}");
    assert_child(step, workflow, &spans);
    assert_eq!(attr(step, "component.part"), "step.compute");
    assert_child(agent, step, &spans);
    assert_child(called, agent, &spans);
    assert_eq!(attr(called, "parent_id"), attr(agent, "correlation_id"));
    for op in [workflow, step, agent, called, direct] {
        assert_eq!(attr(op, "outcome"), "ok", "{op:#?}");
        assert_eq!(attr(op, "attempts"), "1", "{op:#?}");
    }

    // The hook on each tool call is a child of that call's span.
    let hooks: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| s.name == "llmspell.hook")
        .collect();
    assert_eq!(hooks.len(), 2, "{spans:#?}");
    for tool in [called, direct] {
        let hook = hooks
            .iter()
            .find(|h| h.parent_span_id == tool.span_id)
            .unwrap_or_else(|| panic!("no hook under {tool:#?} in {hooks:#?}"));
        assert_eq!(hook.trace_id, tool.trace_id);
        assert_eq!(attr(hook, "point"), "BeforeToolExecution");
        assert_eq!(attr(hook, "hook"), "audit");
        assert_eq!(attr(hook, "hook.language"), "lua");
        assert_eq!(attr(hook, "action"), "continue");
        assert_eq!(attr(hook, "failed"), "false");
        assert_eq!(attr(hook, "skipped"), "false");
        assert!(attr(hook, "latency_us").parse::<u64>().is_ok(), "{hook:#?}");
    }
    // A tool called from the script itself starts a trace of its own.
    assert!(direct.parent_span_id.is_empty(), "{direct:#?}");
    assert_ne!(direct.trace_id, workflow.trace_id);
}

#[test]
fn without_the_flag_nothing_is_sent_even_with_the_otlp_environment_set() {
    let collector = Collector::start();
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("pipeline.lua"), SCRIPT).unwrap();
    let out = llmspell(
        &["run", "--storage", "memory", "--no-persist", "pipeline.lua"],
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url),
            ("OTEL_TRACES_EXPORTER", "otlp"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(collector.spans().is_empty());
}

#[test]
fn an_endpoint_that_is_not_an_http_url_is_refused_before_anything_runs() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("ran.lua"), "print('ran')").unwrap();
    let out = llmspell(
        &[
            "run",
            "--storage",
            "memory",
            "--otel-endpoint",
            "127.0.0.1:4318",
            "ran.lua",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--otel-endpoint") && err.contains("http://HOST:PORT"),
        "{err}"
    );
}

#[test]
fn spans_a_collector_does_not_take_are_reported_and_the_run_still_succeeds() {
    // A loopback port nobody listens on: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("tool.lua"),
        r#"print(Tool.invoke("calculator", { expression = "1+1" }).result)"#,
    )
    .unwrap();
    let out = llmspell(
        &[
            "run",
            "--storage",
            "memory",
            "--no-persist",
            "--otel-endpoint",
            &url,
            "tool.lua",
        ],
        dir.path(),
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    assert!(
        err.contains("span(s) could not be sent to") && err.contains(&url),
        "{err}"
    );
}
