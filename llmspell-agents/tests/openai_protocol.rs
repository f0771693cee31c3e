#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The OpenAI-compatible provider against a local server speaking the chat
//! completions protocol: what it sends, what it reads, how it streams and
//! how each failure maps to an error.

#[path = "support/mock_server.rs"]
mod mock_server;

use std::time::{Duration, Instant};

use futures::StreamExt;
use llmspell_agents::llm::{
    ChatMessage, FinishReason, LlmChunk, LlmProvider, LlmRequest, ModelSpec, OpenAiCompatible,
    ProviderConfig, TokenUsage, collect_stream,
};
use llmspell_core::Error;
use mock_server::{MockServer, Reply, closed_port_url};
use serde_json::{Value, json};

fn completion(content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "finish_reason": finish
        }],
        "usage": { "prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30 }
    })
}

fn provider(server: &MockServer) -> OpenAiCompatible {
    OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .api_key("sk-test")
        .default_model("gpt-4o-mini")
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

#[tokio::test]
async fn complete_sends_the_request_and_reads_content_usage_and_reason() {
    let server = MockServer::start(vec![Reply::ok(completion("Four.", "stop"))]).await;
    let req = LlmRequest::new(
        "",
        vec![
            ChatMessage::user("What is 2+2?"),
            ChatMessage::assistant("Let me think."),
            ChatMessage::user("Answer in one word."),
        ],
    )
    .with_system_prompt("You are terse.")
    .with_temperature(0.25)
    .with_max_tokens(16)
    .with_stop("\n")
    .with_extra("seed", json!(42));

    let res = provider(&server).complete(&req).await.unwrap();

    let seen = server.only_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert!(seen.header("user-agent").unwrap().starts_with("llmspell/"));
    assert_eq!(
        seen.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                { "role": "system", "content": "You are terse." },
                { "role": "user", "content": "What is 2+2?" },
                { "role": "assistant", "content": "Let me think." },
                { "role": "user", "content": "Answer in one word." }
            ],
            "temperature": 0.25,
            "max_tokens": 16,
            "stop": ["\n"],
            "stream": false,
            "seed": 42
        })
    );

    assert_eq!(res.content, "Four.");
    assert_eq!(res.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(res.provider, "openai");
    assert_eq!(
        res.usage,
        TokenUsage {
            input_tokens: 21,
            output_tokens: 9,
            total_tokens: 30
        }
    );
    assert_eq!(res.finish_reason, FinishReason::Stop);
    assert!(res.raw.is_none());

    // The JSON hooks and cost tracking read.
    let v = serde_json::to_value(&res).unwrap();
    assert_eq!(v["usage"]["input_tokens"], 21);
    assert_eq!(v["usage"]["output_tokens"], 9);
    assert_eq!(v["provider"], "openai");
    assert_eq!(v["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(v["finish_reason"], "stop");
}

#[tokio::test]
async fn request_model_overrides_default_and_raw_body_is_kept_when_asked() {
    let body = completion("ok", "length");
    let server = MockServer::start(vec![Reply::ok(body.clone())]).await;
    let p = OpenAiCompatible::builder()
        .name("local")
        .base_url(format!("{}/v1/", server.url))
        .keep_raw_response(true)
        .build()
        .unwrap();
    let res = p
        .complete(&LlmRequest::user("hi").with_model("qwen2.5"))
        .await
        .unwrap();
    let seen = server.only_request();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.body["model"], "qwen2.5");
    assert_eq!(seen.header("authorization"), None, "no key, no auth header");
    assert_eq!(res.provider, "local");
    assert_eq!(res.finish_reason, FinishReason::Length);
    assert_eq!(res.raw, Some(body));
}

#[tokio::test]
async fn streaming_yields_deltas_in_order_then_usage() {
    let events = [
        r#"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"The "},"finish_reason":null}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"answer "},"finish_reason":null}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"is 4."},"finish_reason":null}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#,
    ];
    let mut text: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    // Cut the body into pieces that split lines and events at odd places.
    let bytes = text.as_bytes();
    let cuts = [0, 7, 50, 51, 140, 300, 301, 420, bytes.len()];
    let parts: Vec<String> = cuts
        .windows(2)
        .map(|w| String::from_utf8(bytes[w[0]..w[1]].to_vec()).unwrap())
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let server = MockServer::start(vec![Reply::sse(&parts)]).await;

    let stream = provider(&server)
        .complete_stream(&LlmRequest::user("2+2?"))
        .await
        .unwrap();
    let chunks: Vec<LlmChunk> = stream.map(Result::unwrap).collect().await;

    let seen = server.only_request();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.body["stream"], true);
    assert_eq!(
        seen.body["stream_options"],
        json!({ "include_usage": true })
    );
    assert_eq!(
        chunks,
        vec![
            LlmChunk::text("The "),
            LlmChunk::text("answer "),
            LlmChunk::text("is 4."),
            LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(12, 5))),
        ]
    );
}

