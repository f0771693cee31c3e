//! The system, session, state-migration, configuration and memory points
//! fire from the runtime's real operations (starting, saving and restoring
//! a session, shutting down, changing settings, using memory), and their
//! hooks' results take effect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use llmspell_bridge::{Error, RuntimeConfig, RuntimeUpdate, ScriptRuntime, StorageChoice};
use llmspell_core::Language;
use llmspell_hooks::{HookPoint, HookRegistry, HookResult, sync_hook_fn};
use parking_lot::Mutex;
use serde_json::{Value, json};

mod common;
use common::lua;

type Seen = Arc<Mutex<Vec<Value>>>;

/// Registers (for good) a hook at `point` that records its data and
/// answers with `answer(data)`.
fn on(
    registry: &HookRegistry,
    point: HookPoint,
    answer: impl Fn(&Value) -> HookResult + Send + Sync + 'static,
) -> Seen {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    registry
        .register(
            point,
            sync_hook_fn(move |ctx| {
                log.lock().push(ctx.data.clone());
                Ok(answer(&ctx.data))
            })
            .named("test-hook"),
        )
        .forget();
    seen
}

fn continue_(_: &Value) -> HookResult {
    HookResult::Continue
}

/// A runtime keeping session `name` in the sled database under `dir`.
fn session_runtime(dir: &std::path::Path, name: &str, version: u32) -> ScriptRuntime {
    ScriptRuntime::new(RuntimeConfig {
        storage: StorageChoice::Sled(dir.join("db")),
        session: Some(name.to_owned()),
        state_version: version,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

fn cancelled_reason(e: Error) -> String {
    match e {
        Error::Core(llmspell_core::Error::Cancelled { reason, .. }) => reason,
        other => panic!("expected a cancel, got {other}"),
    }
}

#[test]
fn system_startup_fires_once_at_start_and_its_cancel_refuses_to_start() {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    let seen = on(rt.hooks(), HookPoint::SystemStartup, continue_);
    lua(&rt, "x = 1");
    lua(&rt, "x = 2");
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 1, "once per runtime: {seen:?}");
    assert_eq!(seen[0]["storage"], "memory");
    assert_eq!(seen[0]["version"], env!("CARGO_PKG_VERSION"));

    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    on(rt.hooks(), HookPoint::SystemStartup, |_| {
        HookResult::Cancel("maintenance window".into())
    });
    assert_eq!(
        cancelled_reason(rt.start().unwrap_err()),
        "maintenance window"
    );
    let e = rt.run_source(Language::Lua, "x.lua", "x = 1").unwrap_err();
    assert_eq!(cancelled_reason(e), "maintenance window", "no script runs");
}

#[test]
fn system_shutdown_and_session_end_fire_when_the_runtime_stops() {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    let ended = on(rt.hooks(), HookPoint::SessionEnd, continue_);
    let shutdown = on(rt.hooks(), HookPoint::SystemShutdown, continue_);
    lua(&rt, "State.set('k', 1)");
    assert!(ended.lock().is_empty() && shutdown.lock().is_empty());
    rt.shutdown().unwrap();
    let ended = ended.lock().clone();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["state"], json!({ "k": 1 }));
    assert!(ended[0]["session"].is_null(), "an unnamed session");
    assert_eq!(shutdown.lock().len(), 1);
    assert!(shutdown.lock()[0]["uptime_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn session_start_reports_the_restore_and_its_cancel_refuses_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "chat", 1);
    let started = on(rt.hooks(), HookPoint::SessionStart, continue_);
    lua(&rt, "State.set('turns', 3)");
    rt.shutdown().unwrap();
    assert_eq!(
        started.lock()[0],
        json!({ "session": "chat", "restored": false, "keys": [] })
    );

    let rt = session_runtime(dir.path(), "chat", 1);
    let started = on(rt.hooks(), HookPoint::SessionStart, |d| {
        if d["restored"] == true {
            HookResult::Cancel("resume refused".into())
        } else {
            HookResult::Continue
        }
    });
    assert_eq!(cancelled_reason(rt.start().unwrap_err()), "resume refused");
    assert_eq!(started.lock()[0]["keys"], json!(["turns"]));
}

#[test]
fn a_named_session_is_saved_at_shutdown_and_restored_through_session_restore() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "chat", 1);
    lua(
        &rt,
        r#"
        assert(llmspell.session == "chat")
        assert(State.get("turns") == nil)
        State.set("turns", 2)
        State.set("history", { "hi", "hello" })
    "#,
    );
    rt.shutdown().unwrap();

    let rt = session_runtime(dir.path(), "chat", 1);
    let restored = on(rt.hooks(), HookPoint::SessionRestore, |d| {
        let mut d = d.clone();
        d["state"]["restored_by_hook"] = json!(true);
        HookResult::Modified(d)
    });
    lua(
        &rt,
        r#"
        assert(State.get("turns") == 2, "turns: " .. tostring(State.get("turns")))
        assert(State.get("history")[2] == "hello")
        assert(State.get("restored_by_hook") == true)
    "#,
    );
    let restored = restored.lock().clone();
    assert_eq!(restored[0]["session"], "chat");
    assert_eq!(restored[0]["state"]["turns"], 2);
    assert!(restored[0]["saved_at"].as_str().unwrap().ends_with('Z'));
    rt.shutdown().unwrap();

    // A restore hook may start the session afresh, or refuse it.
    let rt = session_runtime(dir.path(), "chat", 1);
    on(rt.hooks(), HookPoint::SessionRestore, |_| {
        HookResult::Replace(json!({}))
    });
    lua(&rt, "assert(#State.keys() == 0)");
    drop(rt);
    let rt = session_runtime(dir.path(), "chat", 1);
    on(rt.hooks(), HookPoint::SessionRestore, |_| {
        HookResult::Cancel("tampered".into())
    });
    assert_eq!(cancelled_reason(rt.start().unwrap_err()), "tampered");
}

#[test]
fn state_save_passes_session_checkpoint_whose_hooks_change_or_refuse_what_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "s", 1);
    let seen = on(rt.hooks(), HookPoint::SessionCheckpoint, |d| {
        if d["state"].get("readonly").is_some() {
            HookResult::Cancel("this session is read-only".into())
        } else if d["state"].get("secret").is_some() {
            let mut d = d.clone();
            d["state"]["secret"] = json!("<redacted>");
            HookResult::Modified(d)
        } else {
            HookResult::Continue
        }
    });
    lua(
        &rt,
        r#"
        State.set("secret", "hunter2")
        assert(State.save() == true)
        assert(State.get("secret") == "hunter2", "the live state is unchanged")
        State.set("readonly", true)
        local ok, err = pcall(State.save)
        assert(not ok and tostring(err):find("this session is read%-only"), tostring(err))
        State.delete("readonly")
    "#,
    );
    assert_eq!(seen.lock()[0]["reason"], "save");
    rt.checkpoint().unwrap();
    drop(rt);
    let rt = session_runtime(dir.path(), "s", 1);
    lua(&rt, r#"assert(State.get("secret") == "<redacted>")"#);
}

