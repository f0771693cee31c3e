//! Server-side request forgery: every networked tool refuses every target
//! of this corpus, through the hooked registry, with an error that names
//! the reason. Loopback by name and address, the unspecified address, IPv6
//! and IPv4-mapped forms, decimal/octal/hex spellings, cloud metadata by
//! address and by name, private, CGNAT, link-local, NAT64 and multicast
//! addresses, names that resolve to internal addresses, redirects from an
//! allowed server to forbidden addresses and hosts, redirect loops, too
//! many redirects and oversized responses. The SMTP server of
//! `email_sender` and the PostgreSQL hosts of `database_connector` come
//! from configuration and are refused the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::comm::{EmailConfig, EmailSender, SmtpSecurity};
use llmspell_tools::database::{DatabaseConfig, DatabaseConnector, PostgresConnection};
use llmspell_tools::net::{NetPolicy, SafeClient, SecretEnv, StaticResolver};
use llmspell_tools::web::{SearchEndpoint, SearchProviderKind, WebSearch, WebSearchConfig};
use llmspell_tools::{BuiltinToolsConfig, FsSandbox, ToolRegistry, builtin_tools};
use net_support::{TestServer, limits, registry};
use serde_json::{Value, json};

/// The URL-taking web tools and how each is called with a target URL.
const URL_TOOLS: [&str; 9] = [
    "http_request",
    "graphql_query",
    "url_analyzer",
    "api_tester",
    "webhook_caller",
    "service_checker",
    "web_scraper",
    "webpage_monitor",
    "sitemap_crawler",
];

fn call(tool: &str, url: &str) -> Value {
    match tool {
        "http_request" => json!({ "url": url }),
        "graphql_query" => json!({ "operation": "query", "endpoint": url, "query": "{ hello }" }),
        "url_analyzer" => json!({ "operation": "fetch", "url": url }),
        "api_tester" => json!({
            "request": { "url": url },
            "assertions": [{ "type": "status", "equals": 200 }]
        }),
        "webhook_caller" => json!({ "url": url, "payload": { "event": "x" }, "max_retries": 0 }),
        "service_checker" => json!({ "operation": "http", "url": url }),
        "web_scraper" => json!({ "url": url, "readable": true }),
        "webpage_monitor" => json!({ "operation": "check", "url": url }),
        "sitemap_crawler" => json!({ "url": url }),
        other => panic!("no call for {other}"),
    }
}

async fn invoke(tools: &ToolRegistry, tool: &str, params: Value) -> Result<Value, Error> {
    tools
        .invoke(tool, params, &ExecutionContext::native())
        .await
}

/// The message of the security violation `result` must be, naming `reason`.
fn refused(result: Result<Value, Error>, reason: &str, what: &str) {
    match result {
        Err(Error::SecurityViolation { message }) => {
            assert!(
                message.contains(reason),
                "{what}: the refusal does not name `{reason}`: {message}"
            );
        }
        other => panic!("{what}: expected a security violation naming `{reason}`, got {other:?}"),
    }
}

