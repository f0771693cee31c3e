//! A view of a backend under a key prefix.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Batch, BatchOp, Error, Result, Scan, StorageBackend, validate_key};

/// The separator between a namespace and the keys inside it.
pub const NAMESPACE_SEPARATOR: char = '/';

/// A backend whose keys all live under `"<namespace>/"` of another backend.
///
/// Keys passed in and returned are relative to the namespace, so two
/// components can share one database without seeing each other's keys.
///
/// ```
/// use llmspell_storage::{MemoryBackend, Namespaced, StorageBackend};
/// use std::sync::Arc;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let db = Arc::new(MemoryBackend::new());
/// let events = Namespaced::new(db.clone(), "events")?;
/// events.put("1", b"x".to_vec()).await?;
/// assert!(db.exists("events/1").await?);
/// assert_eq!(events.scan_prefix("").await?[0].0, "1");
/// # Ok::<(), llmspell_storage::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Namespaced {
    inner: Arc<dyn StorageBackend>,
    prefix: String,
}

impl Namespaced {
    /// A view of `inner` under `namespace`.
    ///
    /// # Errors
    /// [`Error::InvalidNamespace`] if `namespace` is empty or contains `/`.
    pub fn new(inner: Arc<dyn StorageBackend>, namespace: &str) -> Result<Self> {
        if namespace.is_empty() || namespace.contains(NAMESPACE_SEPARATOR) {
            return Err(Error::InvalidNamespace {
                namespace: namespace.to_owned(),
                reason: "namespaces must be non-empty and must not contain '/'".to_owned(),
            });
        }
        Ok(Self {
            inner,
            prefix: format!("{namespace}{NAMESPACE_SEPARATOR}"),
        })
    }

    /// A nested namespace inside this one.
    ///
    /// # Errors
    /// As [`Namespaced::new`].
    pub fn child(&self, namespace: &str) -> Result<Self> {
        let mut child = Namespaced::new(self.inner.clone(), namespace)?;
        child.prefix = format!("{}{}", self.prefix, child.prefix);
        Ok(child)
    }

    /// The full prefix (`"events/"`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn strip(&self, key: String) -> String {
        key.strip_prefix(&self.prefix)
            .map(str::to_owned)
            .unwrap_or(key)
    }

    fn scan_in_namespace(&self, scan: &Scan) -> Scan {
        Scan {
            prefix: format!("{}{}", self.prefix, scan.prefix),
            start: scan.start.as_ref().map(|s| format!("{}{s}", self.prefix)),
            end: scan.end.as_ref().map(|e| format!("{}{e}", self.prefix)),
            limit: scan.limit,
            reverse: scan.reverse,
        }
    }
}

#[async_trait]
impl StorageBackend for Namespaced {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn is_durable(&self) -> bool {
        self.inner.is_durable()
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(&self.full(key)?).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.inner.put(&self.full(key)?, value).await
    }
    async fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(&self.full(key)?).await
    }
    async fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(&self.full(key)?).await
    }
    async fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.inner.scan(&self.scan_in_namespace(scan)).await?;
        Ok(rows.into_iter().map(|(k, v)| (self.strip(k), v)).collect())
    }
    async fn scan_keys(&self, scan: &Scan) -> Result<Vec<String>> {
        let keys = self.inner.scan_keys(&self.scan_in_namespace(scan)).await?;
        Ok(keys.into_iter().map(|k| self.strip(k)).collect())
    }
    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        batch.validate()?;
        let mut out = Batch::new();
        for op in batch.into_ops() {
            match op {
                BatchOp::Put { key, value } => out.push_put(format!("{}{key}", self.prefix), value),
                BatchOp::Delete { key } => out.push_delete(format!("{}{key}", self.prefix)),
            }
        }
        self.inner.apply_batch(out).await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    #[tokio::test]
    async fn namespaces_isolate_keys() {
        let db: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
        let a = Namespaced::new(db.clone(), "a").unwrap();
        let b = Namespaced::new(db.clone(), "b").unwrap();
        a.put("k", b"1".to_vec()).await.unwrap();
        b.put("k", b"2".to_vec()).await.unwrap();
        assert_eq!(a.get("k").await.unwrap().unwrap(), b"1");
        assert_eq!(b.get("k").await.unwrap().unwrap(), b"2");
        assert_eq!(a.scan(&Scan::all()).await.unwrap().len(), 1);
        let nested = a.child("x").unwrap();
        nested.put("k", b"3".to_vec()).await.unwrap();
        assert!(db.exists("a/x/k").await.unwrap());
        assert_eq!(a.scan_keys(&Scan::all()).await.unwrap(), vec!["k", "x/k"]);
    }

    #[test]
    fn bad_namespaces_are_rejected() {
        let db: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
        assert!(Namespaced::new(db.clone(), "").is_err());
        let e = Namespaced::new(db, "a/b").unwrap_err().to_string();
        assert!(e.contains("a/b") && e.contains("'/'"), "{e}");
    }
}
