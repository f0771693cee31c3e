//! llmspell tools.

pub mod data;
mod params;
mod sandbox;
pub mod utility;

pub use sandbox::FsSandbox;
