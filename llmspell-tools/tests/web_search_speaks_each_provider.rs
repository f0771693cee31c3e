//! `web_search` against local servers answering in each provider's real
//! format (Brave, Tavily, SearXNG, DuckDuckGo's HTML page), through the
//! hooked registry: the request each provider receives, the normalised
//! results, and each provider's error answers (401, 429, 5xx, malformed
//! JSON or HTML), slow and oversized answers, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::sync::Arc;

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::ToolRegistry;
use llmspell_tools::net::{SafeClient, SecretEnv};
use llmspell_tools::web::{SearchEndpoint, SearchProviderKind, WebSearch, WebSearchConfig};
use net_support::{SECRET_VAR, TestServer, client};
use serde_json::{Value, json};

/// A variable on `secret_env` whose value is not the key the servers want.
const WRONG_KEY_VAR: &str = "CARGO_PKG_VERSION";

/// Every provider at the test server, keys from `SECRET_VAR`.
fn config(server: &TestServer) -> WebSearchConfig {
    let at = |path: &str, key: Option<&str>| SearchEndpoint {
        base_url: Some(server.url(path)),
        api_key_env: key.map(str::to_owned),
    };
    WebSearchConfig::default()
        .with_provider(SearchProviderKind::Brave, at("/brave", Some(SECRET_VAR)))
        .with_provider(SearchProviderKind::Tavily, at("/tavily", Some(SECRET_VAR)))
        .with_provider(SearchProviderKind::Searxng, at("/searxng/", None))
        .with_provider(SearchProviderKind::DuckDuckGo, at("/ddg", None))
}

fn registry(client: &SafeClient, config: WebSearchConfig) -> (HookRegistry, ToolRegistry) {
    let hooks = HookRegistry::new();
    let tools = ToolRegistry::new(GuardedRunner::new(
        HookExecutor::builder(hooks.clone()).build(),
    ));
    let secrets = SecretEnv::new([SECRET_VAR, WRONG_KEY_VAR]);
    tools
        .register(Arc::new(WebSearch::new(client.clone(), secrets, config)))
        .unwrap();
    (hooks, tools)
}

async fn search(tools: &ToolRegistry, params: Value) -> Result<Value, Error> {
    tools
        .invoke("web_search", params, &ExecutionContext::native())
        .await
}

fn titles(out: &Value) -> Vec<String> {
    out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

fn external(result: Result<Value, Error>, needles: &[&str], retry: bool, what: &str) {
    match result {
        Err(Error::External {
            service,
            message,
            retryable,
            ..
        }) => {
            assert_eq!(service, "web_search", "{what}");
            for n in needles {
                assert!(message.contains(n), "{what}: `{n}` not in: {message}");
            }
            assert_eq!(retryable, retry, "{what}: {message}");
        }
        other => panic!("{what}: expected an External error, got {other:?}"),
    }
}

#[tokio::test]
async fn each_provider_is_asked_in_its_format_and_answers_normalised() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), config(&server));
    let key = std::env::var(SECRET_VAR).unwrap();

    // Brave: GET with q and count, the key in X-Subscription-Token.
    let out = search(
        &tools,
        json!({ "query": "rust", "provider": "brave", "max_results": 3 }),
    )
    .await
    .unwrap();
    let seen = server.last_search().unwrap();
    assert_eq!(seen["provider"], "brave");
    assert_eq!(seen["query"], json!({ "q": "rust", "count": "3" }));
    assert_eq!(seen["headers"]["x-subscription-token"], key);
    assert_eq!(seen["headers"]["accept"], "application/json");
    assert_eq!(out["provider"], "brave");
    assert_eq!(out["count"], 3);
    assert_eq!(
        out["results"][0],
        json!({ "title": "Rust result 1", "url": "https://example.com/rust/1",
                "snippet": "About Rust & safety, part 1.", "rank": 1 })
    );
    assert_eq!(out["results"][2]["rank"], 3);

    // Tavily: POST JSON with the key as a bearer token.
    let out = search(
        &tools,
        json!({ "query": "rust", "provider": "tavily", "max_results": 2 }),
    )
    .await
    .unwrap();
    let seen = server.last_search().unwrap();
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {key}"));
    assert_eq!(seen["headers"]["content-type"], "application/json");
    assert_eq!(seen["body"]["query"], "rust");
    assert_eq!(seen["body"]["max_results"], 2);
    assert_eq!(seen["body"]["search_depth"], "basic");
    assert_eq!(titles(&out), ["Tavily hit 1", "Tavily hit 2"]);
    assert_eq!(out["results"][1]["snippet"], "Content of hit 2");

    // SearXNG: format=json; a repeated URL counts once; a null content is
    // an empty snippet. The configured base URL's trailing slash is kept
    // out of the path.
    let out = search(&tools, json!({ "query": "rust", "provider": "searxng" }))
        .await
        .unwrap();
    let seen = server.last_search().unwrap();
    assert_eq!(seen["query"], json!({ "q": "rust", "format": "json" }));
    assert_eq!(titles(&out), ["Rust Programming Language", "The Rust Book"]);
    assert_eq!(out["results"][1]["snippet"], "");

    // DuckDuckGo: the ad is dropped, the redirect link decoded, markup
    // stripped, the count capped.
    let out = search(
        &tools,
        json!({ "query": "rust", "provider": "duckduckgo", "max_results": 2 }),
    )
    .await
    .unwrap();
    assert_eq!(
        server.last_search().unwrap()["query"],
        json!({ "q": "rust" })
    );
    assert_eq!(
        out["results"][0],
        json!({ "title": "Learn Rust", "url": "https://www.rust-lang.org/learn",
                "snippet": "Get started with Rust & Cargo.", "rank": 1 })
    );
    assert_eq!(titles(&out), ["Learn Rust", "crates.io"]);
    let out = search(
        &tools,
        json!({ "query": "nothing", "provider": "duckduckgo" }),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 0);
}

