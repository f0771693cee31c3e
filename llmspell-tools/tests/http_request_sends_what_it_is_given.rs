//! `http_request` against a server on 127.0.0.1, through the hooked
//! registry: methods, headers, query parameters and bodies reach the
//! server as given; credentials are sent as configured and kept from other
//! origins; statuses are results while timeouts, oversized bodies, bad JSON
//! and redirect loops are errors; bodies are saved inside the file-system
//! roots only; a hook can change a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult, sync_hook_fn};
use llmspell_tools::net::{NetPolicy, SafeClient};
use llmspell_tools::{FsSandbox, ToolRegistry};
use net_support::{SECRET_VAR, client, limits, registry};
use serde_json::{Value, json};

async fn http(tools: &ToolRegistry, params: Value) -> Result<Value, Error> {
    tools
        .invoke("http_request", params, &ExecutionContext::native())
        .await
}

fn tools() -> ToolRegistry {
    registry(&client(), FsSandbox::deny_all()).1
}

#[tokio::test]
async fn methods_headers_query_and_bodies_reach_the_server() {
    let server = net_support::start().await;
    let tools = tools();
    let out = http(
        &tools,
        json!({
            "url": server.url("/echo?fixed=1"),
            "method": "POST",
            "headers": { "X-Trace": "abc", "Accept": "application/json" },
            "query": { "page": 2, "tag": ["x", "y z"], "on": true },
            "json": { "name": "widget", "n": [1, 2] }
        }),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["ok"], true);
    assert_eq!(out["body_kind"], "json");
    let echo = &out["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["query"], "fixed=1&on=true&page=2&tag=x&tag=y+z");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    let sent: Value = serde_json::from_str(echo["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({ "name": "widget", "n": [1, 2] }));
    assert_eq!(out["address"], format!("127.0.0.1:{}", server.addr.port()));

    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "method": "PUT", "form": { "a": "1 2", "b": "&" } }),
    )
    .await
    .unwrap();
    assert_eq!(out["body"]["method"], "PUT");
    assert_eq!(out["body"]["body"], "a=1+2&b=%26");
    assert_eq!(
        out["body"]["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );

    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "method": "PATCH", "body": "a,b\n", "content_type": "text/csv" }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["body"]["method"].clone(), out["body"]["body"].clone()),
        (json!("PATCH"), json!("a,b\n"))
    );
    assert_eq!(out["body"]["headers"]["content-type"], "text/csv");

    for method in ["DELETE", "OPTIONS", "GET"] {
        let out = http(
            &tools,
            json!({ "url": server.url("/echo"), "method": method }),
        )
        .await
        .unwrap();
        assert_eq!(out["body"]["method"], method);
    }
    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "method": "HEAD" }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["status"].clone(), out["body_kind"].clone()),
        (json!(200), json!("empty"))
    );

    let out = http(&tools, json!({ "url": server.url("/text") }))
        .await
        .unwrap();
    assert_eq!(
        (out["body"].clone(), out["body_kind"].clone()),
        (json!("hello"), json!("text"))
    );
    let out = http(
        &tools,
        json!({ "url": server.url("/text"), "response_type": "base64" }),
    )
    .await
    .unwrap();
    assert_eq!(out["body"], "aGVsbG8=");

    // Two bodies at once, or a bad header, are input errors naming the field.
    for (params, field) in [
        (
            json!({ "url": server.url("/echo"), "json": {}, "body": "x" }),
            "body",
        ),
        (
            json!({ "url": server.url("/echo"), "headers": { "bad header": "x" } }),
            "headers.bad header",
        ),
        (
            json!({ "url": server.url("/echo"), "headers": { "x": "a\nb" } }),
            "headers.x",
        ),
        (json!({ "url": "not a url" }), "url"),
        (json!({ "url": "file:///etc/passwd" }), "url"),
    ] {
        match http(&tools, params).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn credentials_are_sent_as_configured() {
    let server = net_support::start().await;
    let tools = tools();
    let secret = std::env::var(SECRET_VAR).expect("cargo sets CARGO_PKG_NAME for tests");
    let headers = |out: &Value| out["body"]["headers"].clone();

    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "bearer", "token": "t0k" } }),
    )
    .await
    .unwrap();
    assert_eq!(headers(&out)["authorization"], "Bearer t0k");
    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "bearer", "token_env": SECRET_VAR } }),
    )
    .await
    .unwrap();
    assert_eq!(headers(&out)["authorization"], format!("Bearer {secret}"));
    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "basic", "username": "ada", "password": "pw" } }),
    )
    .await
    .unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode("ada:pw");
    assert_eq!(headers(&out)["authorization"], format!("Basic {expected}"));
    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "api_key", "value": "k1" } }),
    )
    .await
    .unwrap();
    assert_eq!(headers(&out)["x-api-key"], "k1");
    let out = http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "api_key", "name": "key", "value_env": SECRET_VAR, "in": "query" } }),
    )
    .await
    .unwrap();
    assert_eq!(out["body"]["query"], format!("key={secret}"));

    // A variable not on `secret_env` is refused; giving both forms is not valid.
    match http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "bearer", "token_env": "HOME" } }),
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
    match http(
        &tools,
        json!({ "url": server.url("/echo"), "auth": { "type": "bearer", "token": "a", "token_env": SECRET_VAR } }),
    )
    .await
    {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "auth.token"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let server = net_support::start().await;
    let port = server.addr.port();
    let client = SafeClient::new(NetPolicy::new(["127.0.0.1", "localhost"]), limits());
    let (_, tools) = registry(&client, FsSandbox::deny_all());
    let mut hop = url::Url::parse(&server.url("/redirect/to")).unwrap();
    hop.query_pairs_mut()
        .append_pair("url", &format!("http://localhost:{port}/echo"));
    // Authorization is dropped on the way to the other origin.
    let out = http(
        &tools,
        json!({ "url": hop.as_str(), "auth": { "type": "bearer", "token": "secret" } }),
    )
    .await
    .unwrap();
    assert_eq!(out["url"], format!("http://localhost:{port}/echo"));
    assert!(
        out["body"]["headers"].get("authorization").is_none(),
        "{out}"
    );
    // An API key in its own header stops at the redirect.
    let out = http(
        &tools,
        json!({ "url": hop.as_str(), "auth": { "type": "api_key", "value": "k" } }),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], 302);
    assert_eq!(
        out["headers"]["location"],
        format!("http://localhost:{port}/echo")
    );
}

