//! `llmspell.toml` as a user writes it: built-in, command and script hooks
//! turned on from the file change what `llmspell run` does; flags override
//! the file; `config show` prints the effective configuration; a bad file
//! is an error at file:line:column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tempfile::TempDir;

mod common;
use common::{llmspell, text, write};

const CONFIG: &str = r#"
[storage]
backend = "memory"

[[hooks]]
builtin = "rate_limit"
per_minute = 1
burst = 1
component = "calculator"
mode = "cancel"

[[hooks]]
command = ["python3", "policy.py"]
points = ["BeforeToolExecution"]
component = "text_*"
fail = "closed"

[[hooks]]
script = "hooks/tag.lua"
"#;

/// Refuses text tools asked to shout.
const POLICY: &str = r#"
import json, sys
ctx = json.load(sys.stdin)
if ctx["data"].get("operation") == "uppercase":
    print(json.dumps({"action": "cancel", "reason": "policy: no shouting"}))
"#;

const TAG_HOOK: &str = r#"
tagged = 0
Hook.register("AfterToolExecution", function(ctx) tagged = tagged + 1 end, { name = "tagger" })
"#;

const SCRIPT: &str = r#"
assert(Tool.invoke("calculator", { expression = "1+1" }).result == 2)
local ok, err = pcall(Tool.invoke, "calculator", { expression = "2+2" })
assert(not ok and err.kind == "cancelled", "rate limit from the file: " .. tostring(err))
assert(Hook.report("rate_limit").limited == 1)
local ok2, err2 = pcall(Tool.invoke, "text_manipulator", { operation = "uppercase", text = "hi" })
assert(not ok2 and tostring(err2):find("no shouting"), "command hook from the file: " .. tostring(err2))
assert(Tool.invoke("text_manipulator", { operation = "lowercase", text = "HI" }).result == "hi")
assert(tagged == 2, "script hook file from the file ran: " .. tagged)
print("ok")
"#;

fn project() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("hooks")).unwrap();
    write(dir.path(), "llmspell.toml", CONFIG);
    write(dir.path(), "policy.py", POLICY);
    write(dir.path(), "hooks/tag.lua", TAG_HOOK);
    write(dir.path(), "main.lua", SCRIPT);
    dir
}

#[test]
fn hooks_declared_in_the_file_change_what_scripts_do() {
    let dir = project();
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "ok");
    // The same file given with --config from elsewhere.
    let elsewhere = TempDir::new().unwrap();
    let config = dir.path().join("llmspell.toml");
    let script = dir.path().join("main.lua");
    let out = llmspell(
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
        elsewhere.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn config_show_prints_the_file_with_the_flags_over_it() {
    let dir = project();
    let out = llmspell(
        &["config", "show", "--storage", "sled", "--data-dir", "state"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("llmspell.toml and the command line"),
        "{shown}"
    );
    assert!(shown.contains("backend = \"sled\""), "{shown}");
    assert!(shown.contains("data_dir = \"state\""), "{shown}");
    assert!(shown.contains("builtin = \"rate_limit\""), "{shown}");
}

#[test]
fn a_bad_file_is_an_error_at_its_line() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[storage]\nbackend = \"memory\"\n\n[[hooks]]\nbuiltin = \"caching\"\nttl = 60000\n",
    );
    write(dir.path(), "main.lua", "print('never')");
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("llmspell.toml:6:1") && err.contains("did you mean `ttl_ms`"),
        "{err}"
    );
    assert!(text(&out.stdout).is_empty());
    let out = llmspell(&["run", "--config", "missing.toml", "main.lua"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("missing.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_store_commands_read_the_files_data_dir() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[storage]\ndata_dir = \"state\"\n",
    );
    write(
        dir.path(),
        "pub.lua",
        "Event.publish('order.placed', { id = 7 })",
    );
    let out = llmspell(&["run", "pub.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("state/db").exists());
    let out = llmspell(&["events", "tail", "--limit", "1"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("order.placed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn hook_budgets_from_the_file_apply() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[storage]\nbackend = \"memory\"\n\n[[hook_budgets]]\ncomponent = \"calculator\"\nkind = \"tool\"\nper_call_ms = 5\npolicy = \"refuse\"\n",
    );
    write(
        dir.path(),
        "main.lua",
        r#"
        Hook.register("BeforeToolExecution", function()
            local t = os.clock()
            while os.clock() - t < 0.03 do end
        end, { component = "calculator" })
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1+1" })
        assert(not ok and err.kind == "resource_limit", tostring(err))
        print("refused")
        "#,
    );
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "refused");
    write(
        dir.path(),
        "llmspell.toml",
        "[[hook_budgets]]\ncomponent = \"calculator\"\nper_call_ms = 5\npolicy = \"drop\"\n",
    );
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("llmspell.toml:4:"),
        "{}",
        text(&out.stderr)
    );
}

/// A WAV file of `seconds` of 16-bit mono silence at 8 kHz.
fn silent_wav(seconds: u32) -> Vec<u8> {
    let data = seconds * 8000 * 2;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(wav.len() + data as usize, 0);
    wav
}

#[test]
fn media_limits_and_ffmpeg_from_the_file_reach_the_tools() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("media")).unwrap();
    std::fs::write(dir.path().join("media/long.wav"), silent_wav(2)).unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[storage]\nbackend = \"memory\"\n\n[sandbox]\nfs_roots = [\"media\"]\n\n\
         [media]\nmax_audio_seconds = 1\nffmpeg = \"ffmpeg\"\nffmpeg_timeout_ms = 5000\n",
    );
    write(
        dir.path(),
        "main.lua",
        r#"
        local probe = Tool.invoke("audio_processor", { operation = "probe", path = "long.wav" })
        assert(probe.duration_seconds == 2, tostring(probe.duration_seconds))
        local ok, err = pcall(Tool.invoke, "audio_processor",
            { operation = "to_mono", path = "long.wav", output_path = "mono.wav" })
        assert(not ok and err.kind == "resource_limit", tostring(err))
        assert(tostring(err):find("audio_milliseconds: limit 1000, requested 2000"), tostring(err))
        -- With ffmpeg configured the video tool is privileged, and this run
        -- does not allow privileged tools.
        assert(Tool.info("video_processor").security_level == "privileged")
        assert(Tool.info("video_processor").category == "media")
        local ok2, err2 = pcall(Tool.invoke, "video_processor", { operation = "metadata", path = "x.mp4" })
        assert(not ok2 and tostring(err2):find("privileged"), tostring(err2))
        print("limited")
        "#,
    );
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "limited");
    assert!(!dir.path().join("media/mono.wav").exists());
    let show = llmspell(&["config", "show"], dir.path());
    assert!(
        text(&show.stdout).contains("[media]\nmax_audio_seconds = 1\nffmpeg = \"ffmpeg\""),
        "{}",
        text(&show.stdout)
    );

    // Without the file's limit the same call succeeds.
    write(
        dir.path(),
        "llmspell.toml",
        "[storage]\nbackend = \"memory\"\n\n[sandbox]\nfs_roots = [\"media\"]\n",
    );
    write(
        dir.path(),
        "main.lua",
        r#"
        local out = Tool.invoke("audio_processor",
            { operation = "to_mono", path = "long.wav", output_path = "mono.wav" })
        assert(out.frames == 16000, tostring(out.frames))
        assert(Tool.info("video_processor").security_level == "restricted")
        print("converted")
        "#,
    );
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "converted");
    assert!(dir.path().join("media/mono.wav").exists());

    write(dir.path(), "llmspell.toml", "[media]\nmax_audio_secs = 1\n");
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did you mean `max_audio_seconds`"),
        "{}",
        text(&out.stderr)
    );
}

