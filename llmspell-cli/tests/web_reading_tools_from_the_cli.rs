//! The web reading tools as a user drives them through `llmspell run`:
//! `[web_search]` in `llmspell.toml` reaches `web_search` (provider, base
//! URL, key variable), and `webpage_monitor` keeps its snapshots in the
//! runtime's storage, so a durable store remembers a page across runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::json;
use tempfile::TempDir;

mod common;
use common::{text, write};

/// The variable the search key is read from.
const KEY_VAR: &str = "LLMSPELL_TEST_SEARCH_KEY";

/// A server on 127.0.0.1: a Brave-format search API wanting the key
/// `k3y`, and a page whose text changes on every request.
fn serve(rt: &tokio::runtime::Runtime) -> u16 {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/brave/res/v1/web/search",
            get(|h: HeaderMap| async move {
                let ok = h.get("x-subscription-token").and_then(|v| v.to_str().ok()) == Some("k3y");
                if !ok {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({ "type": "ErrorResponse",
                            "error": { "code": "SUBSCRIPTION_TOKEN_INVALID", "status": 401,
                                       "detail": "The provided subscription token is invalid." } })),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    axum::Json(json!({ "type": "search", "web": { "type": "search", "results": [
                        { "title": "First <strong>hit</strong>", "url": "https://example.com/1", "description": "One" },
                        { "title": "Second", "url": "https://example.com/2", "description": "Two" },
                        { "title": "Third", "url": "https://example.com/3", "description": "Three" }
                    ] } })),
                )
            }),
        )
        .route(
            "/page",
            get(move || {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        [("content-type", "text/html")],
                        format!("<html><body><p id='v'>version {}</p></body></html>", n / 2),
                    )
                }
            }),
        );
    rt.spawn(async move { axum::serve(listener, app).await });
    port
}

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .env(KEY_VAR, "k3y")
        .output()
        .unwrap()
}

#[test]
fn the_web_search_section_of_the_file_reaches_the_tool() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = serve(&rt);
    let dir = TempDir::new().unwrap();
    let config = format!(
        r#"
[storage]
backend = "memory"

[sandbox]
allowed_hosts = ["127.0.0.1"]
secret_env = ["{KEY_VAR}"]

[web_search]
provider = "brave"
max_results = 2

[web_search.providers.brave]
base_url = "http://127.0.0.1:{port}/brave"
api_key_env = "{KEY_VAR}"
"#
    );
    write(dir.path(), "llmspell.toml", &config);
    write(
        dir.path(),
        "main.lua",
        r#"
local out = Tool.invoke("web_search", { query = "llmspell" })
assert(out.provider == "brave", "provider from the file: " .. tostring(out.provider))
assert(out.count == 2, "max_results from the file: " .. tostring(out.count))
assert(out.results[1].title == "First hit", out.results[1].title)
assert(out.results[2].rank == 2)
local ok, err = pcall(Tool.invoke, "web_search", { query = "llmspell", max_results = 3 })
assert(not ok and err.kind == "invalid_input", tostring(err))
print("searched")
"#,
    );
    let out = run(dir.path(), &["run", "main.lua"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "searched");
    let show = run(dir.path(), &["config", "show"]);
    assert!(
        text(&show.stdout).contains("[web_search]\nprovider = \"brave\"\nmax_results = 2"),
        "{}",
        text(&show.stdout)
    );

    // Without the key variable on secret_env the key is not read.
    write(
        dir.path(),
        "llmspell.toml",
        &config.replace(&format!("secret_env = [\"{KEY_VAR}\"]"), ""),
    );
    let out = run(dir.path(), &["run", "main.lua"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("secret_env"),
        "{}",
        text(&out.stderr)
    );

    // An unknown provider stops the run, naming the valid ones.
    write(
        dir.path(),
        "llmspell.toml",
        "[web_search]\nprovider = \"google\"\n",
    );
    let out = run(dir.path(), &["run", "main.lua"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("google") && err.contains("duckduckgo, searxng, brave, tavily"),
        "{err}"
    );
    // And an unknown key is named with the closest one.
    write(
        dir.path(),
        "llmspell.toml",
        "[web_search]\nmax_result = 3\n",
    );
    let out = run(dir.path(), &["run", "main.lua"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did you mean `max_results`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn monitor_snapshots_live_in_the_runtime_storage() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = serve(&rt);
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "main.lua",
        &format!(
            r##"
local out = Tool.invoke("webpage_monitor",
    {{ operation = "check", url = "http://127.0.0.1:{port}/page", selector = "#v" }})
print(tostring(out.first_seen) .. " " .. tostring(out.changed) .. " " .. out.content)
"##
        ),
    );
    let flags = [
        "run",
        "--allow-host",
        "127.0.0.1",
        "--storage",
        "sled",
        "--data-dir",
        "data",
        "main.lua",
    ];
    // The page reads "version 0" for two requests, then "version 1".
    let first = run(dir.path(), &flags);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout).trim(), "true false version 0");
    let second = run(dir.path(), &flags);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout).trim(), "false false version 0");
    let third = run(dir.path(), &flags);
    assert_eq!(text(&third.stdout).trim(), "false true version 1");
    // In-memory storage forgets between runs.
    let memory = run(
        dir.path(),
        &[
            "run",
            "--allow-host",
            "127.0.0.1",
            "--storage",
            "memory",
            "main.lua",
        ],
    );
    assert!(memory.status.success(), "{}", text(&memory.stderr));
    assert_eq!(text(&memory.stdout).trim(), "true false version 1");
}
