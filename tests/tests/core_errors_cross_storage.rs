//! Storage errors reach callers of the core contracts with the key they name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_core::ErrorKind;
use llmspell_storage::{JsonStore, MemoryBackend, StorageBackend};

#[tokio::test]
async fn a_corrupt_value_becomes_a_core_storage_error_naming_the_key() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    backend
        .put("agents/helper", b"\x00garbage".to_vec())
        .await
        .unwrap();
    let store = JsonStore::new(backend);
    let err: llmspell_core::Error = store
        .get::<serde_json::Value>("agents/helper")
        .await
        .unwrap_err()
        .into();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("agents/helper"), "{err}");
}
