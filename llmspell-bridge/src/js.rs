//! The JavaScript engine (boa_engine).
//!
//! - `engine`: the engine thread, its command loop, calls into scripts and
//!   the time limits of callbacks;
//! - `natives`: the host functions behind the globals, one file per global
//!   under `natives/`;
//! - `prelude.js`: the globals themselves (`Hook`, `Event`, `Tool`, `Agent`,
//!   `Workflow`, `console`, `print`, `llmspell`, `setTimeout`), built on the
//!   natives;
//! - `conversion`: JSON ↔ JavaScript values;
//! - `errors`: JavaScript errors as `file:line: message`.

pub(crate) mod conversion;
mod engine;
mod errors;
mod natives;

pub(crate) use engine::start;
