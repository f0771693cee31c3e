//! Data-processing tools (security level `safe`, category `data`).

mod csv_analyzer;
mod json_processor;

pub use csv_analyzer::CsvAnalyzer;
pub use json_processor::JsonProcessor;

pub(crate) use csv_analyzer::{csv_to_json, json_to_csv};
