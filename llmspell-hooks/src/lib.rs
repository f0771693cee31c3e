//! The llmspell hook system (not built yet).
//!
//! Planned module map: `point` (HookPoint), `context` (HookContext), `result`
//! (HookResult), `hook` (Hook, hook_fn), `registry`, `executor`, `breaker`,
//! `composite`, `runner` (the guarded operation runner), `builtin`. Nothing
//! here works yet.