#[tokio::test]
async fn the_configured_provider_and_result_cap_apply() {
    let server = net_support::start().await;
    let mut c = config(&server);
    c.provider = Some(SearchProviderKind::Tavily);
    c.max_results = 4;
    let (_, tools) = registry(&client(), c);
    let out = search(&tools, json!({ "query": "rust" })).await.unwrap();
    assert_eq!(out["provider"], "tavily");
    assert_eq!(out["count"], 4);
    assert_eq!(server.last_search().unwrap()["body"]["max_results"], 4);
    match search(&tools, json!({ "query": "rust", "max_results": 5 })).await {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "max_results");
            assert!(message.contains("1 to 4"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn provider_errors_are_named_and_marked_retryable() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), config(&server));
    let call = |provider: &str, query: &str| json!({ "query": query, "provider": provider });

    external(
        search(&tools, call("brave", "error401")).await,
        &[
            "brave refused the request (401 Unauthorized)",
            "The provided subscription token is invalid.",
            SECRET_VAR,
        ],
        false,
        "brave 401",
    );
    external(
        search(&tools, call("brave", "error429")).await,
        &[
            "brave rate limited the request (429",
            "Request rate limit exceeded",
            "retry after 1 s",
        ],
        true,
        "brave 429",
    );
    external(
        search(&tools, call("brave", "error500")).await,
        &["brave failed (502 Bad Gateway)", "upstream error"],
        true,
        "brave 502",
    );
    external(
        search(&tools, call("brave", "malformed")).await,
        &["brave answered in an unexpected format", "application/json"],
        false,
        "brave malformed",
    );
    external(
        search(&tools, call("tavily", "error429")).await,
        &["tavily rate limited", "excessive requests"],
        true,
        "tavily 429",
    );
    external(
        search(&tools, call("tavily", "error500")).await,
        &["tavily failed (500", "Internal Server Error"],
        true,
        "tavily 500",
    );
    external(
        search(&tools, call("searxng", "forbidden")).await,
        &[
            "searxng refused the request (403 Forbidden)",
            "enable `json`",
        ],
        false,
        "searxng 403",
    );
    external(
        search(&tools, call("searxng", "error429")).await,
        &["searxng rate limited", "Too Many Requests"],
        true,
        "searxng 429",
    );
    external(
        search(&tools, call("searxng", "malformed")).await,
        &["searxng answered in an unexpected format"],
        false,
        "searxng malformed",
    );
    external(
        search(&tools, call("duckduckgo", "anomaly")).await,
        &["bot check"],
        true,
        "duckduckgo anomaly",
    );
    external(
        search(&tools, call("duckduckgo", "notddg")).await,
        &["duckduckgo answered in an unexpected format", "#links"],
        false,
        "duckduckgo not a results page",
    );

    // A wrong key: the provider's own message, and which variable to check.
    let mut c = config(&server);
    c.providers
        .get_mut(&SearchProviderKind::Tavily)
        .unwrap()
        .api_key_env = Some(WRONG_KEY_VAR.into());
    let (_, wrong) = registry(&client(), c);
    external(
        search(&wrong, call("tavily", "rust")).await,
        &[
            "tavily refused the request (401",
            "missing or invalid API key",
            WRONG_KEY_VAR,
        ],
        false,
        "tavily wrong key",
    );
}

