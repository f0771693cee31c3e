//! RetryHook: transient failures re-run the operation, with backoff, within
//! a bound; other failures stand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ErrorKind};
use llmspell_hooks::builtin::{Backoff, RetryHook};
use llmspell_hooks::{HookPoint, HookResult, sync_hook_fn};
use parking_lot::Mutex;
use serde_json::json;

use crate::fixture::Fixture;

fn transient() -> Error {
    Error::External {
        service: "openai".into(),
        message: "503 service unavailable".into(),
        retryable: true,
        source: None,
    }
}

fn quick(max_attempts: u32) -> RetryHook {
    RetryHook::builder()
        .max_attempts(max_attempts)
        .backoff(Backoff::new(
            Duration::from_millis(1),
            2.0,
            Duration::from_millis(5),
            0.5,
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_transient_failures_then_success_takes_three_attempts() {
    let attempts_seen = Arc::new(Mutex::new(Vec::new()));
    let seen = attempts_seen.clone();
    let retry = Arc::new(quick(5));
    let f = Fixture::tool("api")
        .failing(2, transient())
        .hook(HookPoint::ToolError, retry.clone())
        .hook(
            HookPoint::BeforeToolExecution,
            sync_hook_fn(move |ctx| {
                seen.lock().push(ctx.attempt);
                Ok(HookResult::Continue)
            }),
        );
    let out = f.run(json!({ "q": 1 })).await.unwrap();
    assert_eq!(out.attempts, 3);
    assert_eq!(out.output["call"], 3);
    assert_eq!(f.calls(), 3, "the operation really ran three times");
    assert_eq!(*attempts_seen.lock(), [1, 2, 3]);
    assert_eq!(retry.retries(), 2);
}

#[tokio::test]
async fn a_non_retryable_error_is_not_retried() {
    let f = Fixture::tool("calc")
        .failing(1, Error::execution("tool:calc", "division by zero"))
        .hook(HookPoint::ToolError, quick(5));
    let err = f.run(json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Execution);
    assert_eq!(f.calls(), 1);
    let f = Fixture::tool("api")
        .failing(
            1,
            Error::External {
                service: "openai".into(),
                message: "401 invalid api key".into(),
                retryable: false,
                source: None,
            },
        )
        .hook(HookPoint::ToolError, quick(5));
    f.run(json!({})).await.unwrap_err();
    assert_eq!(f.calls(), 1, "external errors need retryable: true");
}

#[tokio::test]
async fn max_attempts_bounds_the_retries() {
    let retry = Arc::new(quick(4));
    let f = Fixture::tool("slow")
        .failing(
            100,
            Error::Timeout {
                operation: "tool:slow".into(),
                after: Duration::from_secs(1),
            },
        )
        .hook(HookPoint::ToolError, retry.clone());
    let err = f.run(json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(f.calls(), 4);
    assert_eq!((retry.retries(), retry.gave_up()), (3, 1));
}

#[tokio::test]
async fn backoff_waits_grow_between_attempts() {
    let retry = RetryHook::builder()
        .max_attempts(3)
        .backoff(Backoff::new(
            Duration::from_millis(30),
            2.0,
            Duration::from_secs(1),
            0.0,
        ))
        .build()
        .unwrap();
    let f = Fixture::tool("api")
        .failing(2, transient())
        .hook(HookPoint::ToolError, retry);
    let started = Instant::now();
    f.run(json!({})).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "30 ms then 60 ms: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn message_patterns_extend_and_restrict_the_classifier() {
    let retry = RetryHook::builder()
        .max_attempts(3)
        .backoff(Backoff::new(
            Duration::from_millis(1),
            1.0,
            Duration::from_millis(1),
            0.0,
        ))
        .retry_on_message("(?i)connection reset")
        .never_on_message("quota exhausted")
        .build()
        .unwrap();
    let retry = Arc::new(retry);
    let f = Fixture::tool("net")
        .failing(1, Error::execution("tool:net", "Connection reset by peer"))
        .hook(HookPoint::ToolError, retry.clone());
    assert_eq!(f.run(json!({})).await.unwrap().attempts, 2);
    let f = Fixture::tool("net")
        .failing(
            1,
            Error::Storage {
                message: "quota exhausted".into(),
                source: None,
            },
        )
        .hook(HookPoint::ToolError, retry.clone());
    f.run(json!({})).await.unwrap_err();
    assert_eq!(f.calls(), 1, "a deny pattern beats the storage kind");
}
