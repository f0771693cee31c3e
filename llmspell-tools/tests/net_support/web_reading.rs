//! The test server's answers for the web reading tools: search providers
//! speaking their real formats (Brave, Tavily, SearXNG, DuckDuckGo's HTML
//! page) with their error answers, pages to scrape and monitor, and a site
//! with robots.txt, a sitemap index, a gzip sitemap and a broken one.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::{SECRET_VAR, TestServer};
use llmspell_core::Tool;
use llmspell_tools::net::SafeClient;
use llmspell_tools::web::{SitemapCrawler, WebScraper, WebpageMonitor};

/// What the web reading routes keep.
pub struct WebState {
    /// The last search request: `{ provider, method, query, headers, body }`.
    pub last_search: Mutex<Option<Value>>,
    /// The monitored page's body.
    pub page: Mutex<String>,
    /// robots.txt: status and body.
    pub robots: Mutex<(u16, String)>,
}

impl Default for WebState {
    fn default() -> Self {
        Self {
            last_search: Mutex::new(None),
            page: Mutex::new("<html><body><p>nothing yet</p></body></html>".into()),
            robots: Mutex::new((200, ROBOTS.into())),
        }
    }
}

/// The site's robots.txt: `/private/` disallowed for everyone, `/drafts/`
/// for llmspell only; the sitemap index named.
pub const ROBOTS: &str = "User-agent: *\nDisallow: /private/\n\nUser-agent: llmspell\nDisallow: /private/\nDisallow: /drafts/\nCrawl-delay: 2\n\nSitemap: /sitemap_index.xml\n";

impl TestServer {
    /// The last request a search route received.
    pub fn last_search(&self) -> Option<Value> {
        self.shared.web.last_search.lock().clone()
    }

    /// Sets the body of `/monitored`.
    pub fn set_page(&self, html: &str) {
        *self.shared.web.page.lock() = html.to_owned();
    }

    /// Sets what `/robots.txt` answers.
    pub fn set_robots(&self, status: u16, body: &str) {
        *self.shared.web.robots.lock() = (status, body.to_owned());
    }
}

/// `web_scraper`, `webpage_monitor` (snapshots in memory) and
/// `sitemap_crawler` on `client`.
pub fn url_tools(client: &SafeClient) -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(WebScraper::new(client.clone())),
        Arc::new(WebpageMonitor::new(client.clone())),
        Arc::new(SitemapCrawler::new(client.clone())),
    ]
}

pub(super) fn routes(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/brave/res/v1/web/search", get(brave))
        .route("/tavily/search", post(tavily))
        .route("/searxng/search", get(searxng))
        .route("/ddg/html/", get(duckduckgo))
        .route("/monitored", get(monitored))
        .route("/robots.txt", get(robots))
        .route("/sitemap_index.xml", get(sitemap_index))
        .route("/sitemap-pages.xml", get(sitemap_pages))
        .route("/sitemap-blog.xml.gz", get(sitemap_blog_gz))
        .route("/nested-index.xml", get(nested_index))
        .route("/sitemap-deep.xml", get(sitemap_deep))
        .route(
            "/sitemap-broken.xml",
            get(|| async { xml("<urlset><url><loc>x</url>") }),
        )
        .route("/sitemap-foreign.xml", get(sitemap_foreign))
        .route("/site/article.html", get(article))
        .route(
            "/site/notes.txt",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain text") }),
        )
        .with_state(state)
}

fn record(
    state: &WebState,
    provider: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Value,
) {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    *state.last_search.lock() = Some(json!({
        "provider": provider, "query": query, "headers": headers, "body": body,
    }));
}

fn secret() -> String {
    std::env::var(SECRET_VAR).unwrap()
}

fn json_answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// The scenario a query selects: `error401`, `error429`, `error500`,
/// `malformed`, `slow`, `huge`, or results.
async fn scenario(q: &str) -> Option<Response> {
    match q {
        "malformed" => Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"results\": [ {\"title\": ",
            )
                .into_response(),
        ),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Some("late".into_response())
        }
        "huge" => Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"pad\": \"{}\"}}", "x".repeat(2 << 20)),
            )
                .into_response(),
        ),
        _ => None,
    }
}

