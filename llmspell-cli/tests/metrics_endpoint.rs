//! `llmspell run --metrics-addr`: a Prometheus scrape during a run sees the
//! tool calls' hook series, the bus counters and each hook's figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A GET of `path` on `port`; `None` until the server answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn a_scrape_during_a_run_sees_the_runs_figures() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("work.lua"),
        r#"
        Hook.register("BeforeToolExecution", function() end, { name = "noop" })
        for i = 1, 3 do Tool.invoke("calculator", { expression = "1+" .. i }) end
        Event.publish("work.done", { n = 3 })
        llmspell.sleep(30000)
        "#,
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "run",
            "--storage",
            "memory",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "work.lua",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut scraped = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Some(body) = get(port, "/metrics")
            && body.contains("llmspell_executor_hook_calls_total{hook=\"noop\"")
            && body.contains("llmspell_executor_hook_calls_total{hook=\"noop\",id=\"")
        {
            let done = body.lines().any(|l| {
                l.starts_with("llmspell_executor_hook_calls_total{hook=\"noop\"")
                    && l.ends_with(" 3")
            });
            if done {
                scraped = Some(body);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let missing = get(port, "/nothing");
    child.kill().unwrap();
    let _ = child.wait();
    let body = scraped.expect("the scrape showed the three calls within 20 s");
    assert!(body.contains("text/plain; version=0.0.4"), "{body}");
    assert!(body.contains("llmspell_bus_published_total"), "{body}");
    assert!(
        body.contains("component=\"calculator\""),
        "the metrics hook's series per component: {body}"
    );
    assert!(missing.unwrap().starts_with("HTTP/1.1 404"));
}

#[test]
fn an_address_that_cannot_be_served_is_an_error() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("a.lua"), "print('never')").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "run",
            "--storage",
            "memory",
            "--metrics-addr",
            "localhost",
            "a.lua",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:9464"));
}
