//! `llmspell hooks test` as a hook author and a CI job use it: script,
//! command and configured built-in hooks fired with a fixture, the decision
//! printed, `--expect` and `--fixtures` deciding the exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tempfile::TempDir;

mod common;
use common::{llmspell, text, write};

const GUARD: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
    if type(ctx.data.path) == "string" and ctx.data.path:find("%.%.") then
        return { action = "cancel", reason = "path traversal" }
    end
end)
"#;

#[test]
fn a_script_hook_is_fired_and_its_decision_printed() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "guard.lua", GUARD);
    let fire = |data: &str, expect: &str| {
        llmspell(
            &[
                "hooks",
                "test",
                "guard.lua",
                "--point",
                "BeforeToolExecution",
                "--data",
                data,
                "--expect",
                expect,
            ],
            dir.path(),
        )
    };
    let out = fire(r#"{"path": "../etc/passwd"}"#, "cancel");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["action"], "cancel");
    assert_eq!(decision["reason"], "path traversal");
    let out = fire(r#"{"path": "notes.txt"}"#, "cancel");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expected cancel, got continue"));
    let out = llmspell(
        &["hooks", "test", "guard.lua", "--point", "BeforeToolExecute"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("BeforeToolExecution"),
        "{}",
        text(&out.stderr)
    );
    let out = llmspell(
        &[
            "hooks",
            "test",
            "guard.lua",
            "--point",
            "BeforeToolExecution",
            "--data",
            "{nope",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not JSON"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn configured_command_and_builtin_hooks_run_from_fixtures() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        r#"
[[hooks]]
command = ["sh", "deny-delete.sh"]
points = ["BeforeToolExecution"]

[[hooks]]
builtin = "security"
deny_patterns = { shell = "rm\\s+-rf" }
points = ["BeforeToolExecution"]
"#,
    );
    // Cancels (exit 2, stderr the reason) any call whose data mentions "delete".
    write(
        dir.path(),
        "deny-delete.sh",
        "if grep -q delete; then echo 'deleting is reviewed by hand' >&2; exit 2; fi\n",
    );
    write(
        dir.path(),
        "fixtures/1-allowed.json",
        r#"{"point": "BeforeToolExecution", "data": {"op": "read"}, "expect": "continue"}"#,
    );
    write(
        dir.path(),
        "fixtures/2-command.json",
        r#"{"point": "BeforeToolExecution", "data": {"op": "delete"}, "expect": "cancel"}"#,
    );
    write(
        dir.path(),
        "fixtures/3-builtin.json",
        r#"{"point": "BeforeToolExecution", "data": {"cmd": "rm -rf /"}, "expect": "cancel"}"#,
    );
    let out = llmspell(&["hooks", "test", "--fixtures", "fixtures"], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok   2-command.json: cancel (deleting is reviewed by hand)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   3-builtin.json: cancel (security rule denied_pattern:shell"),
        "{stdout}"
    );
    assert!(stdout.contains("3 fixtures, 0 failed"), "{stdout}");
    write(
        dir.path(),
        "fixtures/4-wrong.json",
        r#"{"point": "BeforeToolExecution", "data": {"op": "read"}, "expect": "cancel"}"#,
    );
    let out = llmspell(&["hooks", "test", "--fixtures", "fixtures"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL 4-wrong.json: expected cancel, got continue"),
        "{stdout}"
    );
    assert!(stdout.contains("4 fixtures, 1 failed"), "{stdout}");
}