#[tokio::test]
async fn slow_and_oversized_answers_are_stopped() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), config(&server));
    let started = std::time::Instant::now();
    match search(&tools, json!({ "query": "slow", "provider": "searxng" })).await {
        Err(Error::Timeout { after, .. }) => assert_eq!(after.as_secs(), 2),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed().as_secs() < 9, "the timeout did not fire");
    for provider in ["brave", "tavily", "searxng"] {
        match search(&tools, json!({ "query": "huge", "provider": provider })).await {
            Err(Error::ResourceLimitExceeded {
                resource, limit, ..
            }) => {
                assert_eq!(
                    (resource.as_str(), limit),
                    ("response_bytes", 64 << 10),
                    "{provider}"
                );
            }
            other => panic!("{provider}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_input_and_missing_settings_are_refused_naming_the_field() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), config(&server));
    let invalid = |r: Result<Value, Error>, field: &str, needle: &str| match r {
        Err(Error::InvalidInput { field: f, message }) => {
            assert_eq!(f, field, "{message}");
            assert!(message.contains(needle), "{message}");
        }
        other => panic!("{field}: {other:?}"),
    };
    invalid(
        search(&tools, json!({ "query": "  " })).await,
        "query",
        "empty",
    );
    invalid(
        search(&tools, json!({ "query": "x", "provider": "google" })).await,
        "provider",
        "valid: duckduckgo, searxng, brave, tavily",
    );
    invalid(
        search(&tools, json!({ "query": "x", "max_results": 0 })).await,
        "max_results",
        "",
    );
    invalid(
        search(&tools, json!({ "query": "x", "max_results": 11 })).await,
        "max_results",
        "1 to 10",
    );
    invalid(
        search(&tools, json!({ "query": "x", "limit": 3 })).await,
        "limit",
        "",
    );
    invalid(
        search(&tools, json!({ "query": "x", "timeout_ms": 999_999 })).await,
        "timeout_ms",
        "net_timeout_ms",
    );

    // Providers that are not configured.
    let (_, bare) = registry(&client(), WebSearchConfig::default());
    invalid(
        search(&bare, json!({ "query": "x", "provider": "searxng" })).await,
        "provider",
        "[web_search.providers.searxng]",
    );
    invalid(
        search(&bare, json!({ "query": "x", "provider": "brave" })).await,
        "provider",
        "api_key_env",
    );
    // A key variable not on secret_env is refused before anything is sent.
    let c = WebSearchConfig::default().with_provider(
        SearchProviderKind::Brave,
        SearchEndpoint {
            base_url: Some(server.url("/brave")),
            api_key_env: Some("HOME".into()),
        },
    );
    let (_, unlisted) = registry(&client(), c);
    match search(&unlisted, json!({ "query": "x" })).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(
                message.contains("`HOME`") && message.contains("secret_env"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        server.last_search().is_none(),
        "a refused call reached the server"
    );
    // The default provider is DuckDuckGo's public page, whose host the
    // test policy does not allow.
    match search(&bare, json!({ "query": "x" })).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("html.duckduckgo.com"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_hook_sees_and_changes_the_call() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), config(&server));
    // A policy hook: searches go to SearXNG, one result only.
    let _handle = hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            if c.component.name.as_ref() == "web_search" {
                let mut params = c.data.clone();
                params["provider"] = json!("searxng");
                params["max_results"] = json!(1);
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let out = search(&tools, json!({ "query": "rust", "provider": "brave" }))
        .await
        .unwrap();
    assert_eq!(out["provider"], "searxng");
    assert_eq!(titles(&out), ["Rust Programming Language"]);
    assert_eq!(server.last_search().unwrap()["provider"], "searxng");
}