/// Brave: `X-Subscription-Token`, `q`, `count`; `web.results[]`.
async fn brave(
    State(state): State<Arc<WebState>>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&state, "brave", &q, &headers, Value::Null);
    let brave_error = |status: u16, code: &str, detail: &str| {
        json_answer(
            status,
            json!({ "type": "ErrorResponse", "time": 1_700_000_000,
                    "error": { "id": "c0ffee", "status": status, "code": code, "detail": detail,
                               "meta": { "component": "authentication" } } }),
        )
    };
    if headers
        .get("x-subscription-token")
        .and_then(|v| v.to_str().ok())
        != Some(&secret())
    {
        return brave_error(
            401,
            "SUBSCRIPTION_TOKEN_INVALID",
            "The provided subscription token is invalid.",
        );
    }
    let query = q.get("q").cloned().unwrap_or_default();
    if let Some(r) = scenario(&query).await {
        return r;
    }
    match query.as_str() {
        "error401" => brave_error(
            401,
            "SUBSCRIPTION_TOKEN_INVALID",
            "The provided subscription token is invalid.",
        ),
        "error429" => {
            let mut r = brave_error(429, "RATE_LIMITED", "Request rate limit exceeded for plan.");
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        }
        "error500" => (
            StatusCode::BAD_GATEWAY,
            "<html><body>upstream error</body></html>",
        )
            .into_response(),
        _ => {
            let n: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(20);
            let results: Vec<Value> = (1..=n.min(20))
                .map(|i| json!({
                    "type": "search_result", "subtype": "generic",
                    "title": format!("<strong>Rust</strong> result {i}"),
                    "url": format!("https://example.com/rust/{i}"),
                    "description": format!("About <strong>Rust</strong> &amp; safety, part {i}."),
                    "is_source_local": false, "language": "en", "family_friendly": true,
                    "profile": { "name": "Example", "url": "https://example.com" },
                    "meta_url": { "scheme": "https", "netloc": "example.com", "hostname": "example.com" }
                }))
                .collect();
            json_answer(
                200,
                json!({
                    "type": "search",
                    "query": { "original": query, "more_results_available": true },
                    "mixed": { "type": "mixed", "main": [] },
                    "web": { "type": "search", "results": results, "family_friendly": true }
                }),
            )
        }
    }
}

/// Tavily: bearer token; JSON body `{ query, max_results }`; `results[]`.
async fn tavily(State(state): State<Arc<WebState>>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    record(
        &state,
        "tavily",
        &BTreeMap::new(),
        &headers,
        request.clone(),
    );
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {}", secret())) {
        return json_answer(
            401,
            json!({ "detail": { "error": "Unauthorized: missing or invalid API key." } }),
        );
    }
    let query = request["query"].as_str().unwrap_or_default().to_owned();
    if let Some(r) = scenario(&query).await {
        return r;
    }
    match query.as_str() {
        "error429" => json_answer(
            429,
            json!({ "detail": { "error": "Your request has been blocked due to excessive requests." } }),
        ),
        "error500" => json_answer(
            500,
            json!({ "detail": { "error": "Internal Server Error" } }),
        ),
        _ => {
            let n = request["max_results"].as_u64().unwrap_or(5) as usize;
            let results: Vec<Value> = (1..=n)
                .map(|i| {
                    json!({
                        "title": format!("Tavily hit {i}"),
                        "url": format!("https://docs.example.org/{i}"),
                        "content": format!("Content of hit {i}"),
                        "score": 1.0 / i as f64,
                        "raw_content": null
                    })
                })
                .collect();
            json_answer(
                200,
                json!({
                    "query": query, "follow_up_questions": null, "answer": null, "images": [],
                    "results": results, "response_time": 1.23
                }),
            )
        }
    }
}