#[tokio::test]
async fn streaming_without_usage_ends_with_a_final_chunk_without_usage() {
    // llama.cpp-style: finish reason and text in one event, no usage,
    // connection closed without [DONE].
    let server = MockServer::start(vec![Reply::sse(&[
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":\"length\"}]}\n\n",
    ])])
    .await;
    let all = collect_stream(
        provider(&server)
            .complete_stream(&LlmRequest::user("x"))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(all.content, "hi!");
    assert_eq!(all.finish_reason, Some(FinishReason::Length));
    assert_eq!(all.usage, None);
}

#[tokio::test]
async fn stream_cut_short_ends_with_a_retryable_error() {
    let server = MockServer::start(vec![Reply::sse(&[
        "data: {\"choices\":[{\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n",
    ])])
    .await;
    let items: Vec<_> = provider(&server)
        .complete_stream(&LlmRequest::user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &LlmChunk::text("par"));
    let err = items[1].as_ref().unwrap_err();
    let (service, message, retryable) = external(err);
    assert_eq!(service, "openai");
    assert!(
        message.contains("ended before the answer was complete"),
        "{message}"
    );
    assert!(retryable);
}

#[tokio::test]
async fn error_event_inside_a_stream_becomes_the_last_item() {
    let server = MockServer::start(vec![Reply::sse(&[
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n",
        "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n",
        "data: [DONE]\n\n",
    ])])
    .await;
    let items: Vec<_> = provider(&server)
        .complete_stream(&LlmRequest::user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    let (_, message, retryable) = external(items[1].as_ref().unwrap_err());
    assert!(message.contains("The server had an error"), "{message}");
    assert!(retryable);
}

#[tokio::test]
async fn http_400_is_not_retryable_and_carries_the_provider_message() {
    let server = MockServer::start(vec![Reply::status(
        400,
        json!({ "error": {
            "message": "'temperature' must be at most 2",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": null
        } }),
    )])
    .await;
    let err = provider(&server)
        .complete(&LlmRequest::user("x").with_temperature(3.0))
        .await
        .unwrap_err();
    let (service, message, retryable) = external(&err);
    assert_eq!(service, "openai");
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(
        message.contains("'temperature' must be at most 2"),
        "{message}"
    );
    assert!(message.contains("/v1/chat/completions"), "{message}");
    assert!(!retryable);
    assert!(!err.is_transient());
}

#[tokio::test]
async fn http_401_and_404_are_not_retryable() {
    let server = MockServer::start(vec![
        Reply::status(
            401,
            json!({ "error": { "message": "Incorrect API key provided: sk-test", "type": "invalid_request_error" } }),
        ),
        Reply::status(
            404,
            json!({ "error": { "message": "model \"nope\" not found, try pulling it first" } }),
        ),
    ])
    .await;
    let p = provider(&server);
    let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
    let (_, message, retryable) = external(&err);
    assert!(
        message.contains("HTTP 401") && message.contains("Incorrect API key"),
        "{message}"
    );
    assert!(!retryable);

    let err = p
        .complete(&LlmRequest::user("x").with_model("nope"))
        .await
        .unwrap_err();
    let (_, message, retryable) = external(&err);
    assert!(
        message.contains("HTTP 404") && message.contains("try pulling it"),
        "{message}"
    );
    assert!(!retryable);
    assert_eq!(server.seen().len(), 2, "no retries by default");
}

#[tokio::test]
async fn http_429_is_retryable_and_reports_retry_after() {
    let server = MockServer::start(vec![Reply::Json {
        status: 429,
        headers: vec![("retry-after", "7".into())],
        body: json!({ "error": { "message": "Rate limit reached for gpt-4o-mini", "type": "requests" } }),
    }])
    .await;
    let err = provider(&server)
        .complete(&LlmRequest::user("x"))
        .await
        .unwrap_err();
    let (_, message, retryable) = external(&err);
    assert!(retryable);
    assert!(message.contains("rate limited"), "{message}");
    assert!(
        message.contains("Rate limit reached for gpt-4o-mini"),
        "{message}"
    );
    assert!(message.contains("retry after 7 s"), "{message}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn http_500_is_retryable_even_with_a_non_json_body() {
    let server = MockServer::start(vec![Reply::Text {
        status: 500,
        body: "upstream exploded".into(),
    }])
    .await;
    let err = provider(&server)
        .complete(&LlmRequest::user("x"))
        .await
        .unwrap_err();
    let (_, message, retryable) = external(&err);
    assert!(retryable);
    assert!(
        message.contains("HTTP 500") && message.contains("upstream exploded"),
        "{message}"
    );
}

#[tokio::test]
async fn errors_before_a_stream_starts_are_returned_directly() {
    let server = MockServer::start(vec![Reply::status(
        401,
        json!({ "error": { "message": "bad key" } }),
    )])
    .await;
    let Err(err) = provider(&server)
        .complete_stream(&LlmRequest::user("x"))
        .await
    else {
        panic!("expected an error before the stream");
    };
    let (_, message, retryable) = external(&err);
    assert!(
        message.contains("HTTP 401") && message.contains("bad key"),
        "{message}"
    );
    assert!(!retryable);
}

#[tokio::test]
async fn configured_retries_rerun_retryable_failures_only() {
    let server = MockServer::start(vec![
        Reply::Json {
            status: 503,
            headers: vec![("retry-after-ms", "20".into())],
            body: json!({ "error": { "message": "overloaded" } }),
        },
        Reply::ok(completion("second time lucky", "stop")),
        Reply::status(400, json!({ "error": { "message": "bad" } })),
    ])
    .await;
    let p = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .default_model("m")
        .max_retries(2)
        .build()
        .unwrap();
    let res = p.complete(&LlmRequest::user("x")).await.unwrap();
    assert_eq!(res.content, "second time lucky");
    assert_eq!(server.seen().len(), 2);
    assert_eq!(server.seen()[0].body, server.seen()[1].body);

    // A 400 is not retried even with retries configured.
    let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
    assert!(!err.is_transient());
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_slow_server_hits_the_client_timeout() {
    let server = MockServer::start(vec![Reply::Delayed {
        delay: Duration::from_secs(3),
        reply: Box::new(Reply::ok(completion("too late", "stop"))),
    }])
    .await;
    let p = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .default_model("m")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
    let elapsed = started.elapsed();
    match &err {
        Error::Timeout { operation, after } => {
            assert_eq!(*after, Duration::from_millis(300));
            assert!(operation.contains("openai"), "{operation}");
            assert!(operation.contains("/v1/chat/completions"), "{operation}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(err.is_transient());
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn a_stalled_stream_hits_the_client_timeout() {
    let server = MockServer::start(vec![Reply::Sse {
        parts: vec![
            b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
                .to_vec(),
            b"data: [DONE]\n\n".to_vec(),
        ],
        gap: Duration::from_millis(150),
    }])
    .await;
    let p = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .default_model("m")
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    // Gaps under the limit are fine.
    let all = collect_stream(p.complete_stream(&LlmRequest::user("x")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(all.content, "a");

    let server = MockServer::start(vec![Reply::Sse {
        parts: vec![
            b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
                .to_vec(),
            b"data: [DONE]\n\n".to_vec(),
        ],
        gap: Duration::from_secs(2),
    }])
    .await;
    let p = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .default_model("m")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Headers arrive at once; the first event does not.
    let items: Vec<_> = p
        .complete_stream(&LlmRequest::user("x"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        matches!(items[0], Err(Error::Timeout { after, .. }) if after == Duration::from_millis(300)),
        "{items:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error_naming_the_url() {
    let base = closed_port_url().await;
    let p = OpenAiCompatible::builder()
        .name("ollama")
        .base_url(format!("{base}/v1"))
        .default_model("llama3.1")
        .build()
        .unwrap();
    let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
    let (service, message, retryable) = external(&err);
    assert_eq!(service, "ollama");
    assert!(retryable);
    assert!(message.contains("could not connect"), "{message}");
    assert!(
        message.contains(&format!("{base}/v1/chat/completions")),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_non_retryable_errors_naming_what_is_missing() {
    let server = MockServer::start(vec![
        Reply::ok(json!({ "id": "x", "object": "chat.completion" })),
        Reply::ok(json!({ "choices": [{ "index": 0, "finish_reason": "stop" }] })),
        Reply::Text {
            status: 200,
            body: "<html>proxy login</html>".into(),
        },
    ])
    .await;
    let p = provider(&server);
    for expected in [
        "missing `choices[0]`",
        "missing `choices[0].message`",
        "not JSON",
    ] {
        let err = p.complete(&LlmRequest::user("x")).await.unwrap_err();
        let (_, message, retryable) = external(&err);
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.contains("malformed response"), "{message}");
        assert!(!retryable);
    }
}

#[tokio::test]
async fn bad_requests_fail_before_any_network_traffic() {
    let server = MockServer::start(vec![]).await;
    let p = provider(&server);
    let err = p.complete(&LlmRequest::default()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "messages"));
    let err = p
        .complete(&LlmRequest::user("x").with_extra("stream", json!(true)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "extra.stream"));
    let no_default = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.url))
        .build()
        .unwrap();
    let err = no_default
        .complete(&LlmRequest::user("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "model"));
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn ollama_spec_uses_ollama_base_url_and_the_spec_model() {
    let server = MockServer::start(vec![Reply::ok(completion("hello", "stop"))]).await;
    let root = server.url.clone();
    let spec = ModelSpec::parse("ollama/llama3.1:8b").unwrap();
    let p = ProviderConfig::default()
        .build_with_env(&spec, |name| {
            (name == "OLLAMA_BASE_URL").then(|| root.clone())
        })
        .unwrap();
    assert_eq!(p.name(), "ollama");
    let res = p.complete(&LlmRequest::user("hi")).await.unwrap();
    let seen = server.only_request();
    assert_eq!(
        seen.path, "/v1/chat/completions",
        "/v1 appended to a root URL"
    );
    assert_eq!(seen.body["model"], "llama3.1:8b");
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(res.provider, "ollama");
}

#[tokio::test]
async fn openai_spec_reads_key_and_base_url_from_the_environment() {
    let server = MockServer::start(vec![Reply::ok(completion("hello", "stop"))]).await;
    let base = format!("{}/v1", server.url);
    let spec: ModelSpec = "openai/gpt-4o-mini".parse().unwrap();
    let p = ProviderConfig::default()
        .build_with_env(&spec, |name| match name {
            "OPENAI_API_KEY" => Some("sk-from-env".into()),
            "OPENAI_BASE_URL" => Some(base.clone()),
            _ => None,
        })
        .unwrap();
    p.complete(&LlmRequest::user("hi")).await.unwrap();
    let seen = server.only_request();
    assert_eq!(seen.header("authorization"), Some("Bearer sk-from-env"));
    assert_eq!(seen.body["model"], "gpt-4o-mini");

    // Explicit settings win over the environment.
    let server2 = MockServer::start(vec![Reply::ok(completion("hello", "stop"))]).await;
    let p = ProviderConfig::default()
        .with_api_key("sk-explicit")
        .with_base_url(format!("{}/v1", server2.url))
        .build_with_env(&spec, |name| match name {
            "OPENAI_API_KEY" => Some("sk-from-env".into()),
            "OPENAI_BASE_URL" => Some(base.clone()),
            _ => None,
        })
        .unwrap();
    p.complete(&LlmRequest::user("hi")).await.unwrap();
    assert_eq!(
        server2.only_request().header("authorization"),
        Some("Bearer sk-explicit")
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn openai_compatible_spec_uses_its_base_url_and_optional_key() {
    let server = MockServer::start(vec![Reply::ok(completion("hello", "stop"))]).await;
    let spec: ModelSpec = "openai-compatible/meta-llama/Llama-3.1-8B-Instruct"
        .parse()
        .unwrap();
    let p = ProviderConfig::default()
        .with_base_url(format!("{}/v1", server.url))
        .build_with_env(&spec, |_| None)
        .unwrap();
    let res = p.complete(&LlmRequest::user("hi")).await.unwrap();
    let seen = server.only_request();
    assert_eq!(seen.body["model"], "meta-llama/Llama-3.1-8B-Instruct");
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(res.provider, "openai-compatible");
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_an_error_not_an_empty_stream() {
    let server = MockServer::start(vec![
        Reply::ok(completion("not streamed", "stop")),
        Reply::ok(json!({ "error": { "message": "streaming is disabled on this server" } })),
    ])
    .await;
    let p = provider(&server);
    for expected in [
        "expected an event stream, got a JSON body",
        "streaming is disabled on this server",
    ] {
        let Err(err) = p.complete_stream(&LlmRequest::user("x")).await else {
            panic!("expected an error for {expected:?}");
        };
        let (_, message, retryable) = external(&err);
        assert!(message.contains(expected), "{message}");
        assert!(!retryable);
    }
}