#[test]
fn session_end_hooks_change_the_final_state_or_skip_the_final_save() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "s", 1);
    on(rt.hooks(), HookPoint::SessionEnd, |d| {
        let mut d = d.clone();
        d["state"]["closed"] = json!(true);
        HookResult::Modified(d)
    });
    lua(&rt, "State.set('n', 1)");
    rt.shutdown().unwrap();
    let rt = session_runtime(dir.path(), "s", 1);
    on(rt.hooks(), HookPoint::SessionEnd, |_| {
        HookResult::Cancel("discard this run".into())
    });
    lua(
        &rt,
        "assert(State.get('closed') == true and State.get('n') == 1); State.set('n', 99)",
    );
    rt.shutdown().unwrap();
    let rt = session_runtime(dir.path(), "s", 1);
    lua(
        &rt,
        "assert(State.get('n') == 1, 'the cancelled run was not saved')",
    );
}

#[test]
fn state_saved_by_an_older_version_passes_state_migration() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "app", 1);
    lua(&rt, "State.set('name', 'Ada Lovelace')");
    rt.shutdown().unwrap();

    let rt = session_runtime(dir.path(), "app", 2);
    let seen = on(rt.hooks(), HookPoint::StateMigration, |d| {
        let full = d["state"]["name"].as_str().unwrap_or_default().to_owned();
        let (first, last) = full.split_once(' ').unwrap_or((&full, ""));
        let mut d = d.clone();
        d["state"] = json!({ "first": first, "last": last });
        HookResult::Modified(d)
    });
    lua(
        &rt,
        "assert(State.get('first') == 'Ada' and State.get('last') == 'Lovelace' and State.get('name') == nil)",
    );
    let first = seen.lock()[0].clone();
    assert_eq!(
        (first["from_version"].clone(), first["to_version"].clone()),
        (json!(1), json!(2))
    );
    rt.shutdown().unwrap();

    // Saved as version 2 now: no migration on the next run.
    let rt = session_runtime(dir.path(), "app", 2);
    let seen = on(rt.hooks(), HookPoint::StateMigration, continue_);
    lua(&rt, "assert(State.get('first') == 'Ada')");
    assert!(seen.lock().is_empty());
    rt.shutdown().unwrap();

    // State of a newer version is refused rather than misread.
    let rt = session_runtime(dir.path(), "app", 1);
    let e = rt.start().unwrap_err().to_string();
    assert!(
        e.contains("state version 2") && e.contains("--state-version"),
        "{e}"
    );
}

