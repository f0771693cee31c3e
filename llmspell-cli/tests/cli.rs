//! The `llmspell` command as a user runs it: exit codes, the error format,
//! several scripts in one runtime, the sandbox flag, persisted events and
//! the inspection commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tempfile::TempDir;

mod common;
use common::{llmspell, text, write};

#[test]
fn a_good_script_exits_zero_and_prints() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "ok.lua",
        r#"print("sum", Tool.invoke("calculator", { expression = "40 + 2" }).result)"#,
    );
    let out = llmspell(&["run", "--storage", "memory", "ok.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "sum\t42");
}

#[test]
fn an_uncaught_error_exits_one_with_file_and_line() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "bad.lua",
        "local x = 1\nlocal y = 2\nerror('the widget is missing')\n",
    );
    let out = llmspell(&["run", "--storage", "memory", "bad.lua"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.lua:3: the widget is missing"), "{err}");
    // A bad host call names the script line too.
    write(
        dir.path(),
        "bad2.lua",
        "\nHook.register('BeforeToolExecute', function() end)\n",
    );
    let out = llmspell(&["run", "--storage", "memory", "bad2.lua"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad2.lua:2:") && err.contains("BeforeToolExecution"),
        "{err}"
    );
}

#[test]
fn scripts_share_one_runtime_and_callbacks_finish_before_exit() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "listener.lua",
        r#"Event.subscribe("greet.*", function(ev) print("heard " .. ev.data.name) end)"#,
    );
    write(
        dir.path(),
        "speaker.lua",
        r#"for _, n in ipairs({ "ada", "bob" }) do Event.publish("greet.hello", { name = n }) end"#,
    );
    let out = llmspell(
        &["run", "--storage", "memory", "listener.lua", "speaker.lua"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "heard ada\nheard bob\n");
}

#[test]
fn callback_errors_are_reported_but_do_not_fail_the_run() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "cb.lua",
        r#"Event.subscribe("x", function(ev) error("callback broke") end)
           Event.publish("x", 1)"#,
    );
    let out = llmspell(&["run", "--storage", "memory", "cb.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("callback broke"));
}

#[test]
fn a_run_that_never_settles_is_stopped_by_the_timeout() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "loop.lua",
        r#"Event.subscribe("ping", function(ev) Event.publish("ping", ev.data + 1) end)
           Event.publish("ping", 1)"#,
    );
    let out = llmspell(
        &[
            "run",
            "--storage",
            "memory",
            "--no-persist",
            "--timeout",
            "0.5",
            "loop.lua",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("still running"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn files_that_cannot_run_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let out = llmspell(&["run", "--storage", "memory", "missing.lua"], dir.path());
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("missing.lua"),
        "{}",
        text(&out.stderr)
    );
    write(dir.path(), "notes.txt", "hello");
    let out = llmspell(&["run", "--storage", "memory", "notes.txt"], dir.path());
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("notes.txt") && err.contains(".lua"), "{err}");
}

#[test]
fn the_sandbox_is_on_unless_allowed() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "io.lua", "print(io == nil, os.execute == nil)");
    let out = llmspell(&["run", "--storage", "memory", "io.lua"], dir.path());
    assert_eq!(text(&out.stdout).trim(), "true\ttrue");
    let out = llmspell(
        &["run", "--storage", "memory", "--allow-unsafe", "io.lua"],
        dir.path(),
    );
    assert_eq!(text(&out.stdout).trim(), "false\tfalse");
}

