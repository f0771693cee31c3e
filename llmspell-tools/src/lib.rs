//! llmspell tools (not built yet).
//!
//! Planned module map: `registry` (ToolRegistry), `executor` (hooked execution
//! with the tool hook points), `limits` (ResourceTracker), and the tools by
//! family: `utility`, `data`, `fs`, `system`. Nothing here works yet.
