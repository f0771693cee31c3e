//! Typed JSON values over any backend.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result, Scan, StorageBackend};

/// Stores serde values as JSON in a [`StorageBackend`].
///
/// A stored value that does not decode is an [`Error::Decode`] naming its key,
/// never a silent skip.
#[derive(Debug, Clone)]
pub struct JsonStore {
    backend: Arc<dyn StorageBackend>,
}

impl JsonStore {
    /// Wraps `backend`.
    pub fn new(backend: Arc<dyn StorageBackend>) -> Self {
        Self { backend }
    }

    /// The underlying backend.
    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        &self.backend
    }

    /// Reads and decodes a value.
    ///
    /// # Errors
    /// Backend errors, or [`Error::Decode`] if the stored bytes are not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.backend.get(key).await? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Encodes and writes a value.
    ///
    /// # Errors
    /// Backend errors, or [`Error::Encode`] if `value` cannot be serialised.
    pub async fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = encode(key, value)?;
        self.backend.put(key, bytes).await
    }

    /// Removes a key; returns whether it existed.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.backend.delete(key).await
    }

    /// Decodes every entry selected by `scan`.
    ///
    /// # Errors
    /// Backend errors, or [`Error::Decode`] for the first entry that is not a `T`.
    pub async fn scan<T: DeserializeOwned>(&self, scan: &Scan) -> Result<Vec<(String, T)>> {
        self.backend
            .scan(scan)
            .await?
            .into_iter()
            .map(|(k, v)| decode(&k, &v).map(|t| (k, t)))
            .collect()
    }
}

/// Encodes `value` as JSON for `key`.
///
/// # Errors
/// [`Error::Encode`] naming the key.
pub(crate) fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Encode {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

/// Decodes JSON stored under `key`.
///
/// # Errors
/// [`Error::Decode`] naming the key.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        key: key.to_owned(),
        format: "JSON",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[tokio::test]
    async fn round_trips_typed_values() {
        let store = JsonStore::new(Arc::new(MemoryBackend::new()));
        store.put("p/1", &Point { x: 1, y: 2 }).await.unwrap();
        store.put("p/2", &Point { x: 3, y: 4 }).await.unwrap();
        assert_eq!(
            store.get::<Point>("p/1").await.unwrap(),
            Some(Point { x: 1, y: 2 })
        );
        let all: Vec<(String, Point)> = store.scan(&Scan::prefix("p/")).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].1, Point { x: 3, y: 4 });
    }

    #[tokio::test]
    async fn corrupt_value_names_its_key() {
        let backend = Arc::new(MemoryBackend::new());
        backend.put("p/bad", b"{not json".to_vec()).await.unwrap();
        let store = JsonStore::new(backend);
        let err = store.get::<Point>("p/bad").await.unwrap_err();
        assert!(
            matches!(err, Error::Decode { ref key, .. } if key == "p/bad"),
            "{err}"
        );
        let err = store.scan::<Point>(&Scan::prefix("p/")).await.unwrap_err();
        assert!(err.to_string().contains("p/bad"), "{err}");
    }
}
