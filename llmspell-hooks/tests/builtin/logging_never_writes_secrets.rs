//! LoggingHook: structured events, field filters, levels, and redaction
//! before anything reaches a subscriber.

use std::io::Write;
use std::sync::Arc;

use llmspell_core::Error;
use llmspell_hooks::builtin::{LogField, LoggingHook};
use llmspell_hooks::{HookPoint, TELEMETRY_TARGET};
use parking_lot::Mutex;
use serde_json::json;
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer, SubscriberExt};

use crate::fixture::Fixture;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

/// Installs a capturing subscriber for this thread at `max` level. It
/// leaves out the operation and hook spans (`TELEMETRY_TARGET`), whose
/// fields are the runner's, so that what it captures is what the hook wrote.
fn capture(max: Level) -> (Capture, tracing::subscriber::DefaultGuard) {
    let cap = Capture::default();
    let writer = cap.clone();
    let filter = Targets::new()
        .with_default(max)
        .with_target(TELEMETRY_TARGET, LevelFilter::OFF);
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(filter),
    );
    let guard = tracing::subscriber::set_default(subscriber);
    (cap, guard)
}

const SECRETS: [&str; 6] = [
    "sk-live-0123456789",
    "hunter2",
    "tok-nested-XYZ",
    "Bearer meta-abc",
    "out-secret-777",
    "CamelCaseKey-555",
];

#[tokio::test]
async fn secrets_in_input_output_and_metadata_never_reach_the_subscriber() {
    let (cap, _g) = capture(Level::TRACE);
    let f = Fixture::tool("vault")
        .behaviour(|call, _| {
            Ok(json!({ "result": "ok", "Authorization": "out-secret-777", "input": call.input }))
        })
        .hook(
            HookPoint::BeforeToolExecution,
            LoggingHook::builder().build().unwrap(),
        )
        .hook(
            HookPoint::AfterToolExecution,
            LoggingHook::builder().build().unwrap(),
        );
    let ctx = f
        .ctx(json!({
            "user": "ada",
            "api_key": "sk-live-0123456789",
            "nested": { "PASSWORD": "hunter2", "list": [{ "token": "tok-nested-XYZ" }] },
            "apiKey": "CamelCaseKey-555",
        }))
        .with_metadata("authorization", "Bearer meta-abc")
        .with_metadata("tenant", "acme");
    let out = f.run_ctx(ctx).await.unwrap();
    assert_eq!(
        out.output["result"], "ok",
        "logging does not change the outcome"
    );

    let text = cap.text();
    assert!(text.contains("BeforeToolExecution"), "{text}");
    assert!(text.contains("AfterToolExecution"), "{text}");
    assert!(text.contains("tool:vault"), "{text}");
    assert!(text.contains("ada") && text.contains("acme"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked into:\n{text}");
    }
}

#[tokio::test]
async fn levels_decide_what_is_written() {
    let (cap, _g) = capture(Level::INFO);
    let f = Fixture::tool("calc")
        .failing(1, Error::execution("tool:calc", "division by zero"))
        .hook(
            HookPoint::BeforeToolExecution,
            LoggingHook::builder().level(Level::DEBUG).build().unwrap(),
        )
        .hook(
            HookPoint::ToolError,
            LoggingHook::builder().build().unwrap(),
        );
    f.run(json!({ "expr": "1/0" })).await.unwrap_err();
    let text = cap.text();
    assert!(
        !text.contains("BeforeToolExecution"),
        "DEBUG is below INFO: {text}"
    );
    assert!(text.contains("WARN"), "errors log at WARN: {text}");
    assert!(
        text.contains("ToolError") && text.contains("division by zero"),
        "{text}"
    );
}

#[tokio::test]
async fn field_filters_choose_fields_and_data_keys() {
    let (cap, _g) = capture(Level::TRACE);
    let f = Fixture::tool("files").hook(
        HookPoint::BeforeToolExecution,
        LoggingHook::builder()
            .fields([LogField::Point, LogField::Data])
            .data_keys(["path"])
            .build()
            .unwrap(),
    );
    f.run(json!({ "path": "notes.txt", "content": "private diary text" }))
        .await
        .unwrap();
    let text = cap.text();
    assert!(
        text.contains("BeforeToolExecution") && text.contains("notes.txt"),
        "{text}"
    );
    assert!(
        !text.contains("private diary text"),
        "unlisted data key logged: {text}"
    );
    assert!(
        !text.contains("tool:files"),
        "component field not selected: {text}"
    );
    assert!(
        !text.contains("correlation_id"),
        "correlation field not selected: {text}"
    );
}