#[tokio::test]
async fn statuses_are_results_and_failures_are_errors() {
    let server = net_support::start().await;
    let tools = tools();
    for code in [404, 422, 500, 503] {
        let out = http(
            &tools,
            json!({ "url": server.url(&format!("/status/{code}")) }),
        )
        .await
        .unwrap();
        assert_eq!(out["status"], code);
        assert_eq!(out["ok"], false);
        assert_eq!(out["body"], json!({ "code": code }));
    }

    let started = Instant::now();
    match http(
        &tools,
        json!({ "url": server.url("/slow"), "timeout_ms": 300 }),
    )
    .await
    {
        Err(Error::Timeout { operation, after }) => {
            assert_eq!(after, Duration::from_millis(300));
            assert!(operation.contains("/slow"), "{operation}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    match http(
        &tools,
        json!({ "url": server.url("/json"), "timeout_ms": 60_000 }),
    )
    .await
    {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "timeout_ms");
            assert!(message.contains("net_timeout_ms"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let out = http(&tools, json!({ "url": server.url("/bad-json") }))
        .await
        .unwrap();
    assert_eq!(out["body_kind"], "text");
    assert!(out["json_error"].as_str().unwrap().contains("EOF"), "{out}");
    match http(
        &tools,
        json!({ "url": server.url("/bad-json"), "response_type": "json" }),
    )
    .await
    {
        Err(Error::External { message, .. }) => {
            assert!(message.contains("not valid JSON"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    match http(
        &tools,
        json!({ "url": server.url("/json"), "max_response_bytes": 10 }),
    )
    .await
    {
        Err(Error::ResourceLimitExceeded {
            resource,
            limit,
            requested,
        }) => {
            assert_eq!((resource.as_str(), limit), ("response_bytes", 10));
            assert!(requested > 10);
        }
        other => panic!("{other:?}"),
    }

    let out = http(&tools, json!({ "url": server.url("/redirect/chain/2") }))
        .await
        .unwrap();
    assert_eq!(out["url"], server.url("/redirect/chain/0"));
    let out = http(
        &tools,
        json!({ "url": server.url("/redirect/chain/2"), "max_redirects": 0 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["status"].clone(), out["headers"]["location"].clone()),
        (json!(302), json!("/redirect/chain/1"))
    );
    match http(
        &tools,
        json!({ "url": server.url("/redirect/chain/2"), "max_redirects": 1 }),
    )
    .await
    {
        Err(Error::External { message, .. }) => {
            assert!(
                message.contains("too many redirects: more than 1"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Nothing listens on a port just released: a retryable connection error.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    match http(
        &tools,
        json!({ "url": format!("http://127.0.0.1:{port}/") }),
    )
    .await
    {
        Err(Error::External {
            message, retryable, ..
        }) => {
            assert!(retryable);
            assert!(message.to_lowercase().contains("refused"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bodies_are_saved_inside_the_roots_only() {
    let server = net_support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, tools) = registry(&client(), FsSandbox::new([dir.path()]));
    let out = http(
        &tools,
        json!({ "url": server.url("/download"), "save_to": "downloads/data.csv" }),
    )
    .await
    .unwrap();
    assert_eq!(out["saved_to"], "downloads/data.csv");
    assert_eq!(out["bytes"], 8);
    assert!(out.get("body").is_none());
    let saved = dir.path().join("downloads/data.csv");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "a,b\n1,2\n");

    match http(
        &tools,
        json!({ "url": server.url("/json"), "save_to": "downloads/data.csv" }),
    )
    .await
    {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "save_to");
            assert!(message.contains("overwrite"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    http(
        &tools,
        json!({ "url": server.url("/json"), "save_to": "downloads/data.csv", "overwrite": true }),
    )
    .await
    .unwrap();
    assert!(std::fs::read_to_string(&saved).unwrap().contains("Widget"));

    // An oversized body leaves no file, finished or temporary.
    match http(
        &tools,
        json!({ "url": server.url("/big"), "save_to": "big.bin" }),
    )
    .await
    {
        Err(Error::ResourceLimitExceeded { resource, .. }) => {
            assert_eq!(resource, "response_bytes")
        }
        other => panic!("{other:?}"),
    }
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["downloads"]);

    for path in ["../escape.txt", "/etc/llmspell-test"] {
        match http(
            &tools,
            json!({ "url": server.url("/json"), "save_to": path }),
        )
        .await
        {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("allowed roots"), "{message}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    match http(
        &self::tools(),
        json!({ "url": server.url("/json"), "save_to": "x.json" }),
    )
    .await
    {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("fs_roots"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_hook_changes_the_request_the_tool_sends() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    let _handle = hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            let mut params = c.data.clone();
            params["headers"] = json!({ "x-added-by-hook": "yes" });
            Ok(HookResult::Modified(params))
        }),
    );
    let out = http(&tools, json!({ "url": server.url("/echo") }))
        .await
        .unwrap();
    assert_eq!(out["body"]["headers"]["x-added-by-hook"], "yes");
}
