#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Anthropic provider against a local server speaking the messages
//! protocol: headers, body, parsing, the event stream and error mapping.

#[path = "support/mock_server.rs"]
mod mock_server;

use std::time::{Duration, Instant};

use futures::StreamExt;
use llmspell_agents::llm::{
    Anthropic, ChatMessage, FinishReason, LlmChunk, LlmProvider, LlmRequest, ModelSpec,
    ProviderConfig, TokenUsage,
};
use llmspell_core::Error;
use mock_server::{MockServer, Reply, closed_port_url};
use serde_json::{Value, json};

fn message(text: &str, stop_reason: &str) -> Value {
    json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{ "type": "text", "text": text }],
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": { "input_tokens": 25, "output_tokens": 11 }
    })
}

fn provider(server: &MockServer) -> Anthropic {
    Anthropic::builder()
        .base_url(&server.url)
        .api_key("sk-ant-test")
        .default_model("claude-3-5-haiku-latest")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn external(err: &Error) -> (&str, &str, bool) {
    match err {
        Error::Provider {
            provider,
            message,
            retryable,
            ..
        } => (provider, message, *retryable),
        other => panic!("expected a Provider error, got {other:?}"),
    }
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

#[tokio::test]
async fn complete_sends_headers_top_level_system_and_default_max_tokens() {
    let server = MockServer::start(vec![Reply::ok(message("Paris.", "end_turn"))]).await;
    let req = LlmRequest::new(
        "",
        vec![
            ChatMessage::user("Capital of France?"),
            ChatMessage::assistant("One moment."),
            ChatMessage::user("Just the name."),
        ],
    )
    .with_system_prompt("Answer in one word.")
    .with_temperature(0.0)
    .with_stop("###")
    .with_extra("top_k", json!(5));

    let res = provider(&server).complete(&req).await.unwrap();

    let seen = server.only_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.body,
        json!({
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 1024,
            "messages": [
                { "role": "user", "content": "Capital of France?" },
                { "role": "assistant", "content": "One moment." },
                { "role": "user", "content": "Just the name." }
            ],
            "system": "Answer in one word.",
            "temperature": 0.0,
            "stop_sequences": ["###"],
            "stream": false,
            "top_k": 5
        })
    );

    assert_eq!(res.content, "Paris.");
    assert_eq!(res.model, "claude-3-5-haiku-20241022");
    assert_eq!(res.provider, "anthropic");
    assert_eq!(res.usage, TokenUsage::new(25, 11));
    assert_eq!(res.usage.total_tokens, 36);
    assert_eq!(res.finish_reason, FinishReason::Stop);

    let v = serde_json::to_value(&res).unwrap();
    assert_eq!(v["usage"]["input_tokens"], 25);
    assert_eq!(v["usage"]["output_tokens"], 11);
    assert_eq!(v["provider"], "anthropic");
}

#[tokio::test]
async fn explicit_max_tokens_and_stop_reasons_are_mapped() {
    let server = MockServer::start(vec![
        Reply::ok(message("Par", "max_tokens")),
        Reply::ok(message("", "tool_use")),
    ])
    .await;
    let p = provider(&server);
    let res = p
        .complete(&LlmRequest::user("x").with_max_tokens(3))
        .await
        .unwrap();
    assert_eq!(server.seen()[0].body["max_tokens"], 3);
    assert_eq!(res.finish_reason, FinishReason::Length);
    let res = p.complete(&LlmRequest::user("x")).await.unwrap();
    assert_eq!(res.finish_reason, FinishReason::ToolCalls);
}

#[tokio::test]
async fn streaming_yields_text_deltas_then_usage_from_start_and_delta() {
    let body: String = [
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [],
                "model": "claude-3-5-haiku-20241022", "stop_reason": null,
                "usage": { "input_tokens": 18, "output_tokens": 1 } } }),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" } }),
        ),
        event("ping", json!({ "type": "ping" })),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": "Bonjour" } }),
        ),
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": " \u{e0} tous" } }),
        ),
        event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        event(
            "message_delta",
            json!({ "type": "message_delta",
                    "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                    "usage": { "output_tokens": 6 } }),
        ),
        event("message_stop", json!({ "type": "message_stop" })),
    ]
    .concat();
    // Split inside the two-byte "à" and elsewhere.
    let bytes = body.as_bytes();
    let accent = bytes.iter().position(|&b| b == 0xc3).unwrap();
    let cuts = [0, 30, accent + 1, accent + 40, bytes.len()];
    let parts: Vec<Vec<u8>> = cuts
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect();
    assert!(
        std::str::from_utf8(&parts[1]).is_err(),
        "a piece ends inside a character"
    );
    let server = MockServer::start(vec![Reply::sse_bytes(parts)]).await;

    let chunks: Vec<LlmChunk> = provider(&server)
        .complete_stream(&LlmRequest::user("Say hello in French"))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;

    let seen = server.only_request();
    assert_eq!(seen.body["stream"], true);
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(
        chunks,
        vec![
            LlmChunk::text("Bonjour"),
            LlmChunk::text(" \u{e0} tous"),
            LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(18, 6))),
        ]
    );
}

