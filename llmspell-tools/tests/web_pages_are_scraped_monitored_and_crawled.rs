//! `web_scraper`, `webpage_monitor` and `sitemap_crawler` against a server
//! on 127.0.0.1, through the hooked registry: what they extract, report
//! and list, and how they answer 4xx/5xx, slow, oversized and malformed
//! documents and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod net_support;

use std::sync::Arc;

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_storage::{MemoryBackend, StorageBackend};
use llmspell_tools::web::WebpageMonitor;
use llmspell_tools::{FsSandbox, ToolRegistry};
use net_support::{client, registry};
use serde_json::{Value, json};

async fn invoke(tools: &ToolRegistry, tool: &str, params: Value) -> Result<Value, Error> {
    tools
        .invoke(tool, params, &ExecutionContext::native())
        .await
}

fn invalid(r: Result<Value, Error>, field: &str, needle: &str) {
    match r {
        Err(Error::InvalidInput { field: f, message }) => {
            assert_eq!(f, field, "{message}");
            assert!(
                message.contains(needle),
                "{field}: `{needle}` not in {message}"
            );
        }
        other => panic!("{field}: expected InvalidInput, got {other:?}"),
    }
}

fn external(r: Result<Value, Error>, needle: &str, retry: bool) {
    match r {
        Err(Error::External {
            message, retryable, ..
        }) => {
            assert!(message.contains(needle), "`{needle}` not in {message}");
            assert_eq!(retryable, retry, "{message}");
        }
        other => panic!("expected External naming `{needle}`, got {other:?}"),
    }
}

// ---------------------------------------------------------------- scraper

#[tokio::test]
async fn the_scraper_extracts_named_selectors_from_a_fetched_page() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let url = server.url("/site/article.html");
    let out = invoke(
        &tools,
        "web_scraper",
        json!({
            "url": url,
            "selectors": {
                "headline": { "selector": "article h1", "first": true },
                "paragraphs": { "selector": "article > p", "limit": 2 },
                "links": { "selector": "article", "extract": "links" },
                "prices": { "selector": "#prices", "extract": "table", "first": true },
                "image": { "selector": "img", "extract": "attribute", "attribute": "src", "first": true },
                "alt": { "selector": "img", "extract": "attribute", "attribute": "alt" },
                "lead_html": { "selector": "p.lead", "extract": "html", "first": true },
                "missing": { "selector": "div.nope", "first": true }
            },
            "readable": true
        }),
    )
    .await
    .unwrap();
    let r = &out["results"];
    assert_eq!(out["status"], 200);
    assert_eq!(out["url"], url);
    assert_eq!(out["title"], "Widget prices");
    assert_eq!(r["headline"], "Widget prices for 2024");
    assert_eq!(r["paragraphs"].as_array().unwrap().len(), 2);
    assert_eq!(out["counts"]["paragraphs"], 3);
    assert_eq!(out["truncated"], json!(["paragraphs"]));
    let base = server.url("");
    assert_eq!(
        r["links"][0][0],
        json!({ "text": "full catalog", "href": format!("{base}/catalog/2024.pdf"), "rel": null, "title": "Catalog" })
    );
    assert_eq!(r["links"][0][1]["href"], "https://other.example/x");
    assert_eq!(r["prices"]["headers"], json!(["Widget", "Price"]));
    assert_eq!(
        r["prices"]["rows"],
        json!([
            ["Small", "1.50"],
            ["Large", "4.00"],
            ["Sizes on request", "Sizes on request"]
        ])
    );
    assert_eq!(
        r["prices"]["records"][1],
        json!({ "Widget": "Large", "Price": "4.00" })
    );
    assert_eq!(r["image"], format!("{base}/img/widget.png"));
    assert_eq!(r["alt"], json!(["A widget"]));
    assert!(
        r["lead_html"]
            .as_str()
            .unwrap()
            .starts_with("<p class=\"lead\">")
    );
    assert_eq!(r["missing"], Value::Null);
    assert_eq!(out["counts"]["missing"], 0);

    // Readable text: the article, without navigation, sidebar, footer,
    // scripts or styles.
    let text = out["readable"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Widget prices for 2024\nWidgets got cheaper"),
        "{text}"
    );
    assert!(text.contains("Small 1.50"), "{text}");
    for absent in ["Home", "Sponsored", "Copyright", "tracking", "color"] {
        assert!(!text.contains(absent), "`{absent}` in {text}");
    }
    assert!(out["readable"]["word_count"].as_u64().unwrap() > 30);
}

