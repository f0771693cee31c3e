//! The llmspell script runtime (not built yet).
//!
//! Planned module map: `runtime` (ScriptRuntime), `lua` (mlua engine and its
//! globals), `js` (boa_engine engine and its globals), `conversion`. Nothing
//! here works yet.
