//! The in-memory backend.

use std::collections::BTreeMap;

use async_trait::async_trait;
use parking_lot::RwLock;

use crate::key::key_from_bytes;
use crate::{Batch, BatchOp, Result, Scan, StorageBackend, validate_key};

/// An ordered map in process memory.
///
/// Fast and useful for tests and ephemeral runs; nothing survives the process.
/// A single `RwLock` guards the map so that batches are atomic with respect to
/// readers (scans see a batch entirely or not at all); the lock is never held
/// across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.map.read().is_empty()
    }

    fn collect<T>(&self, scan: &Scan, f: impl Fn(&[u8], &[u8]) -> Result<T>) -> Result<Vec<T>> {
        if scan.is_trivially_empty() {
            return Ok(Vec::new());
        }
        let limit = scan.limit.unwrap_or(usize::MAX);
        let map = self.map.read();
        let range = map.range::<Vec<u8>, _>(scan.byte_bounds());
        if scan.reverse {
            range.rev().take(limit).map(|(k, v)| f(k, v)).collect()
        } else {
            range.take(limit).map(|(k, v)| f(k, v)).collect()
        }
    }
}

#[async_trait]
impl StorageBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn is_durable(&self) -> bool {
        false
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        Ok(self.map.read().get(key.as_bytes()).cloned())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        validate_key(key)?;
        self.map.write().insert(key.as_bytes().to_vec(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        Ok(self.map.write().remove(key.as_bytes()).is_some())
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        Ok(self.map.read().contains_key(key.as_bytes()))
    }

    async fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>> {
        self.collect(scan, |k, v| Ok((key_from_bytes(k)?, v.to_vec())))
    }

    async fn scan_keys(&self, scan: &Scan) -> Result<Vec<String>> {
        self.collect(scan, |k, _| key_from_bytes(k))
    }

    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        batch.validate()?;
        let mut map = self.map.write();
        for op in batch.into_ops() {
            match op {
                BatchOp::Put { key, value } => {
                    map.insert(key.into_bytes(), value);
                }
                BatchOp::Delete { key } => {
                    map.remove(key.as_bytes());
                }
            }
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}
