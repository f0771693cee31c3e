#![allow(clippy::unwrap_used, clippy::expect_used)]
//! LLM agents against a local OpenAI-compatible server on 127.0.0.1: the
//! request built from config and input, `BeforeLlmCall` changing what the
//! server receives, `AfterLlmCall` seeing usage, `LlmError` on a 500,
//! `LlmStreamChunk` per streamed chunk, conversation memory, a fallback
//! redirect to another model spec, and provider failures at create and at
//! the first call.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/mock_server.rs"]
mod mock_server;

use std::time::Duration;

use fixture::{Fixture, t};
use llmspell_agents::llm::{ChatMessage, ProviderConfig, ProviderKind};
use llmspell_agents::{AgentConfig, AgentRuntime, AgentState, Error, LlmAgent, ProviderSettings};
use llmspell_core::ExecutionContext;
use llmspell_hooks::{HookPoint, HookResult};
use mock_server::{MockServer, Reply, closed_port_url};
use serde_json::{Value, json};

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30 }
    })
}

fn openai_at(url: &str) -> ProviderSettings {
    ProviderSettings::new().with_config(
        ProviderKind::OpenAi,
        ProviderConfig::default()
            .with_api_key("sk-test")
            .with_base_url(format!("{url}/v1"))
            .with_timeout(Duration::from_secs(5)),
    )
}

/// A fixture whose runtime sends `openai/...` specs to `server`.
fn fixture(server: &MockServer) -> Fixture {
    fixture_with(openai_at(&server.url))
}

fn fixture_with(providers: ProviderSettings) -> Fixture {
    let plain = Fixture::new();
    let agents = AgentRuntime::builder()
        .runner(plain.agents.runner().clone())
        .providers(providers)
        .build()
        .unwrap();
    Fixture::around(plain.hooks, plain.bus, agents)
}

fn writer(f: &Fixture, config: AgentConfig) -> LlmAgent {
    f.agents.llm(config).unwrap()
}

fn exec() -> ExecutionContext {
    ExecutionContext::native()
}

#[tokio::test]
async fn builds_the_request_from_config_and_input_and_answers_in_the_output_shape() {
    let server = MockServer::start(vec![Reply::ok(completion("Four."))]).await;
    let f = fixture(&server);
    let a = writer(
        &f,
        AgentConfig::llm("writer", "openai/gpt-4o-mini")
            .with_system_prompt("You are terse.")
            .with_temperature(0.2)
            .with_max_tokens(16)
            .with_parameter("seed", json!(7)),
    );
    let out = a
        .invoke(json!({ "text": "What is 2+2?" }), &exec())
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({
            "text": "Four.",
            "usage": { "input_tokens": 21, "output_tokens": 9, "total_tokens": 30 },
            "model": "gpt-4o-mini-2024-07-18",
            "provider": "openai",
            "finish_reason": "stop"
        })
    );
    let seen = server.only_request();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        seen.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                { "role": "system", "content": "You are terse." },
                { "role": "user", "content": "What is 2+2?" }
            ],
            "temperature": 0.2,
            "max_tokens": 16,
            "stream": false,
            "seed": 7
        })
    );
    assert_eq!(a.state(), AgentState::Ready);
}

#[tokio::test]
async fn before_llm_call_changes_what_the_server_receives_and_after_sees_usage() {
    let server = MockServer::start(vec![Reply::ok(completion("Bonjour."))]).await;
    let mut f = fixture(&server);
    f.record(&[HookPoint::AfterLlmCall, HookPoint::BeforeLlmCall]);
    f.hook(HookPoint::BeforeLlmCall, |ctx| {
        let mut req = ctx.data.clone();
        req["temperature"] = json!(0.0);
        req["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "role": "user", "content": "Answer in French." }));
        HookResult::Modified(req)
    });
    let a = writer(&f, AgentConfig::llm("polyglot", "openai/gpt-4o-mini"));
    let exec = exec();
    let out = a.invoke(json!({ "text": "Hello" }), &exec).await.unwrap();
    assert_eq!(out["text"], "Bonjour.");

    let body = server.only_request().body;
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "Hello" },
            { "role": "user", "content": "Answer in French." }
        ])
    );
    let seen = f.take_seen();
    let before = seen
        .iter()
        .find(|s| s.point == HookPoint::BeforeLlmCall)
        .unwrap();
    assert_eq!(before.data["model"], "gpt-4o-mini");
    assert_eq!(before.name, "polyglot");
    assert_eq!(
        before.parent_id,
        Some(exec.correlation_id.clone()),
        "the model call is a child of the invocation"
    );
    let after = seen
        .iter()
        .find(|s| s.point == HookPoint::AfterLlmCall)
        .unwrap();
    assert_eq!(
        after.data["usage"],
        json!({ "input_tokens": 21, "output_tokens": 9, "total_tokens": 30 })
    );
    assert_eq!(after.data["provider"], "openai");
    assert_eq!(after.data["model"], "gpt-4o-mini-2024-07-18");
}