/// SearXNG: `q`, `format=json`; `results[]`; 403 when json is off.
async fn searxng(
    State(state): State<Arc<WebState>>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&state, "searxng", &q, &headers, Value::Null);
    let query = q.get("q").cloned().unwrap_or_default();
    if q.get("format").map(String::as_str) != Some("json") || query == "forbidden" {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html")],
            "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>",
        )
            .into_response();
    }
    if let Some(r) = scenario(&query).await {
        return r;
    }
    if query == "error429" {
        return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
    }
    json_answer(
        200,
        json!({
            "query": query, "number_of_results": 0,
            "results": [
                { "url": "https://www.rust-lang.org/", "title": "Rust Programming Language",
                  "content": "A language empowering everyone.", "engine": "duckduckgo",
                  "parsed_url": ["https", "www.rust-lang.org", "/", "", "", ""], "template": "default.html",
                  "engines": ["duckduckgo", "brave"], "positions": [1, 2], "score": 4.0, "category": "general" },
                { "url": "https://doc.rust-lang.org/book/", "title": "The Rust Book", "content": null,
                  "engine": "brave", "engines": ["brave"], "positions": [3], "score": 1.0, "category": "general" },
                { "url": "https://www.rust-lang.org/", "title": "Rust (duplicate)", "content": "dup",
                  "engine": "bing", "engines": ["bing"], "positions": [5], "score": 0.5, "category": "general" }
            ],
            "answers": [], "corrections": [], "infoboxes": [], "suggestions": ["rust book"],
            "unresponsive_engines": [["google", "timeout"]]
        }),
    )
}

/// DuckDuckGo's HTML page: `.result` blocks, an ad, redirect links.
async fn duckduckgo(
    State(state): State<Arc<WebState>>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&state, "duckduckgo", &q, &headers, Value::Null);
    let query = q.get("q").cloned().unwrap_or_default();
    let html = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            body,
        )
            .into_response()
    };
    match query.as_str() {
        "anomaly" => html(
            StatusCode::ACCEPTED,
            "<html><body><div class='anomaly-modal__title'>Unfortunately, bots use DuckDuckGo too.</div>\
             <div class='anomaly-modal'></div></body></html>".into(),
        ),
        "notddg" => html(StatusCode::OK, "<html><body><p>hello</p></body></html>".into()),
        "nothing" => html(
            StatusCode::OK,
            "<html><body><div id='links' class='results'><div class='no-results'>No results.</div></div></body></html>".into(),
        ),
        _ => {
            let result = |href: &str, title: &str, snippet: &str, extra: &str| {
                format!(
                    "<div class='result results_links results_links_deep web-result {extra}'>\
                     <div class='links_main links_deep result__body'>\
                     <h2 class='result__title'><a rel='nofollow' class='result__a' href='{href}'>{title}</a></h2>\
                     <div class='result__extras'><a class='result__url' href='{href}'>example</a></div>\
                     <a class='result__snippet' href='{href}'>{snippet}</a>\
                     </div></div>"
                )
            };
            let body = format!(
                "<!DOCTYPE html><html><head><title>{query} at DuckDuckGo</title></head><body>\
                 <div class='serp__results'><div id='links' class='results'>{}{}{}{}</div></div></body></html>",
                result("https://duckduckgo.com/y.js?ad_provider=x", "Buy things", "An ad", "result--ad"),
                result(
                    "//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.rust-lang.org%2Flearn&amp;rut=abc",
                    "Learn <b>Rust</b>",
                    "Get started with <b>Rust</b> &amp; Cargo.",
                    ""
                ),
                result("https://crates.io/", "crates.io", "The Rust community's crate registry.", ""),
                result("https://blog.rust-lang.org/", "Rust Blog", "News.", ""),
            );
            html(StatusCode::OK, body)
        }
    }
}

async fn monitored(State(state): State<Arc<WebState>>) -> Response {
    let body = state.page.lock().clone();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn robots(State(state): State<Arc<WebState>>) -> Response {
    let (status, body) = state.robots.lock().clone();
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "text/plain")],
        body,
    )
        .into_response()
}

fn xml(body: impl Into<String>) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], body.into()).into_response()
}

