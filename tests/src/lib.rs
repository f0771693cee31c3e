//! Cross-crate integration tests for llmspell live in `tests/tests/`; this
//! library is empty on purpose.