#[tokio::test]
async fn after_llm_call_can_rewrite_the_answer() {
    let server = MockServer::start(vec![Reply::ok(completion("secret stuff"))]).await;
    let mut f = fixture(&server);
    f.hook(HookPoint::AfterLlmCall, |ctx| {
        let mut res = ctx.data.clone();
        res["content"] = json!("[redacted]");
        HookResult::Modified(res)
    });
    let a = writer(&f, AgentConfig::llm("censored", "openai/gpt-4o-mini"));
    let out = a.invoke(json!("tell me"), &exec()).await.unwrap();
    assert_eq!(out["text"], "[redacted]");
    assert_eq!(out["usage"]["total_tokens"], 30);
}

#[tokio::test]
async fn a_500_fires_llm_error_and_moves_the_agent_to_error() {
    let server = MockServer::start(vec![Reply::status(
        500,
        json!({ "error": { "message": "the model fell over" } }),
    )])
    .await;
    let mut f = fixture(&server);
    f.record(&[HookPoint::LlmError, HookPoint::AgentError]);
    let a = writer(&f, AgentConfig::llm("fragile", "openai/gpt-4o-mini"));
    a.initialize(&exec()).await.unwrap();
    f.transitions();
    let err = a
        .invoke(json!({ "text": "hi" }), &exec())
        .await
        .unwrap_err();
    match &err {
        Error::Operation(llmspell_core::Error::Provider {
            provider,
            message,
            retryable,
            ..
        }) => {
            assert_eq!(provider, "openai");
            assert!(message.contains("the model fell over"), "{message}");
            assert!(*retryable);
        }
        other => panic!("expected a Provider error, got {other:?}"),
    }
    let seen = f.take_seen();
    assert_eq!(
        seen.iter().map(|s| s.point.clone()).collect::<Vec<_>>(),
        [HookPoint::LlmError, HookPoint::AgentError]
    );
    assert_eq!(seen[0].data["kind"], "provider");
    assert_eq!(seen[0].data["retryable"], true);
    assert_eq!(a.state(), AgentState::Error);
    assert_eq!(
        f.transitions(),
        [t("Ready", "Running"), t("Running", "Error")]
    );
}

#[tokio::test]
async fn llm_error_can_redirect_to_another_model() {
    let primary = MockServer::start(vec![Reply::status(503, json!({ "error": "busy" }))]).await;
    let backup = MockServer::start(vec![Reply::ok(completion("from the backup"))]).await;
    let providers = openai_at(&primary.url).with_config(
        ProviderKind::Ollama,
        ProviderConfig::default().with_base_url(format!("{}/v1", backup.url)),
    );
    let mut f = fixture_with(providers);
    f.hook(HookPoint::LlmError, |_| {
        HookResult::Redirect("ollama/llama3.1".into())
    });
    let a = writer(&f, AgentConfig::llm("resilient", "openai/gpt-4o-mini"));
    let out = a.invoke(json!({ "text": "hi" }), &exec()).await.unwrap();
    assert_eq!(out["text"], "from the backup");
    assert_eq!(out["provider"], "ollama");
    assert_eq!(backup.only_request().body["model"], "llama3.1");
    assert_eq!(a.state(), AgentState::Ready);
}

