//! The system tools act only on what their allow-lists name: commands,
//! environment variables and hosts. The default configuration allows none.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_core::{Error, ExecutionContext, Tool};
use llmspell_tools::system::{EnvironmentReader, ProcessExecutor, ServiceChecker};
use llmspell_tools::{BuiltinToolsConfig, FsSandbox, builtin_tools};
use serde_json::{Value, json};
use tokio::net::TcpListener;

async fn run(tool: &dyn Tool, params: Value) -> Result<Value, Error> {
    tool.execute(params, &ExecutionContext::native()).await
}

fn violation(result: Result<Value, Error>) -> String {
    match result {
        Err(Error::SecurityViolation { message }) => message,
        other => panic!("expected a security violation, got {other:?}"),
    }
}

#[tokio::test]
async fn a_command_not_on_the_allow_list_is_refused() {
    let tool = ProcessExecutor::new(["echo"], FsSandbox::deny_all());
    let message =
        violation(run(&tool, json!({ "command": "rm", "args": ["-rf", "/tmp/x"] })).await);
    assert!(
        message.contains("`rm`") && message.contains("[echo]"),
        "{message}"
    );
    // Exact names only: a path to an allowed program is a different name.
    let message = violation(run(&tool, json!({ "command": "/bin/echo", "args": ["hi"] })).await);
    assert!(message.contains("/bin/echo"), "{message}");
    // Shell syntax in the name does not help.
    violation(run(&tool, json!({ "command": "echo; rm -rf /" })).await);
}

#[cfg(unix)]
#[tokio::test]
async fn an_allowed_command_runs_with_its_arguments_verbatim() {
    let tool = ProcessExecutor::new(["echo"], FsSandbox::deny_all());
    let out = run(
        &tool,
        json!({ "command": "echo", "args": ["$(id)", "; ls"] }),
    )
    .await
    .unwrap();
    assert_eq!(out["stdout"], "$(id) ; ls\n");
}

#[tokio::test]
async fn an_environment_variable_not_on_the_allow_list_is_refused() {
    // PATH is set wherever the tests run.
    let tool = EnvironmentReader::new(["LLMSPELL_TEST_ALLOWED"]);
    let message = violation(run(&tool, json!({ "operation": "get", "name": "PATH" })).await);
    assert!(
        message.contains("`PATH`") && message.contains("[LLMSPELL_TEST_ALLOWED]"),
        "{message}"
    );
    let out = run(&tool, json!({ "operation": "list" })).await.unwrap();
    assert!(out["variables"].get("PATH").is_none());

    let exec = ProcessExecutor::new(["env"], FsSandbox::deny_all()).with_allowed_env(["LANG"]);
    let message = violation(
        run(
            &exec,
            json!({ "command": "env", "env": { "LD_PRELOAD": "/tmp/x.so" } }),
        )
        .await,
    );
    assert!(
        message.contains("`LD_PRELOAD`") && message.contains("[LANG]"),
        "{message}"
    );
}

#[tokio::test]
async fn a_host_not_on_the_allow_list_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tool = ServiceChecker::new(["localhost"]);
    let message = violation(
        run(
            &tool,
            json!({ "operation": "tcp", "host": "127.0.0.1", "port": port }),
        )
        .await,
    );
    assert!(
        message.contains("`127.0.0.1`") && message.contains("[localhost]"),
        "{message}"
    );
    let message = violation(
        run(
            &tool,
            json!({ "operation": "http", "url": format!("http://127.0.0.1:{port}/") }),
        )
        .await,
    );
    assert!(message.contains("127.0.0.1"), "{message}");
    // The allowed name reaches the same listener.
    let out = run(
        &tool,
        json!({ "operation": "tcp", "host": "localhost", "port": port }),
    )
    .await
    .unwrap();
    assert_eq!(out["reachable"], true, "{out}");
}

#[tokio::test]
async fn a_closed_port_is_reported_unreachable_not_as_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    // Loopback is an internal address: the allow-list names it exactly
    // (`*` alone allows public addresses only).
    let tool = ServiceChecker::new(["127.0.0.1"]);
    let out = run(
        &tool,
        json!({ "operation": "tcp", "host": "127.0.0.1", "port": port, "timeout_ms": 2000 }),
    )
    .await
    .unwrap();
    assert_eq!(out["reachable"], false);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{out}"
    );
    let out = run(&tool, json!({ "operation": "http", "url": format!("http://127.0.0.1:{port}/"), "timeout_ms": 2000 }))
        .await
        .unwrap();
    assert_eq!(out["reachable"], false);
    assert_eq!(out["ok"], false);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refused"),
        "{out}"
    );
}

#[tokio::test]
async fn the_default_configuration_allows_nothing_outside_the_process() {
    let tools = builtin_tools(&BuiltinToolsConfig::default());
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t.metadata().name() == name)
            .unwrap()
            .clone()
    };
    violation(run(&*tool("process_executor"), json!({ "command": "echo" })).await);
    violation(
        run(
            &*tool("environment_reader"),
            json!({ "operation": "get", "name": "PATH" }),
        )
        .await,
    );
    violation(
        run(
            &*tool("service_checker"),
            json!({ "operation": "tcp", "host": "127.0.0.1", "port": 9 }),
        )
        .await,
    );
    violation(
        run(
            &*tool("file_operations"),
            json!({ "operation": "read", "path": "Cargo.toml" }),
        )
        .await,
    );
    violation(run(&*tool("file_search"), json!({ "pattern": "*" })).await);
    violation(
        run(
            &*tool("archive_handler"),
            json!({ "operation": "list", "archive": "a.zip" }),
        )
        .await,
    );
    violation(
        run(
            &*tool("file_converter"),
            json!({ "operation": "line_endings", "path": "a.txt", "to": "lf" }),
        )
        .await,
    );
    violation(run(&*tool("file_watcher"), json!({ "duration_ms": 10 })).await);
}