/// A registry whose policy allows every host name but no internal address,
/// resolving the `.test` names of the corpus from a fixed table.
fn open_registry() -> ToolRegistry {
    let resolver = StaticResolver::new([
        ("intranet.test", vec!["10.1.2.3".parse().unwrap()]),
        (
            "rebind.test",
            vec!["::ffff:169.254.169.254".parse().unwrap()],
        ),
        (
            "twofaced.test",
            vec!["192.168.7.7".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        ),
    ]);
    let policy = NetPolicy::new(["*"]).with_resolver(Arc::new(resolver));
    registry(&SafeClient::new(policy, limits()), FsSandbox::deny_all()).1
}

/// Direct targets, each refused by every tool: (URL, reason).
fn direct_corpus(port: u16) -> Vec<(String, &'static str)> {
    let p = port;
    vec![
        (format!("http://localhost:{p}/"), "loopback"),
        (format!("http://app.localhost:{p}/"), "loopback"),
        (format!("http://127.0.0.1:{p}/"), "loopback"),
        ("http://127.0.0.2/".into(), "loopback"),
        (format!("http://0.0.0.0:{p}/"), "unspecified"),
        (format!("http://[::1]:{p}/"), "loopback"),
        (
            format!("http://[::ffff:127.0.0.1]:{p}/"),
            "the IPv6 form of 127.0.0.1",
        ),
        (
            "http://[::ffff:7f00:1]/".into(),
            "the IPv6 form of 127.0.0.1",
        ),
        (format!("http://2130706433:{p}/"), "non-canonical"),
        (format!("http://0177.0.0.1:{p}/"), "non-canonical"),
        (format!("http://0x7f.1:{p}/"), "non-canonical"),
        ("http://0x7f000001/".into(), "non-canonical"),
        ("http://127.1/".into(), "non-canonical"),
        (
            "http://169.254.169.254/latest/meta-data/".into(),
            "cloud metadata",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/".into(),
            "cloud metadata",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/".into(),
            "cloud metadata service",
        ),
        ("http://10.0.0.1/".into(), "private (RFC 1918)"),
        ("http://172.16.5.4/".into(), "private (RFC 1918)"),
        ("http://192.168.1.1/admin".into(), "private (RFC 1918)"),
        ("http://[fd12:3456::1]/".into(), "unique local"),
        ("http://100.64.0.1/".into(), "CGNAT"),
        ("http://169.254.10.1/".into(), "link-local"),
        ("http://[fe80::1]/".into(), "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/".into(), "NAT64"),
        ("http://224.0.0.251/".into(), "multicast"),
        (
            "http://intranet.test/".into(),
            "resolves only to refused addresses",
        ),
        ("http://rebind.test/".into(), "cloud metadata"),
        ("http://twofaced.test/".into(), "private (RFC 1918)"),
    ]
}

#[tokio::test]
async fn every_tool_refuses_every_direct_target() {
    // A listener on loopback that counts connections: nothing may reach it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let accept = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    let tools = open_registry();
    let corpus = direct_corpus(port);
    assert!(corpus.len() >= 20);
    for (url, reason) in &corpus {
        for tool in URL_TOOLS {
            refused(
                invoke(&tools, tool, call(tool, url)).await,
                reason,
                &format!("{tool} {url}"),
            );
        }
    }
    // service_checker's TCP check takes a host, not a URL.
    for (host, reason) in [
        ("localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("[::ffff:127.0.0.1]", "the IPv6 form of 127.0.0.1"),
        ("0.0.0.0", "unspecified"),
        ("2130706433", "non-canonical"),
        ("0x7f.1", "non-canonical"),
        ("017700000001", "non-canonical"),
        ("169.254.169.254", "cloud metadata"),
        ("metadata.google.internal", "cloud metadata service"),
        ("10.0.0.1", "private"),
        ("intranet.test", "resolves only to refused addresses"),
    ] {
        refused(
            invoke(
                &tools,
                "service_checker",
                json!({ "operation": "tcp", "host": host, "port": port }),
            )
            .await,
            reason,
            &format!("service_checker tcp {host}"),
        );
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a refused target was contacted"
    );
    accept.abort();
}

#[tokio::test]
async fn refusals_pass_the_tool_error_point() {
    let (hooks, tools) = registry(
        &SafeClient::new(NetPolicy::new(["*"]), limits()),
        FsSandbox::deny_all(),
    );
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let s = seen.clone();
    let _handle = hooks.register(
        HookPoint::ToolError,
        sync_hook_fn(move |c| {
            s.lock().push(c.data.to_string());
            Ok(HookResult::Continue)
        }),
    );
    for tool in URL_TOOLS {
        refused(
            invoke(&tools, tool, call(tool, "http://169.254.169.254/")).await,
            "cloud metadata",
            tool,
        );
    }
    let seen = seen.lock();
    assert_eq!(seen.len(), URL_TOOLS.len(), "{seen:?}");
    assert!(
        seen.iter().all(|e| e.contains("cloud metadata")),
        "{seen:?}"
    );
}

/// The tools that follow redirects.
const FOLLOWING: [&str; 7] = [
    "http_request",
    "graphql_query",
    "url_analyzer",
    "api_tester",
    "web_scraper",
    "webpage_monitor",
    "sitemap_crawler",
];

/// A registry allowing only the loopback test server (by its address) and,
/// with `any_host`, every host name.
fn server_registry(any_host: bool) -> ToolRegistry {
    let hosts: Vec<&str> = if any_host {
        vec!["127.0.0.1", "*"]
    } else {
        vec!["127.0.0.1"]
    };
    let resolver = StaticResolver::new([("intranet.test", vec!["10.1.2.3".parse().unwrap()])]);
    let policy = NetPolicy::new(hosts).with_resolver(Arc::new(resolver));
    registry(&SafeClient::new(policy, limits()), FsSandbox::deny_all()).1
}

fn redirect_via(server: &TestServer, target: &str) -> String {
    let mut url = url::Url::parse(&server.url("/redirect/to")).unwrap();
    url.query_pairs_mut().append_pair("url", target);
    url.to_string()
}

#[tokio::test]
async fn redirects_from_an_allowed_server_to_forbidden_targets_are_refused() {
    let server = net_support::start().await;
    let open = server_registry(true);
    let strict = server_registry(false);
    let port = server.addr.port();
    let cases: Vec<(&ToolRegistry, String, &str)> = vec![
        (
            &open,
            "http://169.254.169.254/latest/meta-data/".into(),
            "cloud metadata",
        ),
        (&open, "http://10.0.0.1/".into(), "private (RFC 1918)"),
        (&open, "http://[::1]/".into(), "loopback"),
        (
            &open,
            format!("http://[::ffff:127.0.0.2]:{port}/"),
            "the IPv6 form of 127.0.0.2",
        ),
        (
            &open,
            "http://metadata.google.internal/".into(),
            "cloud metadata service",
        ),
        (
            &open,
            "http://intranet.test/".into(),
            "resolves only to refused addresses",
        ),
        (
            &strict,
            "http://evil.example/".into(),
            "not in the allow-list",
        ),
        (
            &strict,
            "https://evil.example/".into(),
            "not in the allow-list",
        ),
        (
            &strict,
            format!("http://localhost:{port}/json"),
            "not in the allow-list",
        ),
    ];
    for (tools, target, reason) in &cases {
        let url = redirect_via(&server, target);
        for tool in FOLLOWING {
            refused(
                invoke(tools, tool, call(tool, &url)).await,
                reason,
                &format!("{tool} via redirect to {target}"),
            );
        }
        // The redirect's target is named in the refusal (a name's addresses
        // are refused when it is resolved, which names the host instead).
        match invoke(tools, "http_request", call("http_request", &url)).await {
            Err(Error::SecurityViolation { message }) => {
                let named = if target.contains("intranet.test") {
                    "host `intranet.test`".to_owned()
                } else {
                    "redirect to `http".to_owned()
                };
                assert!(message.contains(&named), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // The webhook caller and service_checker never follow a redirect:
        // they report it.
        let out = invoke(tools, "webhook_caller", call("webhook_caller", &url))
            .await
            .unwrap();
        assert_eq!(
            (out["delivered"].clone(), out["status"].clone()),
            (json!(false), json!(302))
        );
        let out = invoke(tools, "service_checker", call("service_checker", &url))
            .await
            .unwrap();
        assert_eq!(out["status"], 302);
        assert_eq!(out["location"], json!(target));
    }
}

#[tokio::test]
async fn redirect_loops_chains_and_oversized_bodies_are_stopped() {
    let server = net_support::start().await;
    let tools = server_registry(false);
    for (path, reason) in [
        ("/redirect/loop", "redirect loop"),
        ("/redirect/a", "redirect loop"),
        ("/redirect/chain/10", "too many redirects: more than 3"),
    ] {
        let url = server.url(path);
        for tool in [
            "http_request",
            "graphql_query",
            "url_analyzer",
            "web_scraper",
            "webpage_monitor",
            "sitemap_crawler",
        ] {
            match invoke(&tools, tool, call(tool, &url)).await {
                Err(Error::External {
                    message, retryable, ..
                }) => {
                    assert!(message.contains(reason), "{tool} {path}: {message}");
                    assert!(!retryable, "{tool} {path}");
                }
                other => panic!("{tool} {path}: {other:?}"),
            }
        }
        let report = invoke(&tools, "api_tester", call("api_tester", &url))
            .await
            .unwrap();
        assert_eq!(report["passed"], false);
        assert!(
            report["error"].as_str().unwrap().contains(reason),
            "{report}"
        );
    }
    // Three redirects are within the limit.
    let out = invoke(
        &tools,
        "http_request",
        call("http_request", &server.url("/redirect/chain/3")),
    )
    .await
    .unwrap();
    assert_eq!(out["body"], "end of chain");

    for path in ["/big", "/big-declared"] {
        let url = server.url(path);
        for tool in [
            "http_request",
            "graphql_query",
            "url_analyzer",
            "web_scraper",
            "webpage_monitor",
            "sitemap_crawler",
        ] {
            match invoke(&tools, tool, call(tool, &url)).await {
                Err(Error::ResourceLimitExceeded {
                    resource,
                    limit,
                    requested,
                }) => {
                    assert_eq!((resource.as_str(), limit), ("response_bytes", 64 << 10));
                    assert!(requested > limit, "{tool} {path}");
                }
                other => panic!("{tool} {path}: {other:?}"),
            }
        }
        let report = invoke(&tools, "api_tester", call("api_tester", &url))
            .await
            .unwrap();
        assert!(
            report["error"].as_str().unwrap().contains("response_bytes"),
            "{report}"
        );
    }
}

#[tokio::test]
async fn the_default_configuration_allows_no_network_tool_anything() {
    let tools = builtin_tools(&BuiltinToolsConfig::default());
    for name in URL_TOOLS {
        let tool = tools.iter().find(|t| t.metadata().name() == name).unwrap();
        match tool
            .execute(
                call(name, "https://example.com/"),
                &ExecutionContext::native(),
            )
            .await
        {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("allowed_hosts"), "{name}: {message}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn explicit_allowances_open_exactly_what_they_name() {
    let server = net_support::start().await;
    let port = server.addr.port();
    // `*` with loopback allowed by address reaches the server by any
    // loopback spelling the policy accepts...
    let client = SafeClient::new(
        NetPolicy::new(["*"]).with_allowed_addresses(["127.0.0.1"]),
        limits(),
    );
    let (_, tools) = registry(&client, FsSandbox::deny_all());
    for url in [
        format!("http://127.0.0.1:{port}/json"),
        format!("http://localhost:{port}/json"),
    ] {
        let out = invoke(&tools, "http_request", json!({ "url": url }))
            .await
            .unwrap();
        assert_eq!(out["body"]["id"], 7, "{url}");
        assert_eq!(out["address"], format!("127.0.0.1:{port}"));
    }
    // ...but not other loopback addresses, nor numeric spellings of it.
    refused(
        invoke(
            &tools,
            "http_request",
            json!({ "url": format!("http://127.0.0.2:{port}/") }),
        )
        .await,
        "loopback",
        "127.0.0.2",
    );
    refused(
        invoke(
            &tools,
            "http_request",
            json!({ "url": format!("http://2130706433:{port}/") }),
        )
        .await,
        "non-canonical",
        "decimal",
    );
    // An invalid allowance refuses everything and says why.
    let client = SafeClient::new(
        NetPolicy::new(["*"]).with_allowed_addresses(["10.0.0.0/33"]),
        limits(),
    );
    let (_, tools) = registry(&client, FsSandbox::deny_all());
    refused(
        invoke(
            &tools,
            "http_request",
            json!({ "url": format!("http://127.0.0.1:{port}/") }),
        )
        .await,
        "10.0.0.0/33",
        "invalid allowance",
    );
}

/// A registry with `web_search` whose every provider is configured at
/// `base` (keys from the test secret), on `client`.
fn search_registry(client: &SafeClient, base: &str) -> ToolRegistry {
    let config = SearchProviderKind::ALL
        .into_iter()
        .fold(WebSearchConfig::default(), |c, kind| {
            c.with_provider(
                kind,
                SearchEndpoint {
                    base_url: Some(base.to_owned()),
                    api_key_env: kind.needs_key().then(|| net_support::SECRET_VAR.to_owned()),
                },
            )
        });
    let tools = ToolRegistry::new(GuardedRunner::new(
        HookExecutor::builder(HookRegistry::new()).build(),
    ));
    tools
        .register(Arc::new(WebSearch::new(
            client.clone(),
            net_support::secrets(),
            config,
        )))
        .unwrap();
    tools
}

fn search_call(kind: SearchProviderKind) -> Value {
    json!({ "query": "widgets", "provider": kind.as_str() })
}

#[tokio::test]
async fn web_search_refuses_every_direct_target_as_a_provider_base_url() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let accept = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let resolver = StaticResolver::new([
        ("intranet.test", vec!["10.1.2.3".parse().unwrap()]),
        (
            "rebind.test",
            vec!["::ffff:169.254.169.254".parse().unwrap()],
        ),
        (
            "twofaced.test",
            vec!["192.168.7.7".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        ),
    ]);
    let client = SafeClient::new(
        NetPolicy::new(["*"]).with_resolver(Arc::new(resolver)),
        limits(),
    );
    for (url, reason) in direct_corpus(port) {
        let tools = search_registry(&client, &url);
        for kind in SearchProviderKind::ALL {
            refused(
                invoke(&tools, "web_search", search_call(kind)).await,
                reason,
                &format!("web_search {kind} at {url}"),
            );
        }
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a refused target was contacted"
    );
    accept.abort();
}

#[tokio::test]
async fn web_search_refuses_redirects_to_forbidden_targets() {
    let server = net_support::start().await;
    let resolver = StaticResolver::new([("intranet.test", vec!["10.1.2.3".parse().unwrap()])]);
    let client = SafeClient::new(
        NetPolicy::new(["127.0.0.1", "*"]).with_resolver(Arc::new(resolver)),
        limits(),
    );
    for (target, reason) in [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.0.0.1/", "private (RFC 1918)"),
        ("http://[::1]/", "loopback"),
    ] {
        // The base URL is the redirect route with the target in its query:
        // the provider's path lands in that query, so every provider's
        // request is answered with a redirect to the target's host.
        let base = redirect_via(&server, target);
        let tools = search_registry(&client, &base);
        for kind in SearchProviderKind::ALL {
            let result = invoke(&tools, "web_search", search_call(kind)).await;
            match result {
                Err(Error::SecurityViolation { message }) => {
                    assert!(message.contains(reason), "{kind} via {target}: {message}");
                }
                Err(Error::External { message, .. }) => {
                    panic!("{kind} via {target}: not refused by the policy: {message}")
                }
                other => panic!("{kind} via {target}: {other:?}"),
            }
        }
    }
    // A redirect to another origin by name is not followed at all (the
    // name is never resolved): the redirect is reported.
    let tools = search_registry(&client, &redirect_via(&server, "http://intranet.test/"));
    for kind in SearchProviderKind::ALL {
        match invoke(&tools, "web_search", search_call(kind)).await {
            Err(Error::External { message, .. }) => {
                assert!(
                    message.contains("http://intranet.test/") && message.contains("not followed"),
                    "{kind}: {message}"
                );
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_default_configuration_allows_web_search_nothing() {
    let tools = builtin_tools(&BuiltinToolsConfig::default());
    let search = tools
        .iter()
        .find(|t| t.metadata().name() == "web_search")
        .unwrap();
    match search
        .execute(json!({ "query": "x" }), &ExecutionContext::native())
        .await
    {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("allowed_hosts"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// The hosts `email_sender` and `database_connector` (PostgreSQL) are
/// configured with, each refused: (host, reason).
const CONFIGURED_HOSTS: [(&str, &str); 13] = [
    ("localhost", "loopback"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "the IPv6 form of 127.0.0.1"),
    ("0.0.0.0", "unspecified"),
    ("2130706433", "non-canonical"),
    ("0x7f.1", "non-canonical"),
    ("169.254.169.254", "cloud metadata"),
    ("metadata.google.internal", "cloud metadata service"),
    ("10.0.0.1", "private"),
    ("100.64.0.1", "CGNAT"),
    ("intranet.test", "resolves only to refused addresses"),
    ("twofaced.test", "private (RFC 1918)"),
];

/// A registry with `email_sender` and `database_connector` whose server is
/// `host:port`, under the open policy of [`open_registry`].
fn configured_registry(host: &str, port: u16) -> ToolRegistry {
    let resolver = StaticResolver::new([
        ("intranet.test", vec!["10.1.2.3".parse().unwrap()]),
        (
            "twofaced.test",
            vec!["192.168.7.7".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        ),
    ]);
    let policy = NetPolicy::new(["*"]).with_resolver(Arc::new(resolver));
    let tools = registry(
        &SafeClient::new(policy.clone(), limits()),
        FsSandbox::deny_all(),
    )
    .1;
    let email = EmailConfig {
        host: Some(host.to_owned()),
        port: Some(port),
        security: SmtpSecurity::Plain,
        from: Some("reports@example.com".into()),
        allowed_recipient_domains: vec!["example.com".into()],
        ..EmailConfig::default()
    };
    tools
        .register(Arc::new(EmailSender::new(
            email,
            policy.clone(),
            FsSandbox::deny_all(),
            SecretEnv::default(),
        )))
        .unwrap();
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let mut database = DatabaseConfig::default();
    database.connections.insert(
        "target".into(),
        PostgresConnection {
            url: format!("postgres://app@{url_host}:{port}/db"),
            password_env: None,
        },
    );
    tools
        .register(Arc::new(DatabaseConnector::new(
            database,
            policy,
            FsSandbox::deny_all(),
            SecretEnv::default(),
        )))
        .unwrap();
    tools
}

#[tokio::test]
async fn smtp_and_postgres_servers_are_refused_like_any_other_target() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let accept = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    for (host, reason) in CONFIGURED_HOSTS {
        let tools = configured_registry(host, port);
        refused(
            invoke(
                &tools,
                "email_sender",
                json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" }),
            )
            .await,
            reason,
            &format!("email_sender via {host}"),
        );
        match invoke(
            &tools,
            "database_connector",
            json!({ "connection": "target", "sql": "SELECT 1" }),
        )
        .await
        {
            // The URL parser reads a decimal or hex host as the address it
            // spells, which the policy then refuses as internal.
            Err(Error::SecurityViolation { message }) => {
                let expected = if reason == "non-canonical" {
                    "loopback"
                } else {
                    reason
                };
                assert!(
                    message.contains(expected) || message.contains(reason),
                    "database_connector via {host}: {message}"
                );
            }
            other => panic!("database_connector via {host}: {other:?}"),
        }
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a refused server was contacted"
    );
    accept.abort();
}