#[test]
fn events_are_persisted_in_the_data_dir_and_queried() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "pub.lua",
        r#"for i = 1, 3 do Event.publish("orders.created", { n = i }) end
           Event.publish("audit.note", { text = "hello" })"#,
    );
    let out = llmspell(&["run", "--data-dir", "data", "pub.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        dir.path().join("data").exists(),
        "sled lives in the data dir"
    );
    let out = llmspell(
        &[
            "events",
            "query",
            "--data-dir",
            "data",
            "--pattern",
            "orders.*",
            "--json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let ns: Vec<i64> = lines
        .iter()
        .map(|e| e["data"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [1, 2, 3]);
    let out = llmspell(
        &["events", "tail", "--data-dir", "data", "--limit", "1"],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("audit.note"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn events_are_queried_by_a_correlation_id_the_script_chose() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "pub.lua",
        r#"Event.publish("orders.created", { n = 1 }, { correlation_id = "req-42", parent_id = "upstream-7" })
           Event.publish("orders.created", { n = 2 }, { correlation_id = "req-42/retry" })
           Event.publish("orders.created", { n = 3 })
           Event.publish("orders.paid", { n = 4 }, { correlation_id = "req-42" })"#,
    );
    let out = llmspell(&["run", "--data-dir", "data", "pub.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    for flag in ["--correlation", "--correlation-id"] {
        let out = llmspell(
            &[
                "events",
                "query",
                "--data-dir",
                "data",
                flag,
                "req-42",
                "--json",
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ns: Vec<i64> = lines
            .iter()
            .map(|e| e["data"]["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ns, [1, 4], "{flag}");
        assert_eq!(lines[0]["correlation_id"], "req-42");
        assert_eq!(lines[0]["parent_id"], "upstream-7");
    }
    let out = llmspell(
        &["events", "query", "--data-dir", "data", "--correlation", ""],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--correlation") && err.contains("at most 128 bytes"),
        "{err}"
    );
}

#[test]
fn inspection_commands() {
    let dir = TempDir::new().unwrap();
    let out = llmspell(&["hooks", "points"], dir.path());
    let points = text(&out.stdout);
    assert!(points.lines().count() >= 40);
    assert!(points.lines().any(|l| l == "BeforeToolExecution"));
    let out = llmspell(&["tools", "list"], dir.path());
    assert!(text(&out.stdout).contains("calculator"));
    let out = llmspell(&["tools", "info", "calculator"], dir.path());
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("expression"));
    let out = llmspell(&["tools", "info", "calculater"], dir.path());
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("calculator"),
        "{}",
        text(&out.stderr)
    );
    write(
        dir.path(),
        "hooks.lua",
        r#"Hook.register("BeforeToolExecution", function() end, { name = "audit", tags = { "x" } })"#,
    );
    let out = llmspell(&["hooks", "list", "hooks.lua"], dir.path());
    let listed = text(&out.stdout);
    assert!(
        listed.contains("BeforeToolExecution")
            && listed.contains("audit")
            && listed.contains("lua"),
        "{listed}"
    );
}

#[test]
fn arguments_after_a_double_dash_reach_the_scripts() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "args.lua",
        "print(#llmspell.args, table.concat(llmspell.args, ','))",
    );
    let out = llmspell(
        &[
            "run",
            "--storage",
            "memory",
            "args.lua",
            "--",
            "alpha",
            "--beta",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2\talpha,--beta");
}

#[test]
fn javascript_and_lua_files_share_one_runtime() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "responder.js",
        r#"Event.subscribe("ping", async (ev) => {
    await Event.publish("pong", { n: ev.data.n + 1, from: ev.language });
});"#,
    );
    write(
        dir.path(),
        "pinger.lua",
        r#"local replies = Event.subscribe("pong")
Event.publish("ping", { n = 1 })
local r = Event.receive(replies, 2000)
print(r.data.n, r.data.from, r.language)"#,
    );
    let out = llmspell(
        &["run", "--storage", "memory", "responder.js", "pinger.lua"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2\tlua\tjavascript");
}

#[test]
fn a_javascript_error_exits_one_with_file_and_line() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "bad.js",
        "const x = 1;\n\nawait Tool.invoke('calculator', { expression: '1 / (' });\n",
    );
    let out = llmspell(&["run", "--storage", "memory", "bad.js"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.js:3:") && err.contains("expression"),
        "{err}"
    );
    write(
        dir.path(),
        "ok.js",
        "console.log('sum', (await Tool.invoke('calculator', { expression: '40 + 2' })).result);",
    );
    let out = llmspell(&["run", "--storage", "memory", "ok.js"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "sum 42");
}

#[test]
fn bench_runs_only_the_selected_metrics() {
    let dir = TempDir::new().unwrap();
    let out = llmspell(
        &["bench", "--json", "--only", "hooks.breaker_trip_calls"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["hooks.breaker_trip_calls"]);

    let out = llmspell(&["bench", "--only", "hooks.nope"], dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("hooks.nope"), "{err}");
    assert!(err.contains("hooks.one_hook_ns"), "{err}");
}

#[test]
fn bench_check_fails_when_a_target_is_missed_and_plain_bench_only_reports() {
    let dir = TempDir::new().unwrap();
    let out = llmspell(
        &["bench", "--check", "--only", "hooks.breaker_trip_calls"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An empty hook point costs far more than 10 ns in a debug build, so
    // the target is missed there.
    if cfg!(debug_assertions) {
        let only = ["--only", "hooks.empty_point_ns"];
        let plain = llmspell(&["bench", only[0], only[1]], dir.path());
        assert!(plain.status.success(), "{}", text(&plain.stderr));
        let checked = llmspell(&["bench", "--check", only[0], only[1]], dir.path());
        assert_eq!(checked.status.code(), Some(1));
        let err = text(&checked.stderr);
        assert!(err.contains("missed hooks.empty_point_ns"), "{err}");
    }
}