/// The network settings of `[sandbox]` reach the web tools: the host and
/// address allowances, the secret variables and the body cap, each shown
/// by what a script's `http_request` calls do against a local server.
#[test]
fn network_settings_from_the_file_reach_the_web_tools() {
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::get;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route(
            "/auth",
            get(|h: HeaderMap| async move {
                h.get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned()
            }),
        )
        .route("/big", get(|| async { "x".repeat(1000) }));
    rt.spawn(async move { axum::serve(listener, app).await });

    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        r#"
[storage]
backend = "memory"

[sandbox]
allowed_hosts = ["*"]
allowed_addresses = ["127.0.0.1"]
secret_env = ["LLMSPELL_TEST_TOKEN"]
net_max_response_bytes = 100
"#,
    );
    write(
        dir.path(),
        "main.lua",
        &format!(
            r#"
local base = "http://127.0.0.1:{port}"
local r = Tool.invoke("http_request", {{ url = base .. "/auth",
    auth = {{ type = "bearer", token_env = "LLMSPELL_TEST_TOKEN" }} }})
assert(r.body == "Bearer s3cret", "secret_env: " .. tostring(r.body))
local ok, err = pcall(Tool.invoke, "http_request", {{ url = base .. "/big" }})
assert(not ok and err.kind == "resource_limit", "net_max_response_bytes: " .. tostring(err))
local ok2, err2 = pcall(Tool.invoke, "http_request", {{ url = "http://127.0.0.2:{port}/auth" }})
assert(not ok2 and err2.kind == "security_violation", "allowed_addresses: " .. tostring(err2))
print("ok")
"#
        ),
    );
    let run = |config: Option<&str>| {
        if let Some(c) = config {
            write(dir.path(), "llmspell.toml", c);
        }
        std::process::Command::new(env!("CARGO_BIN_EXE_llmspell"))
            .args(["run", "main.lua"])
            .current_dir(dir.path())
            .env("LLMSPELL_TEST_TOKEN", "s3cret")
            .output()
            .unwrap()
    };
    let out = run(None);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "ok");

    // Without the address allowance, loopback is refused.
    let out = run(Some(
        "[storage]\nbackend = \"memory\"\n[sandbox]\nallowed_hosts = [\"*\"]\nsecret_env = [\"LLMSPELL_TEST_TOKEN\"]\n",
    ));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("loopback") && err.contains("allowed_addresses"),
        "{err}"
    );

    // An invalid allowance stops the run before the script starts.
    let out = run(Some(
        "[storage]\nbackend = \"memory\"\n[sandbox]\nallowed_addresses = [\"10.0.0.0/33\"]\n",
    ));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("10.0.0.0/33"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).is_empty());
}