fn sse(parts: &[&str]) -> Reply {
    let mut text: String = parts
        .iter()
        .map(|delta| {
            format!(
                "data: {}\n\n",
                json!({ "choices": [{ "index": 0, "delta": { "content": delta }, "finish_reason": null }] })
            )
        })
        .collect();
    text.push_str(&format!(
        "data: {}\n\n",
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] })
    ));
    text.push_str(&format!(
        "data: {}\n\n",
        json!({ "choices": [], "usage": { "prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7 } })
    ));
    text.push_str("data: [DONE]\n\n");
    Reply::sse(&[text.as_str()])
}

#[tokio::test]
async fn streaming_fires_llm_stream_chunk_per_chunk() {
    let server = MockServer::start(vec![sse(&["The ", "answer ", "is 4."])]).await;
    let mut f = fixture(&server);
    f.record(&[HookPoint::LlmStreamChunk, HookPoint::AfterLlmCall]);
    f.hook(HookPoint::LlmStreamChunk, |ctx| {
        let mut chunk = ctx.data.clone();
        if let Some(d) = chunk["delta"].as_str() {
            chunk["delta"] = json!(d.to_uppercase());
        }
        HookResult::Modified(chunk)
    });
    let a = writer(
        &f,
        AgentConfig::llm("streamer", "openai/gpt-4o-mini").with_stream(true),
    );
    let out = a.invoke(json!({ "text": "2+2?" }), &exec()).await.unwrap();
    assert_eq!(out["text"], "THE ANSWER IS 4.");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["usage"]["total_tokens"], 7);
    assert_eq!(server.only_request().body["stream"], true);

    let seen = f.take_seen();
    let chunks: Vec<&Value> = seen
        .iter()
        .filter(|s| s.point == HookPoint::LlmStreamChunk)
        .map(|s| &s.data)
        .collect();
    assert_eq!(
        chunks.len(),
        4,
        "three text chunks and the final one: {chunks:?}"
    );
    assert_eq!(chunks[0]["delta"], "The ");
    assert_eq!(chunks[0]["index"], 0);
    assert_eq!(chunks[2]["delta"], "is 4.");
    assert_eq!(chunks[3]["finish_reason"], "stop");
    assert_eq!(chunks[3]["usage"]["input_tokens"], 4);
    let after = seen
        .iter()
        .find(|s| s.point == HookPoint::AfterLlmCall)
        .unwrap();
    assert_eq!(after.data["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn a_cancel_at_a_stream_chunk_ends_the_call() {
    let server = MockServer::start(vec![sse(&["one ", "two ", "three"])]).await;
    let mut f = fixture(&server);
    f.hook(HookPoint::LlmStreamChunk, |ctx| {
        if ctx.data["index"] == 1 {
            HookResult::Cancel("enough".into())
        } else {
            HookResult::Continue
        }
    });
    let a = writer(&f, AgentConfig::llm("chatty", "openai/gpt-4o-mini"));
    // Streaming asked per call.
    let err = a
        .invoke(json!({ "text": "count", "stream": true }), &exec())
        .await
        .unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(err.to_string().contains("enough"), "{err}");
}

#[tokio::test]
async fn memory_keeps_the_conversation() {
    let server = MockServer::start(vec![
        Reply::ok(completion("Hi Ada.")),
        Reply::ok(completion("Your name is Ada.")),
    ])
    .await;
    let f = fixture(&server);
    let a = writer(
        &f,
        AgentConfig::llm("friend", "openai/gpt-4o-mini").with_memory(10),
    );
    a.invoke(json!({ "text": "I am Ada." }), &exec())
        .await
        .unwrap();
    a.invoke(json!({ "text": "Who am I?" }), &exec())
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(
        seen[1].body["messages"],
        json!([
            { "role": "user", "content": "I am Ada." },
            { "role": "assistant", "content": "Hi Ada." },
            { "role": "user", "content": "Who am I?" }
        ])
    );
    assert_eq!(a.history().len(), 4);
    assert_eq!(a.history()[3], ChatMessage::assistant("Your name is Ada."));
    a.terminate(&exec()).await.unwrap();
    assert!(a.history().is_empty(), "termination clears the memory");
}

#[tokio::test]
async fn an_unreachable_provider_fails_the_first_call() {
    let url = closed_port_url().await;
    let f = fixture_with(openai_at(&url));
    let a = writer(&f, AgentConfig::llm("lonely", "openai/gpt-4o-mini"));
    a.initialize(&exec()).await.unwrap(); // no network at creation
    let err = a.invoke(json!("hello?"), &exec()).await.unwrap_err();
    match err {
        Error::Operation(llmspell_core::Error::Provider { retryable, .. }) => assert!(retryable),
        other => panic!("expected a Provider error, got {other:?}"),
    }
    assert_eq!(a.state(), AgentState::Error);
}

#[tokio::test]
async fn a_missing_api_key_fails_at_create() {
    let f = fixture_with(ProviderSettings::new());
    let config = AgentConfig::llm("keyless", "anthropic/claude-3-5-haiku-latest")
        .with_provider(ProviderConfig::default().with_api_key(""));
    match f.agents.llm(config) {
        Err(Error::InvalidConfig { field, message }) => {
            assert_eq!(field, "provider.api_key");
            assert!(message.contains("ANTHROPIC_API_KEY"), "{message}");
            assert!(!f.agents.registry().contains("keyless"));
        }
        Ok(_) => assert!(
            std::env::var("ANTHROPIC_API_KEY").is_ok_and(|k| !k.trim().is_empty()),
            "only a key in the environment lets this succeed"
        ),
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_input_is_an_invalid_input_error() {
    let server = MockServer::start(vec![]).await;
    let f = fixture(&server);
    let a = writer(&f, AgentConfig::llm("picky", "openai/gpt-4o-mini"));
    let err = a
        .invoke(json!({ "txt": "typo" }), &exec())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Operation(llmspell_core::Error::InvalidInput { field, .. }) if field == "text"),
        "{err:?}"
    );
    assert!(server.seen().is_empty(), "nothing was sent");
}
