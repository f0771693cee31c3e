//! The storage contract.

use std::fmt;

use async_trait::async_trait;

use crate::{Batch, Result, Scan};

/// An async, ordered key-value store.
///
/// Implementers owe these guarantees, checked by [`crate::conformance`]:
/// - keys are validated with [`crate::validate_key`]; an invalid key is an
///   error and nothing is written;
/// - a `put` is visible to every later `get`/`scan` on any handle;
/// - scans return keys in ascending byte order (descending when reversed);
/// - [`apply_batch`](StorageBackend::apply_batch) writes all ops or none;
/// - after [`flush`](StorageBackend::flush) returns, everything written
///   before the call survives a crash of the process (for durable backends).
///
/// Errors name the key or path that failed. No method panics on bad data.
#[async_trait]
pub trait StorageBackend: Send + Sync + fmt::Debug {
    /// A short name for diagnostics (`"memory"`, `"sled"`).
    fn name(&self) -> &'static str;

    /// Whether data survives the process.
    fn is_durable(&self) -> bool;

    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Writes a value, replacing any previous one.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()>;

    /// Removes a key; returns whether it existed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Whether a key exists.
    async fn exists(&self, key: &str) -> Result<bool>;

    /// Entries selected by `scan`, in key order.
    async fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>>;

    /// Keys selected by `scan`, in key order, without reading values where the
    /// backend can avoid it.
    async fn scan_keys(&self, scan: &Scan) -> Result<Vec<String>> {
        Ok(self.scan(scan).await?.into_iter().map(|(k, _)| k).collect())
    }

    /// Applies every op of `batch` atomically.
    async fn apply_batch(&self, batch: Batch) -> Result<()>;

    /// Makes every completed write durable.
    async fn flush(&self) -> Result<()>;

    /// Entries whose key starts with `prefix`, ascending.
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.scan(&Scan::prefix(prefix)).await
    }
}

#[async_trait]
impl<T: StorageBackend + ?Sized> StorageBackend for std::sync::Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn is_durable(&self) -> bool {
        (**self).is_durable()
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        (**self).put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        (**self).delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        (**self).exists(key).await
    }
    async fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>> {
        (**self).scan(scan).await
    }
    async fn scan_keys(&self, scan: &Scan) -> Result<Vec<String>> {
        (**self).scan_keys(scan).await
    }
    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        (**self).apply_batch(batch).await
    }
    async fn flush(&self) -> Result<()> {
        (**self).flush().await
    }
}
