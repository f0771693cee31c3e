//! llmspell tools.

mod params;
mod sandbox;
pub mod utility;

pub use sandbox::FsSandbox;