#[tokio::test]
async fn the_scraper_reads_given_html_and_refuses_bad_input() {
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    // Malformed HTML is read as browsers read it.
    let out = invoke(
        &tools,
        "web_scraper",
        json!({
            "html": "<!doctype html><div><p>one<p>two <a href='x/y'>link</a><table><td>cell",
            "base_url": "https://example.com/base/",
            "selectors": {
                "paras": { "selector": "p" },
                "links": { "selector": "a", "extract": "links" },
                "cells": { "selector": "table", "extract": "table", "first": true }
            }
        }),
    )
    .await
    .unwrap();
    assert_eq!(out["results"]["paras"], json!(["one", "two link"]));
    assert_eq!(
        out["results"]["links"][0][0]["href"],
        "https://example.com/base/x/y"
    );
    assert_eq!(out["results"]["cells"]["rows"], json!([["cell"]]));
    assert_eq!(
        (out["url"].clone(), out["status"].clone()),
        (json!("https://example.com/base/"), Value::Null)
    );

    let call = |extra: Value| {
        let mut p = json!({ "html": "<p>x</p>" });
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    invalid(
        invoke(&tools, "web_scraper", call(json!({}))).await,
        "selectors",
        "readable",
    );
    invalid(
        invoke(&tools, "web_scraper", json!({ "readable": true })).await,
        "url",
        "missing",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "url": "https://example.com/", "readable": true })),
        )
        .await,
        "html",
        "not both",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "selectors": { "x": { "selector": "p[" } } })),
        )
        .await,
        "selectors.x.selector",
        "not a valid CSS selector",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "selectors": { "x": { "selector": "p", "extract": "attribute" } } })),
        )
        .await,
        "selectors.x.attribute",
        "missing",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "selectors": { "x": { "selector": "p", "attribute": "id" } } })),
        )
        .await,
        "selectors.x.attribute",
        "applies only",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "selectors": { "x": { "selector": "p", "extract": "json" } } })),
        )
        .await,
        "selectors.x.extract",
        "",
    );
    invalid(
        invoke(
            &tools,
            "web_scraper",
            call(json!({ "readable": true, "base_url": "not a url" })),
        )
        .await,
        "base_url",
        "absolute URL",
    );
    // Given HTML is capped like a fetched page (64 KiB in the tests).
    match invoke(
        &tools,
        "web_scraper",
        json!({ "html": "x".repeat(70_000), "readable": true }),
    )
    .await
    {
        Err(Error::ResourceLimitExceeded { resource, .. }) => assert_eq!(resource, "html_bytes"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_scraper_reports_error_statuses_other_types_slow_and_oversized_pages() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    let failures = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = failures.clone();
    let _handle = hooks.register(
        HookPoint::ToolError,
        sync_hook_fn(move |c| {
            seen.lock().push(c.data.to_string());
            Ok(HookResult::Continue)
        }),
    );
    let scrape = |path: &str| json!({ "url": server.url(path), "readable": true });
    external(
        invoke(&tools, "web_scraper", scrape("/status/404")).await,
        "answered 404 Not Found",
        false,
    );
    external(
        invoke(&tools, "web_scraper", scrape("/status/503")).await,
        "answered 503",
        true,
    );
    external(
        invoke(&tools, "web_scraper", scrape("/site/notes.txt")).await,
        "`text/plain`, not an HTML page",
        false,
    );
    match invoke(&tools, "web_scraper", scrape("/slow")).await {
        Err(Error::Timeout { after, .. }) => assert_eq!(after.as_secs(), 2),
        other => panic!("{other:?}"),
    }
    match invoke(&tools, "web_scraper", scrape("/big")).await {
        Err(Error::ResourceLimitExceeded { resource, .. }) => {
            assert_eq!(resource, "response_bytes")
        }
        other => panic!("{other:?}"),
    }
    // Each failure passed the ToolError hook point.
    assert_eq!(failures.lock().len(), 5, "{:?}", failures.lock());
}

// ---------------------------------------------------------------- monitor

fn check(server: &net_support::TestServer, selector: Option<&str>) -> Value {
    let mut p = json!({ "operation": "check", "url": server.url("/monitored") });
    if let Some(s) = selector {
        p["selector"] = json!(s);
    }
    p
}

#[tokio::test]
async fn the_monitor_reports_first_sight_then_changes_as_a_line_diff() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    server.set_page("<ul><li>Small: 1.50</li><li>Large: 4.00</li></ul><p>A long enough paragraph about prices, for the readable text.</p>");

    let first = invoke(&tools, "webpage_monitor", check(&server, Some("li")))
        .await
        .unwrap();
    assert_eq!(
        (first["first_seen"].clone(), first["changed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(first["previous_checked_at"], Value::Null);
    assert_eq!(first["content"], "Small: 1.50\nLarge: 4.00");
    assert_eq!(
        (first["matches"].clone(), first["checks"].clone()),
        (json!(2), json!(1))
    );

    let same = invoke(&tools, "webpage_monitor", check(&server, Some("li")))
        .await
        .unwrap();
    assert_eq!(
        (same["first_seen"].clone(), same["changed"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(same["previous_checked_at"], first["checked_at"]);
    assert_eq!(same["changed_at"], first["checked_at"]);
    assert_eq!(same["diff"]["lines_added"], 0);

    server.set_page("<ul><li>Small: 1.25</li><li>Large: 4.00</li><li>Huge: 9.00</li></ul><p>A long enough paragraph about prices, for the readable text.</p>");
    let changed = invoke(&tools, "webpage_monitor", check(&server, Some("li")))
        .await
        .unwrap();
    assert_eq!(
        (changed["first_seen"].clone(), changed["changed"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(changed["previous_checked_at"], same["checked_at"]);
    assert_eq!(changed["changed_at"], changed["checked_at"]);
    assert_eq!(changed["first_seen_at"], first["checked_at"]);
    assert_eq!(
        changed["diff"]["added"],
        json!(["Small: 1.25", "Huge: 9.00"])
    );
    assert_eq!(changed["diff"]["removed"], json!(["Small: 1.50"]));
    let unified = changed["diff"]["unified"].as_str().unwrap();
    assert!(
        unified.contains("-Small: 1.50") && unified.contains("+Huge: 9.00"),
        "{unified}"
    );

    // Without a selector the readable text is watched, under its own key.
    let readable = invoke(&tools, "webpage_monitor", check(&server, None))
        .await
        .unwrap();
    assert_eq!(readable["first_seen"], true);
    assert!(
        readable["content"]
            .as_str()
            .unwrap()
            .contains("A long enough paragraph")
    );

    // Forgetting makes the next check a first sight.
    let forgot = invoke(
        &tools,
        "webpage_monitor",
        json!({ "operation": "forget", "url": server.url("/monitored"), "selector": "li" }),
    )
    .await
    .unwrap();
    assert_eq!(forgot["forgotten"], true);
    let again = invoke(&tools, "webpage_monitor", check(&server, Some("li")))
        .await
        .unwrap();
    assert_eq!(again["first_seen"], true);
}

#[tokio::test]
async fn snapshots_live_in_the_given_storage_with_a_size_bound() {
    let server = net_support::start().await;
    let storage: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let make = || {
        let tools = ToolRegistry::new(GuardedRunner::new(
            HookExecutor::builder(HookRegistry::new()).build(),
        ));
        tools
            .register(Arc::new(
                WebpageMonitor::new(client())
                    .with_storage(storage.clone())
                    .with_max_snapshot_bytes(24),
            ))
            .unwrap();
        tools
    };
    let long = |tail: &str| format!("<p>{}</p><p>{tail}</p>", "word ".repeat(20));
    server.set_page(&long("end one"));
    let out = invoke(&make(), "webpage_monitor", check(&server, Some("p")))
        .await
        .unwrap();
    assert_eq!(
        (out["first_seen"].clone(), out["truncated"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(out["content"].as_str().unwrap().len(), 24);
    let kept = storage.scan_prefix("webpage_monitor/").await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].1.len() < 1024, "the snapshot is not bounded");

    // Another tool over the same store sees the snapshot; a change past the
    // cut is still noticed.
    server.set_page(&long("end two"));
    let out = invoke(&make(), "webpage_monitor", check(&server, Some("p")))
        .await
        .unwrap();
    assert_eq!(
        (out["first_seen"].clone(), out["changed"].clone()),
        (json!(false), json!(true))
    );
}

#[tokio::test]
async fn the_monitor_keeps_no_snapshot_of_a_failed_fetch() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let at = |path: &str| json!({ "operation": "check", "url": server.url(path) });
    external(
        invoke(&tools, "webpage_monitor", at("/status/500")).await,
        "answered 500",
        true,
    );
    match invoke(&tools, "webpage_monitor", at("/big-declared")).await {
        Err(Error::ResourceLimitExceeded { resource, .. }) => {
            assert_eq!(resource, "response_bytes")
        }
        other => panic!("{other:?}"),
    }
    invalid(
        invoke(
            &tools,
            "webpage_monitor",
            json!({ "operation": "check", "url": server.url("/monitored"), "selector": "li[" }),
        )
        .await,
        "selector",
        "not a valid CSS selector",
    );
    invalid(
        invoke(
            &tools,
            "webpage_monitor",
            json!({ "operation": "check", "url": server.url("/monitored"), "max_diff_lines": 0 }),
        )
        .await,
        "max_diff_lines",
        "",
    );
    let gone = invoke(
        &tools,
        "webpage_monitor",
        json!({ "operation": "forget", "url": server.url("/status/500") }),
    )
    .await
    .unwrap();
    assert_eq!(gone["forgotten"], false);
}

// ---------------------------------------------------------------- crawler

/// The listed URLs' paths and queries.
fn locs(out: &Value) -> Vec<String> {
    out["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let url = url::Url::parse(u["loc"].as_str().unwrap()).unwrap();
            match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_crawler_follows_robots_txt_indexes_and_gzip() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let out = invoke(&tools, "sitemap_crawler", json!({ "url": server.url("/") }))
        .await
        .unwrap();
    assert_eq!(
        locs(&out),
        [
            "/",
            "/about?lang=en&v=2",
            "/blog/1",
            "/blog/2",
            "/deep/page"
        ]
    );
    assert_eq!(out["count"], 5);
    assert_eq!(out["disallowed"], 2, "{out}");
    assert_eq!(
        out["disallowed_sample"],
        json!([
            server.url("/private/admin"),
            server.url("/drafts/next-post")
        ])
    );
    assert_eq!(out["foreign"], 1);
    assert_eq!(out["truncated"], false);
    assert_eq!(out["robots"]["status"], "found");
    assert_eq!(out["robots"]["crawl_delay"], 2.0);
    assert_eq!(out["robots"]["sitemaps"], json!(["/sitemap_index.xml"]));
    let home = &out["urls"][0];
    assert_eq!(
        (
            home["lastmod"].clone(),
            home["changefreq"].clone(),
            home["priority"].clone()
        ),
        (
            json!("2024-06-01T10:00:00+00:00"),
            json!("daily"),
            json!(1.0)
        )
    );
    assert_eq!(
        out["urls"][2]["sitemap"],
        server.url("/sitemap-blog.xml.gz")
    );
    let sitemaps = out["sitemaps"].as_array().unwrap();
    let kinds: Vec<(String, String, u64, bool)> = sitemaps
        .iter()
        .map(|s| {
            (
                s["url"].as_str().unwrap().replace(&server.url(""), ""),
                s["kind"].as_str().unwrap().to_owned(),
                s["depth"].as_u64().unwrap(),
                s["gzip"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "/sitemap_index.xml".to_owned(),
                "index".to_owned(),
                0,
                false
            ),
            (
                "/sitemap-pages.xml".to_owned(),
                "urlset".to_owned(),
                1,
                false
            ),
            (
                "/sitemap-blog.xml.gz".to_owned(),
                "urlset".to_owned(),
                1,
                true
            ),
            ("/nested-index.xml".to_owned(), "index".to_owned(), 1, false),
            (
                "/sitemap-deep.xml".to_owned(),
                "urlset".to_owned(),
                2,
                false
            ),
        ]
    );
    let errors = out["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("sitemap-broken.xml is not a sitemap")
    );

    // Another user agent: only the rules for `*` apply.
    let other = invoke(
        &tools,
        "sitemap_crawler",
        json!({ "url": server.url("/"), "user_agent": "otherbot" }),
    )
    .await
    .unwrap();
    assert_eq!(other["disallowed"], 1);
    // Not honouring robots.txt lists everything.
    let all = invoke(
        &tools,
        "sitemap_crawler",
        json!({ "url": server.url("/sitemap_index.xml"), "respect_robots": false }),
    )
    .await
    .unwrap();
    assert_eq!(
        (all["count"].clone(), all["disallowed"].clone()),
        (json!(7), json!(0))
    );
}

#[tokio::test]
async fn the_crawler_stops_at_its_limits() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let crawl = |extra: Value| {
        let mut p = json!({ "url": server.url("/sitemap_index.xml") });
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let out = invoke(&tools, "sitemap_crawler", crawl(json!({ "max_depth": 1 })))
        .await
        .unwrap();
    assert_eq!(
        locs(&out),
        ["/", "/about?lang=en&v=2", "/blog/1", "/blog/2"]
    );
    assert_eq!(out["truncated"], true);
    assert!(
        out["errors"].to_string().contains("`max_depth` 1 reached"),
        "{out}"
    );
    let out = invoke(&tools, "sitemap_crawler", crawl(json!({ "max_depth": 0 })))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["truncated"].clone()),
        (json!(0), json!(true))
    );
    let out = invoke(&tools, "sitemap_crawler", crawl(json!({ "max_urls": 3 })))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["truncated"].clone()),
        (json!(3), json!(true))
    );
    let out = invoke(
        &tools,
        "sitemap_crawler",
        crawl(json!({ "max_sitemaps": 2 })),
    )
    .await
    .unwrap();
    assert_eq!(out["sitemaps"].as_array().unwrap().len(), 2);
    assert_eq!(out["truncated"], true);
    // A byte budget smaller than the index: the index itself is refused.
    match invoke(
        &tools,
        "sitemap_crawler",
        crawl(json!({ "max_total_bytes": 100 })),
    )
    .await
    {
        Err(Error::ResourceLimitExceeded { resource, .. }) => {
            assert_eq!(resource, "response_bytes")
        }
        other => panic!("{other:?}"),
    }
    invalid(
        invoke(&tools, "sitemap_crawler", crawl(json!({ "max_depth": 6 }))).await,
        "max_depth",
        "",
    );
    invalid(
        invoke(&tools, "sitemap_crawler", crawl(json!({ "max_urls": 0 }))).await,
        "max_urls",
        "",
    );
    invalid(
        invoke(
            &tools,
            "sitemap_crawler",
            crawl(json!({ "user_agent": "" })),
        )
        .await,
        "user_agent",
        "product token",
    );
}

#[tokio::test]
async fn robots_txt_answers_follow_rfc_9309() {
    let server = net_support::start().await;
    let (_, tools) = registry(&client(), FsSandbox::deny_all());
    let index = json!({ "url": server.url("/sitemap_index.xml") });
    // 4xx: no rules, everything allowed.
    server.set_robots(404, "");
    let out = invoke(&tools, "sitemap_crawler", index.clone())
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["disallowed"].clone()),
        (json!(7), json!(0))
    );
    assert_eq!(out["robots"]["status"], "missing");
    // 5xx: everything disallowed.
    server.set_robots(503, "");
    let out = invoke(&tools, "sitemap_crawler", index.clone())
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["disallowed"].clone()),
        (json!(0), json!(7))
    );
    assert_eq!(out["robots"]["status"], "unreachable");
    // A site without Sitemap: lines is read at /sitemap.xml (absent here).
    server.set_robots(200, "User-agent: *\nDisallow:\n");
    external(
        invoke(&tools, "sitemap_crawler", json!({ "url": server.url("/") })).await,
        "sitemap.xml answered 404",
        false,
    );
}

#[tokio::test]
async fn the_crawler_reports_broken_slow_and_oversized_sitemaps() {
    let server = net_support::start().await;
    let (hooks, tools) = registry(&client(), FsSandbox::deny_all());
    let at = |path: &str| json!({ "url": server.url(path), "respect_robots": false });
    external(
        invoke(&tools, "sitemap_crawler", at("/sitemap-broken.xml")).await,
        "is not a sitemap",
        false,
    );
    external(
        invoke(&tools, "sitemap_crawler", at("/site/article.html")).await,
        "the root element is <html>",
        false,
    );
    external(
        invoke(&tools, "sitemap_crawler", at("/status/500")).await,
        "answered 500",
        true,
    );
    match invoke(&tools, "sitemap_crawler", at("/slow")).await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("{other:?}"),
    }
    match invoke(&tools, "sitemap_crawler", at("/big")).await {
        Err(Error::ResourceLimitExceeded { resource, .. }) => {
            assert_eq!(resource, "response_bytes")
        }
        other => panic!("{other:?}"),
    }
    let out = invoke(&tools, "sitemap_crawler", at("/sitemap-foreign.xml"))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["foreign"].clone()),
        (json!(0), json!(1))
    );

    // A policy hook makes every crawl honour robots.txt, whatever the call
    // asks.
    let _handle = hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            if c.component.name.as_ref() == "sitemap_crawler" {
                let mut params = c.data.clone();
                params["respect_robots"] = json!(true);
                return Ok(HookResult::Modified(params));
            }
            Ok(HookResult::Continue)
        }),
    );
    let out = invoke(&tools, "sitemap_crawler", at("/sitemap-pages.xml"))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["disallowed"].clone()),
        (json!(2), json!(2))
    );
}
