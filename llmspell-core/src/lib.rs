//! Component contracts shared by every llmspell crate.
//!
//! This crate is deliberately small and stable: the identity of components
//! ([`ComponentId`], [`ComponentType`]), the context an operation runs in
//! ([`ExecutionContext`], [`CorrelationId`], [`Language`]), the three component traits ([`Tool`],
//! [`Agent`], [`Workflow`]) and the shared [`Error`] type, with [`params`]
//! (JSON parameters and option tables read with errors naming the field),
//! [`suggest`] (the closest valid name to a mistyped one) and [`clock`].
//! Machinery (hooks, events, registries, engines) lives in the crates above
//! it.
//!
//! # Example
//!
//! ```
//! use async_trait::async_trait;
//! use llmspell_core::{ComponentMetadata, ExecutionContext, Result, Tool};
//! use serde_json::{json, Value};
//!
//! struct Echo(ComponentMetadata);
//!
//! #[async_trait]
//! impl Tool for Echo {
//!     fn metadata(&self) -> &ComponentMetadata {
//!         &self.0
//!     }
//!     async fn execute(&self, input: Value, _ctx: &ExecutionContext) -> Result<Value> {
//!         Ok(json!({ "echo": input }))
//!     }
//! }
//!
//! # tokio_test();
//! # fn tokio_test() {
//! let tool = Echo(ComponentMetadata::tool("echo", "returns its input"));
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let out = rt.block_on(tool.execute(json!({"x": 1}), &ExecutionContext::native())).unwrap();
//! assert_eq!(out, json!({"echo": {"x": 1}}));
//! # }
//! ```

mod agent;
pub mod clock;
mod component;
mod context;
mod correlation;
mod error;
mod language;
pub mod params;
mod size;
pub mod suggest;
mod tool;
mod workflow;

pub use agent::Agent;
pub use component::{ComponentId, ComponentMetadata, ComponentType};
pub use context::ExecutionContext;
pub use correlation::{CorrelationId, EncodeBuffer};
pub use error::{Error, ErrorKind, ErrorSource, Result};
pub use language::Language;
pub use size::json_size;
pub use tool::{SecurityLevel, Tool, ToolCategory};
pub use workflow::Workflow;

/// Re-exported so implementers of the component traits need no extra dependency.
pub use async_trait::async_trait;
