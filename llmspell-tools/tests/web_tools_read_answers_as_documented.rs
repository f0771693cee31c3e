//! `graphql_query` (against a real GraphQL server), `url_analyzer` and
//! `api_tester` against a server on 127.0.0.1, through the hooked
//! registry: what they return for good answers, 4xx/5xx, slow, oversized
//! and malformed ones, as the user guide documents it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{HookPoint, HookResult, sync_hook_fn};
use llmspell_tools::{FsSandbox, ToolRegistry};
use net_support::{client, registry};
use serde_json::{Value, json};

async fn invoke(tools: &ToolRegistry, tool: &str, params: Value) -> Result<Value, Error> {
    tools
        .invoke(tool, params, &ExecutionContext::native())
        .await
}

fn gql(endpoint: &str, query: &str) -> Value {
    json!({ "operation": "query", "endpoint": endpoint, "query": query })
}

#[tokio::test]
async fn graphql_queries_mutations_and_errors() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    let after = Arc::new(AtomicUsize::new(0));
    let seen = after.clone();
    let _handle = hooks.register(
        HookPoint::AfterToolExecution,
        sync_hook_fn(move |c| {
            if &*c.component.name == "graphql_query" {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            Ok(HookResult::Continue)
        }),
    );
    let endpoint = server.url("/graphql");

    let out = invoke(
        &tools,
        "graphql_query",
        json!({
            "operation": "query", "endpoint": endpoint,
            "query": "query A { hello } query B($n: String!) { repository(name: $n) { name stars owner { login } tags } }",
            "variables": { "n": "llmspell" },
            "operation_name": "B"
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        out["data"],
        json!({ "repository": { "name": "llmspell", "stars": 42, "owner": { "login": "ada" }, "tags": ["rust", "llm"] } })
    );
    assert_eq!(
        (
            out["partial"].clone(),
            out["errors"].clone(),
            out["status"].clone()
        ),
        (json!(false), json!([]), json!(200))
    );

    let out = invoke(
        &tools,
        "graphql_query",
        gql(&endpoint, "mutation { star(name: \"llmspell\") }"),
    )
    .await
    .unwrap();
    assert_eq!(out["data"], json!({ "star": 43 }));

    // Errors with data: a partial result.
    let out = invoke(&tools, "graphql_query", gql(&endpoint, "{ hello flaky }"))
        .await
        .unwrap();
    assert_eq!(out["partial"], true);
    assert_eq!(out["data"]["hello"], "world");
    assert!(out["data"]["flaky"].is_null(), "{out}");
    assert_eq!(out["errors"][0]["message"], "flaky is down");
    assert_eq!(out["errors"][0]["path"], json!(["flaky"]));
    assert_eq!(after.load(Ordering::SeqCst), 3);

    // Errors without data: the call fails with every message.
    match invoke(&tools, "graphql_query", gql(&endpoint, "{ nope }")).await {
        Err(Error::Execution { component, message }) => {
            assert_eq!(component, "tool:graphql_query");
            assert!(
                message.contains("errors and no data") && message.contains("nope"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    match invoke(&tools, "graphql_query", gql(&endpoint, "{ repository }")).await {
        Err(Error::Execution { message, .. }) => assert!(message.contains("name"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn graphql_introspection_lists_the_types() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let endpoint = server.url("/graphql");
    let out = invoke(
        &tools,
        "graphql_query",
        json!({ "operation": "introspect", "endpoint": endpoint }),
    )
    .await
    .unwrap();
    assert_eq!(out["query_type"], "Query");
    assert_eq!(out["mutation_type"], "Mutation");
    assert_eq!(out["subscription_type"], Value::Null);
    let types = out["types"].as_array().unwrap();
    let find = |name: &str| types.iter().find(|t| t["name"] == name).cloned();
    let repo = find("Repository").unwrap();
    assert_eq!(repo["kind"], "OBJECT");
    let field = |t: &Value, name: &str| {
        t["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(field(&repo, "stars")["type"], "Int!");
    assert_eq!(field(&repo, "owner")["type"], "User!");
    assert_eq!(field(&repo, "tags")["type"], "[String!]!");
    assert_eq!(
        field(&repo, "name")["description"],
        "The repository's name."
    );
    let query = find("Query").unwrap();
    let repository = field(&query, "repository");
    assert_eq!(repository["type"], "Repository");
    assert_eq!(
        repository["args"],
        json!([{ "name": "name", "type": "String!" }])
    );
    assert_eq!(repository["description"], "A repository by name.");
    assert!(find("__Schema").is_none() && find("String").is_none());
    let directives = out["directives"].as_array().unwrap();
    assert!(directives.contains(&json!("skip")) && directives.contains(&json!("include")));

    let all = invoke(
        &tools,
        "graphql_query",
        json!({ "operation": "introspect", "endpoint": endpoint, "include_builtin": true }),
    )
    .await
    .unwrap();
    let names: Vec<&Value> = all["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert!(names.contains(&&json!("__Schema")) && names.contains(&&json!("String")));
}

#[tokio::test]
async fn graphql_answers_that_are_not_graphql_are_errors() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    for (path, want, retryable) in [
        (
            "/status/500",
            "HTTP 500 Internal Server Error with JSON holding neither",
            true,
        ),
        (
            "/status/404",
            "HTTP 404 Not Found with JSON holding neither",
            false,
        ),
        ("/text", "a body that is not JSON", false),
        ("/bad-json", "a body that is not JSON", false),
    ] {
        match invoke(&tools, "graphql_query", gql(&server.url(path), "{ hello }")).await {
            Err(Error::External {
                service,
                message,
                retryable: r,
                ..
            }) => {
                assert_eq!(service, "graphql");
                assert!(message.contains(want), "{path}: {message}");
                assert_eq!(r, retryable, "{path}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    match invoke(
        &tools,
        "graphql_query",
        json!({ "operation": "query", "endpoint": server.url("/slow"), "query": "{ hello }", "timeout_ms": 300 }),
    )
    .await
    {
        Err(Error::Timeout { after, .. }) => assert_eq!(after, Duration::from_millis(300)),
        other => panic!("{other:?}"),
    }
    match invoke(
        &tools,
        "graphql_query",
        json!({ "operation": "introspect", "endpoint": "ftp://x/" }),
    )
    .await
    {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "endpoint"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn url_analyzer_parses_normalizes_and_resolves() {
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let url = |p: Value| invoke(&tools, "url_analyzer", p);
    let out = url(
        json!({ "operation": "parse", "url": "https://user@example.com:8443/a/b?x=1&x=2#top" }),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({
            "scheme": "https", "username": "user", "has_password": false, "host": "example.com",
            "host_kind": "domain", "port": 8443, "effective_port": 8443, "path": "/a/b",
            "segments": ["a", "b"], "query": "x=1&x=2", "params": [["x", "1"], ["x", "2"]],
            "params_by_name": { "x": ["1", "2"] }, "fragment": "top",
            "origin": "https://example.com:8443",
            "href": "https://user@example.com:8443/a/b?x=1&x=2#top"
        })
    );
    let out = url(json!({ "operation": "parse", "url": "http://[::1]/p?q=a%20b" }))
        .await
        .unwrap();
    assert_eq!(
        (
            out["host_kind"].clone(),
            out["host"].clone(),
            out["effective_port"].clone()
        ),
        (json!("ipv6"), json!("::1"), json!(80))
    );
    assert_eq!(out["params"], json!([["q", "a b"]]));

    let out = url(json!({ "operation": "normalize", "url": "HTTP://Example.COM:80/a/./b/../%7euser?b=2&a=1", "sort_query": true }))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({ "normalized": "http://example.com/a/~user?a=1&b=2", "changed": true })
    );
    let out = url(json!({ "operation": "normalize", "url": "https://example.com/a?b#c" }))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({ "normalized": "https://example.com/a?b#c", "changed": false })
    );
    let out = url(json!({ "operation": "normalize", "url": "https://example.com/a#c", "strip_fragment": true }))
        .await
        .unwrap();
    assert_eq!(out["normalized"], "https://example.com/a");

    let out = url(json!({ "operation": "resolve", "base": "https://example.com/docs/guide/", "reference": "../api?v=2" }))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({ "resolved": "https://example.com/docs/api?v=2" })
    );
    let out = url(json!({ "operation": "resolve", "base": "https://example.com/a/b", "reference": "//cdn.example.net/x.js" }))
        .await
        .unwrap();
    assert_eq!(out["resolved"], "https://cdn.example.net/x.js");

    match url(json!({ "operation": "parse", "url": "../relative" })).await {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "url");
            assert!(message.contains("resolve"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn url_analyzer_reads_a_pages_metadata() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let fetch = |path: &str, extra: Value| {
        let mut p = json!({ "operation": "fetch", "url": server.url(path) });
        if let (Value::Object(p), Value::Object(extra)) = (&mut p, extra) {
            p.extend(extra);
        }
        invoke(&tools, "url_analyzer", p)
    };
    let out = fetch("/page.html", json!({})).await.unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["html"], true);
    assert_eq!(out["title"], "Widgets & Co");
    assert_eq!(out["description"], "Everything about widgets");
    assert_eq!(out["lang"], "en");
    assert_eq!(out["canonical"], server.url("/page.html"));
    assert_eq!(
        out["open_graph"],
        json!({ "title": "Widgets!", "type": "website", "image": server.url("/img/w.png") })
    );
    let out = fetch("/json", json!({})).await.unwrap();
    assert_eq!(
        (out["html"].clone(), out["title"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(out["content_type"], "application/json");
    for code in [404, 500] {
        let out = fetch(&format!("/status/{code}"), json!({})).await.unwrap();
        assert_eq!(
            (out["status"].clone(), out["html"].clone()),
            (json!(code), json!(false))
        );
    }
    let out = fetch("/bad-json", json!({})).await.unwrap();
    assert_eq!(
        (out["html"].clone(), out["title"].clone()),
        (json!(false), Value::Null)
    );
    match fetch("/slow", json!({ "timeout_ms": 300 })).await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("{other:?}"),
    }
    match fetch("/page.html", json!({ "max_bytes": 100 })).await {
        Err(Error::ResourceLimitExceeded { limit, .. }) => assert_eq!(limit, 100),
        other => panic!("{other:?}"),
    }
}

fn test_call(url: String, assertions: Value) -> Value {
    json!({ "request": { "url": url }, "assertions": assertions })
}

#[tokio::test]
async fn api_tester_reports_every_assertion() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let report = invoke(
        &tools,
        "api_tester",
        test_call(
            server.url("/json"),
            json!([
                { "type": "status", "equals": 200 },
                { "type": "status", "min": 200, "max": 299 },
                { "type": "json_path", "path": "$.id", "equals": 7 },
                { "type": "json_path", "path": "/name", "matches": "^W" },
                { "type": "json_path", "path": "$.tags", "equals": ["a", "b"] },
                { "type": "json_path", "path": "$..missing", "exists": false },
                { "type": "header", "name": "Content-Type", "contains": "json" },
                { "type": "header", "name": "x-nope", "exists": false },
                { "type": "latency", "max_ms": 5000 },
                { "type": "body_contains", "text": "Widget" }
            ]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(
        (report["total"].clone(), report["failed"].clone()),
        (json!(10), json!(0))
    );
    assert_eq!(report["assertions"][2]["actual"], 7);
    assert_eq!(report["assertions"][3]["actual"], "Widget");
    assert!(report.get("body_excerpt").is_none());

    let report = invoke(
        &tools,
        "api_tester",
        test_call(
            server.url("/status/404"),
            json!([
                { "type": "status", "equals": 200 },
                { "type": "json_path", "path": "$.code", "equals": 404 },
                { "type": "latency", "max_ms": 0 },
                { "type": "header", "name": "content-type", "equals": "text/html" }
            ]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        (report["passed"].clone(), report["failed"].clone()),
        (json!(false), json!(3))
    );
    let a = &report["assertions"];
    assert_eq!(
        (
            a[0]["passed"].clone(),
            a[0]["expected"].clone(),
            a[0]["actual"].clone()
        ),
        (json!(false), json!(200), json!(404))
    );
    assert_eq!(a[1]["passed"], true);
    assert_eq!(a[2]["passed"], false);
    assert_eq!(
        (a[3]["expected"].clone(), a[3]["actual"].clone()),
        (
            json!({ "name": "content-type", "equals": "text/html" }),
            json!("application/json")
        )
    );
    assert_eq!(report["body_excerpt"], "{\"code\":404}");

    let report = invoke(
        &tools,
        "api_tester",
        test_call(
            server.url("/status/503"),
            json!([{ "type": "status", "min": 200, "max": 299 }]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(
        (
            report["assertions"][0]["expected"].clone(),
            report["assertions"][0]["actual"].clone()
        ),
        (json!({ "min": 200, "max": 299 }), json!(503))
    );

    let report = invoke(
        &tools,
        "api_tester",
        test_call(
            server.url("/bad-json"),
            json!([{ "type": "json_path", "path": "$.a", "exists": true }]),
        ),
    )
    .await
    .unwrap();
    assert_eq!(report["passed"], false);
    assert!(
        report["assertions"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{report}"
    );
}

#[tokio::test]
async fn api_tester_reports_a_request_without_answer_and_refuses_bad_assertions() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    let report = invoke(
        &tools,
        "api_tester",
        json!({
            "request": { "url": server.url("/slow"), "timeout_ms": 300 },
            "assertions": [{ "type": "status", "equals": 200 }, { "type": "latency", "max_ms": 1000 }]
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        (report["passed"].clone(), report["status"].clone()),
        (json!(false), Value::Null)
    );
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 300 ms"),
        "{report}"
    );
    assert!(
        report["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["passed"] == false && a["actual"].is_null())
    );

    // Invalid assertions are refused before the request (the closed port
    // would otherwise give a report).
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    for (assertion, field) in [
        (
            json!({ "type": "json_path", "path": "$[", "exists": true }),
            "assertions[0].path",
        ),
        (
            json!({ "type": "json_path", "path": "$.a", "matches": "([" }),
            "assertions[0].matches",
        ),
        (
            json!({ "type": "header", "name": "x" }),
            "assertions[0].equals",
        ),
    ] {
        match invoke(
            &tools,
            "api_tester",
            test_call(format!("http://127.0.0.1:{port}/"), json!([assertion])),
        )
        .await
        {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    match invoke(
        &tools,
        "api_tester",
        test_call(server.url("/json"), json!([])),
    )
    .await
    {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "assertions"),
        other => panic!("{other:?}"),
    }

    // A validation hook supplies a default assertion to calls without any.
    let _handle = hooks.register(
        HookPoint::ToolValidation,
        sync_hook_fn(|c| {
            if &*c.component.name == "api_tester" && c.data.get("assertions").is_none() {
                let mut params = c.data.clone();
                params["assertions"] = json!([{ "type": "status", "min": 200, "max": 299 }]);
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let report = invoke(
        &tools,
        "api_tester",
        json!({ "request": { "url": server.url("/json") } }),
    )
    .await
    .unwrap();
    assert_eq!(
        (report["passed"].clone(), report["total"].clone()),
        (json!(true), json!(1))
    );
}
