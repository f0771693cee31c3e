//! Helpers shared by the Lua and JavaScript integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use llmspell_bridge::{Error, RuntimeConfig, ScriptRuntime};
use llmspell_core::Language;

pub fn runtime() -> ScriptRuntime {
    ScriptRuntime::new(RuntimeConfig::default()).unwrap()
}

pub fn runtime_with(f: impl FnOnce(&mut RuntimeConfig)) -> ScriptRuntime {
    let mut c = RuntimeConfig::default();
    f(&mut c);
    ScriptRuntime::new(c).unwrap()
}

/// Runs Lua; panics with the script error (file:line: message) on failure.
pub fn lua(rt: &ScriptRuntime, src: &str) {
    if let Err(e) = rt.run_source(Language::Lua, "test.lua", src) {
        panic!("{e}");
    }
}

/// Runs Lua expecting an uncaught error; returns its text.
pub fn lua_err(rt: &ScriptRuntime, src: &str) -> String {
    match rt.run_source(Language::Lua, "test.lua", src) {
        Ok(()) => panic!("the script was expected to fail"),
        Err(Error::Script(e)) => e.to_string(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

pub fn settle(rt: &ScriptRuntime) {
    assert!(
        rt.wait_quiescent(Some(Duration::from_secs(10))),
        "the runtime did not settle"
    );
}

/// Runs JavaScript; panics with the script error on failure.
pub fn js(rt: &ScriptRuntime, src: &str) {
    if let Err(e) = rt.run_source(Language::Javascript, "test.js", src) {
        panic!("{e}");
    }
}

/// Runs JavaScript expecting an uncaught error; returns its text.
pub fn js_err(rt: &ScriptRuntime, src: &str) -> String {
    match rt.run_source(Language::Javascript, "test.js", src) {
        Ok(()) => panic!("the script was expected to fail"),
        Err(Error::Script(e)) => e.to_string(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}
