//! Data-processing tools (security level `safe`, category `data`).

mod csv_analyzer;
mod json_processor;

pub use csv_analyzer::CsvAnalyzer;
pub use json_processor::JsonProcessor;
