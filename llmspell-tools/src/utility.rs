//! General-purpose tools with no side effects outside the process
//! (security level `safe`, category `utility`).

mod base64_encoder;
mod calculator;
mod data_validation;
mod date_time_handler;
mod diff_calculator;
mod hash_calculator;
mod template_engine;
mod text_manipulator;
mod uuid_generator;

pub use base64_encoder::Base64Encoder;
pub use calculator::Calculator;
pub use data_validation::DataValidation;
pub use date_time_handler::DateTimeHandler;
pub use diff_calculator::DiffCalculator;
pub use hash_calculator::HashCalculator;
pub use template_engine::TemplateEngine;
pub use text_manipulator::TextManipulator;
pub use uuid_generator::UuidGenerator;

pub(crate) use calculator::number_to_json;
