//! What the network tool tests share: an HTTP server on 127.0.0.1 with the
//! answers the tests need (JSON, text, any status, slow, oversized, bad
//! JSON, redirects, an HTML page, a GraphQL API, a flaky webhook
//! receiver), and a registry with the web tools configured for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod web_reading;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{EmptySubscription, Object, Schema, SimpleObject};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
use llmspell_tools::net::{NetLimits, NetPolicy, SafeClient, SecretEnv};
use llmspell_tools::system::ServiceChecker;
use llmspell_tools::web::{
    ApiTester, GraphqlQuery, HttpRequest, SIGNATURE_HEADER, TIMESTAMP_HEADER, UrlAnalyzer,
    WebhookCaller, webhook_signature,
};
use llmspell_tools::{FsSandbox, ToolRegistry};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The environment variable the webhook tests sign with: cargo sets it for
/// every test process, so its value is a secret both sides can read.
pub const SECRET_VAR: &str = "CARGO_PKG_NAME";

/// What the webhook receiver saw, one entry per delivery attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub attempt: String,
    pub idempotency_key: String,
    pub signature_valid: bool,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    deliveries: Mutex<Vec<Delivery>>,
    /// Answers of the webhook receiver, one per attempt; then 200.
    webhook_script: Mutex<Vec<u16>>,
    /// The web reading tools' routes.
    web: Arc<web_reading::WebState>,
}

/// A test server; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The webhook receiver answers these statuses, one per attempt, then
    /// 200.
    pub fn script_webhook(&self, statuses: &[u16]) {
        *self.shared.webhook_script.lock() = statuses.to_vec();
    }

    /// Every webhook delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().clone()
    }
}

#[derive(SimpleObject)]
struct Repository {
    /// The repository's name.
    name: String,
    stars: i32,
    owner: User,
    tags: Vec<String>,
}

#[derive(SimpleObject)]
struct User {
    login: String,
}

struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// A repository by name.
    async fn repository(&self, name: String) -> Option<Repository> {
        (name == "llmspell").then(|| Repository {
            name,
            stars: 42,
            owner: User {
                login: "ada".into(),
            },
            tags: vec!["rust".into(), "llm".into()],
        })
    }

    async fn hello(&self) -> &str {
        "world"
    }

    /// Always fails.
    async fn flaky(&self) -> async_graphql::Result<Option<String>> {
        Err("flaky is down".into())
    }
}

struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Stars a repository; the new count.
    async fn star(&self, name: String) -> i32 {
        if name == "llmspell" { 43 } else { 1 }
    }
}

type Api = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Starts the server on 127.0.0.1, port chosen by the OS.
pub async fn start() -> TestServer {
    let shared = Arc::new(Shared::default());
    let schema: Api = Schema::build(QueryRoot, MutationRoot, EmptySubscription).finish();
    let app = Router::new()
        .route(
            "/json",
            get(|| async { Json(json!({ "id": 7, "name": "Widget", "tags": ["a", "b"] })) }),
        )
        .route("/text", get(|| async { "hello" }))
        .route("/echo", any(echo))
        .route("/status/{code}", any(status))
        .route(
            "/slow",
            any(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/big", any(big))
        .route(
            "/big-declared",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "application/octet-stream")],
                    vec![b'x'; 2 << 20],
                )
            }),
        )
        .route(
            "/bad-json",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"unterminated\": ",
                )
            }),
        )
        .route(
            "/redirect/loop",
            any(|| async { redirect("/redirect/loop") }),
        )
        .route("/redirect/a", any(|| async { redirect("/redirect/b") }))
        .route("/redirect/b", any(|| async { redirect("/redirect/a") }))
        .route("/redirect/chain/{n}", any(chain))
        .route("/redirect/to", any(redirect_to))
        .route("/page.html", get(page))
        .route(
            "/download",
            get(|| async { ([(header::CONTENT_TYPE, "text/csv")], "a,b\n1,2\n") }),
        )
        .route("/graphql", post(graphql).with_state(schema))
        .route("/webhook", post(webhook).with_state(shared.clone()))
        .merge(web_reading::routes(shared.web.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestServer { addr, shared, task }
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

async fn chain(Path(n): Path<u32>) -> Response {
    if n == 0 {
        "end of chain".into_response()
    } else {
        redirect(&format!("/redirect/chain/{}", n - 1))
    }
}

async fn redirect_to(Query(q): Query<BTreeMap<String, String>>) -> Response {
    redirect(q.get("url").map_or("/", String::as_str))
}

async fn status(Path(code): Path<u16>) -> Response {
    let code = StatusCode::from_u16(code).unwrap();
    (code, Json(json!({ "code": code.as_u16() }))).into_response()
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: String) -> Json<Value> {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": headers,
        "body": body,
    }))
}

