//! The Lua engine (mlua, Lua 5.4).
//!
//! - `engine`: the engine thread, its command loop and callbacks;
//! - `sandbox`: the standard library scripts get;
//! - `conversion`: JSON ↔ Lua;
//! - `errors`: Lua errors as `file:line: message`;
//! - `globals`: `Hook`, `Event`, `Tool`, `JSON`, `print`, `llmspell`.

pub(crate) mod conversion;
mod engine;
mod errors;
mod globals;
mod sandbox;

pub(crate) use engine::start;
