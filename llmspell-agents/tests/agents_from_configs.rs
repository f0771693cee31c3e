#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The factory: agents made from the JSON configs scripts pass to
//! `Agent.create`, registered by name, listed as `{ name, type, state }`,
//! usable as `llmspell_core::Agent`s, with configuration errors that name
//! the field.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/mock_server.rs"]
mod mock_server;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fixture::Fixture;
use llmspell_agents::llm::{ProviderConfig, ProviderKind};
use llmspell_agents::{
    AgentBehavior, AgentConfig, AgentContext, AgentRuntime, AgentState, Error, ProviderSettings,
    handler_fn,
};
use llmspell_core::ExecutionContext;
use llmspell_hooks::{HookPoint, HookResult};
use mock_server::{MockServer, Reply};
use serde_json::{Value, json};

fn exec() -> ExecutionContext {
    ExecutionContext::native()
}

#[tokio::test]
async fn creates_basic_and_llm_agents_from_json_configs() {
    let server = MockServer::start(vec![Reply::ok(json!({
        "model": "gpt-4o-mini",
        "choices": [{ "message": { "role": "assistant", "content": "ok" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 }
    }))])
    .await;
    let agents = AgentRuntime::builder()
        .providers(
            ProviderSettings::new().with_config(
                ProviderKind::OpenAi,
                ProviderConfig::default()
                    .with_api_key("sk-test")
                    .with_base_url(format!("{}/v1", server.url))
                    .with_timeout(Duration::from_secs(5)),
            ),
        )
        .build()
        .unwrap();

    let helper = agents
        .create(
            AgentConfig::from_json(json!({ "name": "helper", "type": "basic" })).unwrap(),
            Some(handler_fn(|input, agent| async move {
                Ok(json!({ "from": agent.name(), "got": input }))
            })),
            &exec(),
        )
        .await
        .unwrap();
    assert_eq!(helper.state(), AgentState::Ready, "create initialises");
    assert_eq!(helper.kind(), "basic");

    let writer = agents
        .create(
            AgentConfig::from_json(json!({
                "name": "writer", "type": "llm", "model": "openai/gpt-4o-mini",
                "system_prompt": "Be brief.", "temperature": 0.2
            }))
            .unwrap(),
            None,
            &exec(),
        )
        .await
        .unwrap();
    assert_eq!(writer.kind(), "llm");
    let out = writer
        .invoke(json!({ "text": "hi" }), &exec())
        .await
        .unwrap();
    assert_eq!(out["text"], "ok");
    let body = server.only_request().body;
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(
        body["messages"][0],
        json!({ "role": "system", "content": "Be brief." })
    );

    assert_eq!(
        serde_json::to_value(agents.list()).unwrap(),
        json!([
            { "name": "helper", "type": "basic", "state": "Ready" },
            { "name": "writer", "type": "llm", "state": "Ready" }
        ])
    );
    let again = agents.get("helper").unwrap();
    assert!(again.same_agent(&helper));
    assert_eq!(
        again.invoke(json!(1), &exec()).await.unwrap(),
        json!({ "from": "helper", "got": 1 })
    );
}

#[tokio::test]
async fn config_mistakes_are_refused_with_the_field() {
    let agents = AgentRuntime::default();
    let field_of = |e: Error| match e {
        Error::InvalidConfig { field, .. } => field,
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    let err = agents
        .build_agent(AgentConfig::basic("no-handler"), None)
        .unwrap_err();
    assert_eq!(field_of(err), "handler");
    let err = agents
        .build_agent(
            AgentConfig::llm("w", "openai/x"),
            Some(handler_fn(|i, _| async move { Ok(i) })),
        )
        .unwrap_err();
    assert_eq!(field_of(err), "handler");
    let err = agents
        .build_agent(
            AgentConfig::from_json(json!({ "name": "w", "type": "llm", "model": "gpt-4" }))
                .unwrap(),
            None,
        )
        .unwrap_err();
    assert_eq!(field_of(err), "model");
    let err = agents
        .build_agent(
            AgentConfig::basic("has space"),
            Some(handler_fn(|i, _| async move { Ok(i) })),
        )
        .unwrap_err();
    assert_eq!(field_of(err), "name");
    assert!(agents.list().is_empty(), "nothing was registered");
}

#[tokio::test]
async fn names_are_unique_until_the_holder_is_terminated() {
    let agents = AgentRuntime::default();
    let h = || Some(handler_fn(|i, _| async move { Ok(i) }));
    let first = agents
        .create(AgentConfig::basic("solo"), h(), &exec())
        .await
        .unwrap();
    let err = agents
        .create(AgentConfig::basic("solo"), h(), &exec())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err:?}");
    first.terminate(&exec()).await.unwrap();
    assert_eq!(agents.list()[0].state, AgentState::Terminated);
    let second = agents
        .create(AgentConfig::basic("solo"), h(), &exec())
        .await
        .unwrap();
    assert!(agents.get("solo").unwrap().same_agent(&second));
    assert!(agents.registry().remove("solo").is_some());
    assert!(agents.list().is_empty());
    let err = agents.registry().lookup("sola").unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn a_vetoed_create_leaves_nothing_registered() {
    let mut f = Fixture::new();
    f.hook(HookPoint::BeforeAgentInit, |_| {
        HookResult::Cancel("not today".into())
    });
    let err = f
        .agents
        .create(
            AgentConfig::basic("refused"),
            Some(handler_fn(|i, _| async move { Ok(i) })),
            &exec(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Vetoed { .. }), "{err:?}");
    assert!(f.agents.get("refused").is_none());
}

#[tokio::test]
async fn agents_run_as_core_agents_for_workflows() {
    let agents = AgentRuntime::default();
    let a = agents
        .create(
            AgentConfig::basic("component"),
            Some(handler_fn(
                |i, _| async move { Ok(json!({ "wrapped": i })) },
            )),
            &exec(),
        )
        .await
        .unwrap();
    let as_core: Arc<dyn llmspell_core::Agent> = a.as_component();
    assert_eq!(as_core.metadata().name(), "component");
    assert_eq!(
        as_core.execute(json!(5), &exec()).await.unwrap(),
        json!({ "wrapped": 5 })
    );
    a.pause(&exec()).await.unwrap();
    let err = as_core.execute(json!(5), &exec()).await.unwrap_err();
    assert_eq!(err.kind(), llmspell_core::ErrorKind::Execution);
    assert!(err.to_string().contains("Paused"), "{err}");
}

/// A kind of agent defined outside the crate.
struct Upper;

#[async_trait]
impl AgentBehavior for Upper {
    fn kind(&self) -> &str {
        "upper"
    }
    async fn run(&self, input: Value, _cx: AgentContext) -> llmspell_core::Result<Value> {
        Ok(json!(input.as_str().unwrap_or_default().to_uppercase()))
    }
}

#[tokio::test]
async fn custom_behaviours_get_the_same_lifecycle() {
    let agents = AgentRuntime::default();
    let a = agents.custom(AgentConfig::basic("shouty"), Upper).unwrap();
    assert_eq!(a.invoke(json!("hey"), &exec()).await.unwrap(), json!("HEY"));
    assert_eq!(
        serde_json::to_value(agents.list()).unwrap(),
        json!([{ "name": "shouty", "type": "upper", "state": "Ready" }])
    );
}
