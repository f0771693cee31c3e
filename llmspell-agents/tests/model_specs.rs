#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Model specs and building providers from them: parsing, the errors for
//! unknown providers and missing settings, and that those errors come
//! before any network traffic.

#[path = "support/mock_server.rs"]
mod mock_server;

use std::collections::HashMap;

use llmspell_agents::llm::{LlmProvider, LlmRequest, ModelSpec, ProviderConfig, ProviderKind};
use llmspell_core::Error;
use mock_server::MockServer;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn invalid(err: Error) -> (String, String) {
    match err {
        Error::InvalidInput { field, message } => (field, message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn specs_name_provider_and_model() {
    let cases = [
        ("openai/gpt-4o-mini", ProviderKind::OpenAi, "gpt-4o-mini"),
        (
            "anthropic/claude-3-5-haiku-latest",
            ProviderKind::Anthropic,
            "claude-3-5-haiku-latest",
        ),
        ("ollama/llama3.1", ProviderKind::Ollama, "llama3.1"),
        (
            "openai-compatible/Qwen/Qwen2.5-7B-Instruct",
            ProviderKind::OpenAiCompatible,
            "Qwen/Qwen2.5-7B-Instruct",
        ),
    ];
    for (text, kind, model) in cases {
        let spec: ModelSpec = text.parse().unwrap();
        assert_eq!((spec.provider(), spec.model()), (kind, model), "{text}");
    }
}

#[test]
fn an_unknown_provider_lists_the_valid_ones() {
    let (field, message) = invalid(ModelSpec::parse("gemini/gemini-2.0-flash").unwrap_err());
    assert_eq!(field, "model");
    assert!(message.contains("unknown provider \"gemini\""), "{message}");
    assert!(
        message.contains("openai, anthropic, ollama, openai-compatible"),
        "{message}"
    );
    let (_, message) = invalid(ModelSpec::parse("olama/llama3.1").unwrap_err());
    assert!(message.contains("did you mean \"ollama\""), "{message}");
}

#[test]
fn a_spec_without_a_provider_explains_the_syntax() {
    let (_, message) = invalid(ModelSpec::parse("gpt-4o-mini").unwrap_err());
    assert!(message.contains("\"<provider>/<model>\""), "{message}");
    assert!(message.contains("openai/gpt-4o-mini"), "{message}");
}

#[test]
fn missing_keys_name_the_environment_variable() {
    for (spec, var) in [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
    ] {
        let spec: ModelSpec = spec.parse().unwrap();
        let err = ProviderConfig::default()
            .build_with_env(&spec, env(&[("OPENAI_API_KEY", ""), ("SOME_OTHER", "x")]))
            .err()
            .unwrap();
        let (field, message) = invalid(err);
        assert_eq!(field, "api_key");
        assert!(message.contains(var), "{message}");
    }
}

#[tokio::test]
async fn missing_key_errors_come_before_any_request() {
    let server = MockServer::start(vec![]).await;
    let spec: ModelSpec = "openai/gpt-4o-mini".parse().unwrap();
    let base = format!("{}/v1", server.url);
    let result =
        ProviderConfig::default().build_with_env(&spec, env(&[("OPENAI_BASE_URL", base.as_str())]));
    assert!(result.is_err());
    assert!(server.seen().is_empty());
}

#[test]
fn keys_are_optional_for_local_providers() {
    let ollama: ModelSpec = "ollama/llama3.1".parse().unwrap();
    let p = ProviderConfig::default()
        .build_with_env(&ollama, env(&[]))
        .unwrap();
    assert_eq!(p.name(), "ollama");

    let compat: ModelSpec = "openai-compatible/m".parse().unwrap();
    let p = ProviderConfig::default()
        .build_with_env(
            &compat,
            env(&[("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:8000/v1")]),
        )
        .unwrap();
    assert_eq!(p.name(), "openai-compatible");
}

#[test]
fn openai_compatible_needs_a_base_url() {
    let spec: ModelSpec = "openai-compatible/m".parse().unwrap();
    let (field, message) = invalid(
        ProviderConfig::default()
            .build_with_env(&spec, env(&[]))
            .err()
            .unwrap(),
    );
    assert_eq!(field, "base_url");
    assert!(message.contains("OPENAI_COMPATIBLE_BASE_URL"), "{message}");
}

#[test]
fn a_malformed_base_url_is_refused_when_building() {
    let spec: ModelSpec = "ollama/llama3.1".parse().unwrap();
    let (field, message) = invalid(
        ProviderConfig::default()
            .build_with_env(&spec, env(&[("OLLAMA_BASE_URL", "localhost:11434")]))
            .err()
            .unwrap(),
    );
    assert_eq!(field, "base_url");
    assert!(message.contains("localhost:11434"), "{message}");
}

#[tokio::test]
async fn the_spec_model_is_the_default_and_the_request_can_override_it() {
    use mock_server::Reply;
    use serde_json::json;
    let answer = json!({
        "model": "x",
        "choices": [{ "message": { "content": "ok" }, "finish_reason": "stop" }]
    });
    let server = MockServer::start(vec![Reply::ok(answer.clone()), Reply::ok(answer)]).await;
    let spec: ModelSpec = "openai-compatible/default-model".parse().unwrap();
    let p = ProviderConfig::default()
        .with_base_url(format!("{}/v1", server.url))
        .build_with_env(&spec, env(&[]))
        .unwrap();
    p.complete(&LlmRequest::user("a")).await.unwrap();
    p.complete(&LlmRequest::user("b").with_model("other-model"))
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].body["model"], "default-model");
    assert_eq!(seen[1].body["model"], "other-model");
}
