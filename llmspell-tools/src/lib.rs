//! llmspell tools.

pub mod data;
pub mod fs;
mod params;
mod sandbox;
pub mod utility;

pub use sandbox::FsSandbox;
