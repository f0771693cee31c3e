//! Storage for llmspell: one async key-value contract, two backends.
//!
//! - [`StorageBackend`]: get, put, delete, exists, ordered scans ([`Scan`]),
//!   atomic batches ([`Batch`]) and `flush`.
//! - [`MemoryBackend`]: an ordered in-process map; nothing survives the process.
//! - [`SledBackend`]: the embedded default, on sled 0.34; opening a path
//!   creates it, and a locked or corrupt database is a clear [`Error`].
//! - [`Namespaced`]: a view of a backend under a key prefix.
//! - [`JsonStore`]: typed JSON values over any backend.
//! - [`conformance`]: the test suite every backend must pass.
//!
//! Keys are non-empty UTF-8 strings; scans return them in byte order. What a
//! crash can lose is described in `docs/technical/storage.md`.
//!
//! # Example
//!
//! ```
//! use llmspell_storage::{JsonStore, MemoryBackend, StorageBackend};
//! use std::sync::Arc;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
//! let store = JsonStore::new(backend);
//! store.put("user/1", &serde_json::json!({"name": "ada"})).await?;
//! let user: serde_json::Value = store.get("user/1").await?.expect("stored");
//! assert_eq!(user["name"], "ada");
//! # Ok::<(), llmspell_storage::Error>(())
//! # }).unwrap();
//! ```

mod backend;
mod batch;
pub mod conformance;
mod error;
mod json;
mod key;
mod memory;
mod namespaced;
mod scan;
mod sled_backend;

pub use backend::StorageBackend;
pub use batch::{Batch, BatchOp};
pub use error::{Error, Result};
pub use json::JsonStore;
pub use key::validate_key;
pub use memory::MemoryBackend;
pub use namespaced::Namespaced;
pub use scan::Scan;
pub use sled_backend::{SledBackend, SledOptions};
