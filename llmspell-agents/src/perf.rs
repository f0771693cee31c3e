//! The agent metric of `llmspell bench`.