/// 2 MiB in 64 KiB chunks, without a Content-Length.
async fn big() -> Response {
    let chunks = (0..32).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 64 << 10]));
    let stream = futures::stream::iter(chunks);
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        r#"<!doctype html><html lang="en"><head>
        <title>Widgets &amp; Co</title>
        <meta name="description" content="Everything about widgets">
        <meta property="og:title" content="Widgets!">
        <meta property="og:type" content="website">
        <meta property="og:image" content="/img/w.png">
        <link rel="canonical" href="/page.html">
        </head><body><h1>Widgets</h1></body></html>"#,
    )
        .into_response()
}

async fn graphql(
    State(schema): State<Api>,
    Json(request): Json<async_graphql::Request>,
) -> Json<Value> {
    let response = schema.execute(request).await;
    Json(serde_json::to_value(&response).unwrap())
}

async fn webhook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secret = std::env::var(SECRET_VAR).unwrap_or_default();
    let timestamp: u64 = get(TIMESTAMP_HEADER).parse().unwrap_or(0);
    let expected = webhook_signature(secret.as_bytes(), timestamp, body.as_bytes()).unwrap();
    let signature_valid = !secret.is_empty() && get(SIGNATURE_HEADER) == expected;
    shared.deliveries.lock().push(Delivery {
        attempt: get("x-llmspell-attempt"),
        idempotency_key: get("idempotency-key"),
        signature_valid,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    if !signature_valid && !get(SIGNATURE_HEADER).is_empty() {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let next = {
        let mut script = shared.webhook_script.lock();
        if script.is_empty() {
            200
        } else {
            script.remove(0)
        }
    };
    (
        StatusCode::from_u16(next).unwrap(),
        Json(json!({ "received": next == 200 })),
    )
        .into_response()
}

/// A client allowing 127.0.0.1 (named exactly) with short limits.
pub fn client() -> SafeClient {
    SafeClient::new(NetPolicy::new(["127.0.0.1"]), limits())
}

/// Short limits for tests: 2 s per request, 64 KiB bodies, 3 redirects.
pub fn limits() -> NetLimits {
    NetLimits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 64 << 10,
        max_redirects: 3,
    }
}

/// The credentials the tests may send: the webhook secret's variable.
pub fn secrets() -> SecretEnv {
    SecretEnv::new([SECRET_VAR])
}

/// A registry (with a hook registry to add hooks to) holding the web tools
/// (`web_search` aside: see `search_registry`) and `service_checker`, all
/// on `client`; `http_request` saves under `sandbox`.
pub fn registry(client: &SafeClient, sandbox: FsSandbox) -> (HookRegistry, ToolRegistry) {
    let hooks = HookRegistry::new();
    let runner = GuardedRunner::new(HookExecutor::builder(hooks.clone()).build());
    let tools = ToolRegistry::new(runner);
    tools
        .register(Arc::new(HttpRequest::new(
            client.clone(),
            sandbox,
            secrets(),
        )))
        .unwrap();
    tools
        .register(Arc::new(GraphqlQuery::new(client.clone(), secrets())))
        .unwrap();
    tools
        .register(Arc::new(UrlAnalyzer::new(client.clone())))
        .unwrap();
    tools
        .register(Arc::new(ApiTester::new(client.clone(), secrets())))
        .unwrap();
    tools
        .register(Arc::new(WebhookCaller::new(client.clone(), secrets())))
        .unwrap();
    tools
        .register(Arc::new(ServiceChecker::with_client(client.clone())))
        .unwrap();
    for tool in web_reading::url_tools(client) {
        tools.register(tool).unwrap();
    }
    (hooks, tools)
}