#[tokio::test]
async fn overloaded_error_event_mid_stream_is_retryable() {
    let server = MockServer::start(vec![Reply::sse(&[
        &event(
            "message_start",
            json!({ "type": "message_start", "message": { "usage": { "input_tokens": 3 } } }),
        ),
        &event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": "Hi" } }),
        ),
        &event(
            "error",
            json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } }),
        ),
    ])])
    .await;
    let items: Vec<_> = provider(&server)
        .complete_stream(&LlmRequest::user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &LlmChunk::text("Hi"));
    let (service, message, retryable) = external(items[1].as_ref().unwrap_err());
    assert_eq!(service, "anthropic");
    assert!(
        message.contains("overloaded_error") && message.contains("Overloaded"),
        "{message}"
    );
    assert!(retryable);
}

#[tokio::test]
async fn http_errors_map_with_the_provider_message() {
    let err_body = |kind: &str, msg: &str| json!({ "type": "error", "error": { "type": kind, "message": msg } });
    let server = MockServer::start(vec![
        Reply::status(
            400,
            err_body("invalid_request_error", "max_tokens: must be at least 1"),
        ),
        Reply::status(401, err_body("authentication_error", "invalid x-api-key")),
        Reply::status(404, err_body("not_found_error", "model: claude-9")),
        Reply::Json {
            status: 429,
            headers: vec![("retry-after", "12".into())],
            body: err_body(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
        },
        Reply::status(500, err_body("api_error", "Internal server error")),
        Reply::status(529, err_body("overloaded_error", "Overloaded")),
    ])
    .await;
    let p = provider(&server);
    let cases = [
        ("HTTP 400", "max_tokens: must be at least 1", false),
        ("HTTP 401", "invalid x-api-key", false),
        ("HTTP 404", "model: claude-9", false),
        ("retry after 12 s", "per-minute rate limit", true),
        ("HTTP 500", "Internal server error", true),
        ("HTTP 529", "Overloaded", true),
    ];
    for (status, text, want_retryable) in cases {
        let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
        let (service, message, retryable) = external(&err);
        assert_eq!(service, "anthropic");
        assert!(message.contains(status), "{status}: {message}");
        assert!(message.contains(text), "{status}: {message}");
        assert_eq!(retryable, want_retryable, "{status}: {message}");
    }
    assert_eq!(server.seen().len(), cases.len(), "one request per call");
}

#[tokio::test]
async fn a_slow_server_hits_the_client_timeout() {
    let server = MockServer::start(vec![Reply::Delayed {
        delay: Duration::from_secs(3),
        reply: Box::new(Reply::ok(message("late", "end_turn"))),
    }])
    .await;
    let p = Anthropic::builder()
        .base_url(&server.url)
        .api_key("k")
        .default_model("c")
        .timeout(Duration::from_millis(250))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { operation, after }
            if *after == Duration::from_millis(250) && operation.contains("/v1/messages")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error_naming_the_url() {
    let base = closed_port_url().await;
    let p = Anthropic::builder()
        .base_url(&base)
        .api_key("k")
        .default_model("c")
        .build()
        .unwrap();
    let err = p
        .complete_stream(&LlmRequest::user("x"))
        .await
        .err()
        .unwrap();
    let (_, message, retryable) = external(&err);
    assert!(retryable);
    assert!(
        message.contains(&format!("{base}/v1/messages")),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_message_body_names_what_is_missing() {
    let server = MockServer::start(vec![Reply::ok(json!({ "type": "message", "id": "m" }))]).await;
    let err = provider(&server)
        .complete(&LlmRequest::user("x"))
        .await
        .unwrap_err();
    let (_, message, retryable) = external(&err);
    assert!(message.contains("missing `content`"), "{message}");
    assert!(!retryable);
}

#[tokio::test]
async fn anthropic_spec_reads_key_and_base_url_from_the_environment() {
    let server = MockServer::start(vec![Reply::ok(message("hi", "end_turn"))]).await;
    let url = server.url.clone();
    let spec: ModelSpec = "anthropic/claude-3-5-haiku-latest".parse().unwrap();
    let p = ProviderConfig::default()
        .build_with_env(&spec, |name| match name {
            "ANTHROPIC_API_KEY" => Some("sk-ant-env".into()),
            "ANTHROPIC_BASE_URL" => Some(url.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(p.name(), "anthropic");
    let res = p.complete(&LlmRequest::user("hi")).await.unwrap();
    let seen = server.only_request();
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-env"));
    assert_eq!(seen.body["model"], "claude-3-5-haiku-latest");
    assert_eq!(res.content, "hi");
}