#[test]
fn preloaded_scripts_register_hooks_that_see_the_start_points() {
    let dir = tempfile::tempdir().unwrap();
    let rt = session_runtime(dir.path(), "p", 1);
    lua(&rt, "State.set('visits', 1)");
    rt.shutdown().unwrap();
    let rt = session_runtime(dir.path(), "p", 1);
    rt.preload_source(
        Language::Lua,
        "hooks.lua",
        r#"
        Hook.register("SessionRestore", function(ctx)
            local s = ctx.data.state
            s.visits = s.visits + 1
            return { action = "modified", data = ctx.data }
        end)
    "#,
    )
    .unwrap();
    lua(&rt, "assert(State.get('visits') == 2)");
    let e = rt
        .preload_source(Language::Lua, "late.lua", "x = 1")
        .unwrap_err();
    assert!(e.to_string().contains("already started"), "{e}");
}

#[test]
fn configuration_change_guards_every_change_of_a_running_runtime() {
    let rt = ScriptRuntime::new(RuntimeConfig::default()).unwrap();
    let seen =
        on(
            rt.hooks(),
            HookPoint::ConfigurationChange,
            |d| match d["change"]["callback_timeout_ms"].as_u64() {
                Some(ms) if ms > 60_000 => HookResult::Cancel("limits stay under a minute".into()),
                Some(ms) if ms < 40 => {
                    let mut d = d.clone();
                    d["change"]["callback_timeout_ms"] = json!(40);
                    HookResult::Modified(d)
                }
                _ => HookResult::Continue,
            },
        );
    let applied = rt
        .reconfigure(RuntimeUpdate::new().callback_timeout(Duration::from_millis(10)))
        .unwrap();
    assert_eq!(applied.callback_timeout_ms, Some(40), "raised by the hook");
    assert_eq!(seen.lock()[0]["current"]["callback_timeout_ms"], 5000);
    let e = rt
        .reconfigure(RuntimeUpdate::new().callback_timeout(Duration::from_secs(600)))
        .unwrap_err();
    assert_eq!(cancelled_reason(e), "limits stay under a minute");
    // The change took effect: a busy hook with no limit of its own is
    // stopped after 40 ms.
    lua(
        &rt,
        r#"
        Hook.register("BeforeToolExecution", function() while true do end end, { fail = "closed", name = "spin" })
        local ok, err = pcall(Tool.invoke, "calculator", { expression = "1" })
        assert(not ok and tostring(err):find("40 ms"), tostring(err))
    "#,
    );
    assert!(
        rt.reconfigure(RuntimeUpdate::new())
            .unwrap_err()
            .to_string()
            .contains("sets nothing")
    );
}

#[test]
fn a_lua_engine_past_its_memory_high_water_fires_memory_usage_high_whose_cancel_stops_it() {
    let rt = ScriptRuntime::new(RuntimeConfig {
        memory_limit: 64 << 20,
        memory_high_water: 0.25,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let seen = on(rt.hooks(), HookPoint::MemoryUsageHigh, |d| {
        if d["source"] == "lua" {
            HookResult::Cancel("memory budget of the job".into())
        } else {
            HookResult::Continue
        }
    });
    let e = rt
        .run_source(
            Language::Lua,
            "hog.lua",
            r#"
            local t = {}
            for i = 1, 400000 do t[i] = string.rep("x", 64) .. i end
            -- Well past the mark now; a long loop that the hook's stop ends.
            local n = 0
            for i = 1, 2e9 do n = n + 1 end
        "#,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memory budget of the job") && e.contains("MemoryUsageHigh"),
        "{e}"
    );
    let data = seen.lock()[0].clone();
    assert_eq!(data["source"], "lua");
    assert_eq!(data["limit_bytes"], 64 << 20);
    assert!(data["used_bytes"].as_u64().unwrap() >= data["mark_bytes"].as_u64().unwrap());
}

#[test]
fn the_process_passing_its_resident_memory_mark_fires_memory_usage_high() {
    if llmspell_bridge_rss_unsupported() {
        return;
    }
    let rt = ScriptRuntime::new(RuntimeConfig {
        rss_high_water: Some(1),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let seen = on(rt.hooks(), HookPoint::MemoryUsageHigh, continue_);
    rt.start().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["source"], "process");
    assert_eq!(seen[0]["mark_bytes"], 1);
}

fn llmspell_bridge_rss_unsupported() -> bool {
    !std::path::Path::new("/proc/self/status").exists()
}
