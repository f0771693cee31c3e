//! llmspell agents (not built yet).
//!
//! Planned module map: `lifecycle` (the 9-state machine), `basic`
//! (BasicAgent), `llm` (LlmAgent, LlmProvider, providers), `registry`.
//! Nothing here works yet.
