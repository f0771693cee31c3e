//! `webhook_caller` against a receiver on 127.0.0.1 that verifies the
//! signature and fails as told, through the hooked registry: 5xx answers
//! and timeouts are retried with one idempotency key and a valid signature
//! on every attempt; 4xx answers are not; a secret not allowed is refused
//! before anything is sent; a wrong secret is caught by the receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::net::SecretEnv;
use llmspell_tools::web::WebhookCaller;
use llmspell_tools::{FsSandbox, ToolRegistry};
use net_support::{SECRET_VAR, client, registry};
use serde_json::{Value, json};

async fn call(tools: &ToolRegistry, params: Value) -> Result<Value, Error> {
    tools
        .invoke("webhook_caller", params, &ExecutionContext::native())
        .await
}

fn statuses(out: &Value) -> Vec<Value> {
    out["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect()
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_signed_delivery_three_times() {
    assert!(
        std::env::var(SECRET_VAR).is_ok(),
        "cargo sets {SECRET_VAR} for tests"
    );
    let server = net_support::start().await;
    server.script_webhook(&[500, 503]);
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    // A hook gives every delivery of this workflow its idempotency key.
    let _handle = hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            let mut params = c.data.clone();
            params["idempotency_key"] = json!("order-7-shipped");
            Ok(HookResult::Modified(params))
        }),
    );
    let out = call(
        &tools,
        json!({
            "url": server.url("/webhook"),
            "payload": { "event": "order.shipped", "order_id": 7 },
            "secret_env": SECRET_VAR,
            "max_retries": 3,
            "initial_backoff_ms": 20,
            "max_backoff_ms": 1000
        }),
    )
    .await
    .unwrap();
    assert_eq!(out["delivered"], true, "{out}");
    assert_eq!(out["status"], 200);
    assert_eq!(statuses(&out), [json!(500), json!(503), json!(200)]);
    let waits: Vec<&Value> = out["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["retry_in_ms"])
        .collect();
    assert_eq!(waits, [&json!(20), &json!(40), &Value::Null]);
    assert_eq!(out["waited_ms"], 60);
    assert_eq!(out["signed"], true);
    assert_eq!(out["idempotency_key"], "order-7-shipped");
    assert_eq!(out["response"], json!({ "received": true }));

    let deliveries = server.deliveries();
    assert_eq!(deliveries.len(), 3);
    for (i, d) in deliveries.iter().enumerate() {
        assert!(
            d.signature_valid,
            "attempt {} was not validly signed",
            i + 1
        );
        assert_eq!(d.idempotency_key, "order-7-shipped");
        assert_eq!(d.attempt, (i + 1).to_string());
        assert_eq!(d.body, json!({ "event": "order.shipped", "order_id": 7 }));
    }
}

#[tokio::test]
async fn client_errors_are_not_retried_and_server_errors_until_the_limit() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    server.script_webhook(&[422]);
    let out = call(
        &tools,
        json!({ "url": server.url("/webhook"), "payload": {}, "secret_env": SECRET_VAR, "initial_backoff_ms": 1 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["delivered"].clone(), out["status"].clone()),
        (json!(false), json!(422))
    );
    assert_eq!(statuses(&out), [json!(422)]);

    server.script_webhook(&[500, 502, 504]);
    let out = call(
        &tools,
        json!({ "url": server.url("/webhook"), "payload": {}, "max_retries": 2, "initial_backoff_ms": 1 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["delivered"].clone(), out["status"].clone()),
        (json!(false), json!(504))
    );
    assert_eq!(statuses(&out), [json!(500), json!(502), json!(504)]);
    assert_eq!(server.deliveries().len(), 4);
    // Unsigned without a secret: the receiver saw no signature.
    assert_eq!(out["signed"], false);
    assert!(!server.deliveries()[1].signature_valid);
}

#[tokio::test]
async fn timeouts_are_retried_and_reported() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let started = Instant::now();
    let out = call(
        &tools,
        json!({
            "url": server.url("/slow"), "payload": { "n": 1 },
            "timeout_ms": 200, "max_retries": 2, "initial_backoff_ms": 10
        }),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        (out["delivered"].clone(), out["status"].clone()),
        (json!(false), Value::Null)
    );
    let attempts = out["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    for a in attempts {
        assert!(
            a["error"]
                .as_str()
                .unwrap()
                .contains("timed out after 200 ms"),
            "{a}"
        );
    }
    // Connection failures are retried too.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = call(
        &tools,
        json!({ "url": format!("http://127.0.0.1:{port}/webhook"), "payload": {}, "max_retries": 1, "initial_backoff_ms": 1 }),
    )
    .await
    .unwrap();
    assert_eq!(out["attempts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn answers_other_than_2xx_or_5xx_end_the_call() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    // A redirect is not followed, nor retried.
    let out = call(
        &tools,
        json!({ "url": server.url("/redirect/loop"), "payload": {} }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["delivered"].clone(), statuses(&out)),
        (json!(false), vec![json!(302)])
    );
    // A body that is not JSON, or too long to keep, does not change a 2xx.
    let out = call(
        &tools,
        json!({ "url": server.url("/bad-json"), "payload": {} }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["delivered"].clone(), out["response"].clone()),
        (json!(true), json!("{\"unterminated\": "))
    );
    let out = call(&tools, json!({ "url": server.url("/big"), "payload": {} }))
        .await
        .unwrap();
    assert_eq!(
        (out["delivered"].clone(), out["response"].clone()),
        (json!(true), Value::Null)
    );
}

#[tokio::test]
async fn secrets_are_allowed_by_name_and_checked_by_the_receiver() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    match call(
        &tools,
        json!({ "url": server.url("/webhook"), "payload": {}, "secret_env": "HOME" }),
    )
    .await
    {
        Err(Error::SecurityViolation { message }) => {
            assert!(
                message.contains("`HOME`") && message.contains("secret_env"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        server.deliveries().is_empty(),
        "nothing is sent with a refused secret"
    );

    // Signed with another variable's value: the receiver refuses with 401,
    // which is not retried.
    let runner = GuardedRunner::new(HookExecutor::builder(HookRegistry::new()).build());
    let tools = ToolRegistry::new(runner);
    tools
        .register(Arc::new(WebhookCaller::new(
            client(),
            SecretEnv::new(["CARGO_PKG_VERSION"]),
        )))
        .unwrap();
    let out = call(
        &tools,
        json!({ "url": server.url("/webhook"), "payload": {}, "secret_env": "CARGO_PKG_VERSION" }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["delivered"].clone(), statuses(&out)),
        (json!(false), vec![json!(401)])
    );
    assert!(!server.deliveries()[0].signature_valid);

    for (params, field) in [
        (
            json!({ "url": server.url("/webhook"), "payload": {}, "max_retries": 11 }),
            "max_retries",
        ),
        (
            json!({ "url": server.url("/webhook"), "payload": {}, "max_backoff_ms": 60001 }),
            "max_backoff_ms",
        ),
        (
            json!({ "url": server.url("/webhook"), "payload": {}, "idempotency_key": "a\nb" }),
            "idempotency_key",
        ),
    ] {
        match call(&registry(&client(), FsSandbox::deny_all()).1, params).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}
