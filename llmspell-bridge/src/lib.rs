//! The llmspell script runtime.
//!
//! A [`ScriptRuntime`] owns one hook registry, one event bus and one tool
//! registry, and script engines that share them: Lua (mlua, Lua 5.4) and
//! JavaScript (boa_engine).
//! Each engine runs on its own thread with a single-threaded executor; the
//! rest of the runtime reaches it through channels, and code already running
//! on an engine's thread calls it directly, so a Lua hook fires inside a
//! `Tool.invoke` made by the same script without a thread hop.
//!
//! The script-facing API (`Hook`, `Event`, `Tool`, `Agent`, `Workflow`,
//! `print`, `llmspell`, and `JSON` in Lua, `console` in JavaScript) is
//! documented in `docs/user-guide/lua-api.md` and
//! `docs/user-guide/javascript-api.md`.
//!
//! # Example
//!
//! ```
//! use llmspell_bridge::{RuntimeConfig, ScriptRuntime};
//! use llmspell_core::Language;
//!
//! let runtime = ScriptRuntime::new(RuntimeConfig::default())?;
//! runtime.run_source(Language::Lua, "hello.lua", r#"
//!     local out = Tool.invoke("calculator", { expression = "2 + 2 * x", variables = { x = 3 } })
//!     assert(out.result == 8)
//! "#)?;
//! runtime.wait_quiescent(None);
//! # Ok::<(), llmspell_bridge::Error>(())
//! ```

mod config;
mod configured;
mod convert_error;
mod engine;
mod error;
mod host;
mod js;
mod live;
mod lua;
mod memory;
mod runtime;
mod script_hook;
mod script_value;
mod session;

pub use config::{RuntimeConfig, StorageChoice};
pub use engine::{CallArgs, EngineHandle, ScriptFunction};
pub use error::{Error, Result, ScriptError};
pub use host::{CallOptions, HookBody, Host, HostError, UsedHook, WorkflowKind};
pub use live::RuntimeUpdate;
pub use runtime::{ScriptRuntime, language_of};
pub use script_hook::ScriptHook;
pub use script_value::ScriptValue;
