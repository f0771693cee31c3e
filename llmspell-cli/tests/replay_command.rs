//! Recording hook executions with `--record-hooks` and replaying them with
//! `llmspell replay` and `Hook.replay` against changed hooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tempfile::TempDir;

mod common;
use common::{llmspell, text};

/// The policy as recorded: no multiplication.
const POLICY_V1: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.expression:find("%*") then return { action = "cancel", reason = "no multiplication" } end
end, { name = "policy", component = "calculator" })
"#;

/// The policy changed: no addition either.
const POLICY_V2: &str = r#"
Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.expression:find("[%*%+]") then return { action = "cancel", reason = "no arithmetic" } end
end, { name = "policy", component = "calculator" })
"#;

#[test]
fn recorded_executions_replay_against_the_current_hooks() {
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    std::fs::write(p.join("v1.lua"), POLICY_V1).unwrap();
    std::fs::write(p.join("v2.lua"), POLICY_V2).unwrap();
    std::fs::write(
        p.join("work.lua"),
        r#"
        Tool.invoke("calculator", { expression = "1 + 1" })
        assert(not pcall(Tool.invoke, "calculator", { expression = "2 * 3" }))
        "#,
    )
    .unwrap();
    let out = llmspell(
        &[
            "run",
            "--data-dir",
            "data",
            "--record-hooks",
            "v1.lua",
            "work.lua",
        ],
        p,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = llmspell(&["replay", "--data-dir", "data", "v1.lua"], p);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("2 executions replayed, 0 differ"),
        "{stdout}"
    );

    let out = llmspell(&["replay", "--data-dir", "data", "v2.lua"], p);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DIFF policy at BeforeToolExecution"),
        "{stdout}"
    );
    assert!(stdout.contains("no arithmetic"), "{stdout}");
    assert!(
        stdout.contains("2 executions replayed, 2 differ"),
        "{stdout}"
    );

    // No hook under that name now: reported, not silently passed.
    std::fs::write(p.join("none.lua"), "-- no hooks").unwrap();
    let out = llmspell(&["replay", "--data-dir", "data", "none.lua"], p);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("no hook named \"policy\""));

    // The same from a script.
    std::fs::write(
        p.join("check.lua"),
        r#"
        local reports = Hook.replay({ hook = "policy" })
        assert(#reports == 2, #reports)
        local differ = 0
        for _, r in ipairs(reports) do if not r.matches then differ = differ + 1 end end
        assert(differ == 2, differ)
        print("differ", differ)
        "#,
    )
    .unwrap();
    let out = llmspell(&["run", "--data-dir", "data", "v2.lua", "check.lua"], p);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("differ\t2"));
}
