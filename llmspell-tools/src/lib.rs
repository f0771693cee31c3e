//! llmspell tools.

pub mod data;
pub mod fs;
mod params;
mod sandbox;
pub mod system;
pub mod utility;

pub use sandbox::FsSandbox;
