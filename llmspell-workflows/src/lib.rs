//! llmspell workflows (not built yet).
//!
//! Planned module map: `step`, `state`, `sequential`, `conditional`, `loop`,
//! `parallel`. Nothing here works yet.