fn origin(headers: &HeaderMap) -> String {
    format!(
        "http://{}",
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
    )
}

const NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

async fn sitemap_index(headers: HeaderMap) -> Response {
    let o = origin(&headers);
    xml(format!(
        "<?xml version='1.0' encoding='UTF-8'?><sitemapindex xmlns='{NS}'>\
         <sitemap><loc>{o}/sitemap-pages.xml</loc><lastmod>2024-06-01</lastmod></sitemap>\
         <sitemap><loc>{o}/sitemap-blog.xml.gz</loc></sitemap>\
         <sitemap><loc>{o}/nested-index.xml</loc></sitemap>\
         <sitemap><loc>{o}/sitemap-broken.xml</loc></sitemap>\
         </sitemapindex>"
    ))
}

async fn sitemap_pages(headers: HeaderMap) -> Response {
    let o = origin(&headers);
    xml(format!(
        "<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='{NS}'>\
         <url><loc>{o}/</loc><lastmod>2024-06-01T10:00:00+00:00</lastmod><changefreq>daily</changefreq><priority>1.0</priority></url>\
         <url><loc>{o}/about?lang=en&amp;v=2</loc><changefreq>monthly</changefreq><priority>0.5</priority></url>\
         <url><loc>{o}/private/admin</loc></url>\
         <url><loc>{o}/drafts/next-post</loc></url>\
         <url><loc>https://elsewhere.example/page</loc></url>\
         </urlset>"
    ))
}

async fn sitemap_blog_gz(headers: HeaderMap) -> Response {
    let o = origin(&headers);
    let doc = format!(
        "<urlset xmlns='{NS}'><url><loc>{o}/blog/1</loc><lastmod>2024-05-01</lastmod></url>\
         <url><loc>{o}/blog/2</loc></url></urlset>"
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(doc.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/gzip")
        .body(Body::from(gz))
        .unwrap()
}

async fn nested_index(headers: HeaderMap) -> Response {
    let o = origin(&headers);
    xml(format!(
        "<sitemapindex xmlns='{NS}'><sitemap><loc>{o}/sitemap-deep.xml</loc></sitemap></sitemapindex>"
    ))
}

async fn sitemap_deep(headers: HeaderMap) -> Response {
    let o = origin(&headers);
    xml(format!(
        "<urlset xmlns='{NS}'><url><loc>{o}/deep/page</loc></url></urlset>"
    ))
}

async fn sitemap_foreign(headers: HeaderMap) -> Response {
    let _ = origin(&headers);
    xml(format!(
        "<urlset xmlns='{NS}'><url><loc>https://elsewhere.example/a</loc></url></urlset>"
    ))
}

async fn article() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        ARTICLE,
    )
        .into_response()
}

/// A page with navigation, an article, a table, links and boilerplate.
pub const ARTICLE: &str = r#"<!doctype html><html lang="en"><head><title>Widget prices</title>
<style>.x { color: red }</style><script>var tracking = "do not read";</script></head>
<body>
<header><nav class="menu"><a href="/">Home</a> <a href="/shop">Shop</a></nav></header>
<aside class="sidebar"><p>Sponsored: buy more widgets from our partners, today only, big sale.</p></aside>
<article id="main">
  <h1>Widget prices for 2024</h1>
  <p class="lead">Widgets got cheaper this year, and the small ones most of all, by far.</p>
  <p>Prices are per unit, before tax, and shipping is free above ten units, as always.</p>
  <table id="prices">
    <thead><tr><th>Widget</th><th>Price</th></tr></thead>
    <tbody><tr><td>Small</td><td>1.50</td></tr><tr><td>Large</td><td>4.00</td></tr>
    <tr><td colspan="2">Sizes on request</td></tr></tbody>
  </table>
  <p>See the <a href="../catalog/2024.pdf" title="Catalog">full catalog</a> or <a href="https://other.example/x">a review</a>.</p>
  <img src="/img/widget.png" alt="A widget">
</article>
<footer><p>Copyright 2024 Widgets Incorporated, all rights reserved, worldwide.</p></footer>
</body></html>"#;
