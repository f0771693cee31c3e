//! The sled backend: the embedded, durable default.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::key::key_from_bytes;
use crate::{Batch, BatchOp, Error, Result, Scan, StorageBackend, validate_key};

/// Options for opening a [`SledBackend`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SledOptions {
    /// How often sled writes its log to disk in the background, in ms.
    /// `None` disables background flushing (only [`StorageBackend::flush`]
    /// makes data durable). Default: 500 ms.
    pub flush_every_ms: Option<u64>,
    /// Page cache size in bytes. Default: 64 MiB.
    pub cache_capacity: u64,
    /// How long `open` waits for a lock held by a handle that is closing
    /// (sled finishes a closed database's last writes on its own threads, so
    /// a reopen right after closing can find the lock still held). A lock
    /// still held after this is [`Error::Locked`]. Default: 1 s.
    pub lock_wait: std::time::Duration,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            flush_every_ms: Some(500),
            cache_capacity: 64 * 1024 * 1024,
            lock_wait: std::time::Duration::from_secs(1),
        }
    }
}

/// A durable store on [sled](https://docs.rs/sled/0.34).
///
/// Reads and writes go to sled's lock-free tree directly (they do not block
/// on I/O); [`flush`](StorageBackend::flush) runs sled's fsync off the async
/// threads. Cloning shares the database.
///
/// Durability: a write is durable once `flush` returns or sled's background
/// flusher has run (every `flush_every_ms`); a crash can lose writes made
/// since then. A batch is never half-applied after recovery.
#[derive(Debug, Clone)]
pub struct SledBackend {
    db: sled::Db,
    path: PathBuf,
}

impl SledBackend {
    /// Opens (creating if needed) the database at `path` with default options.
    ///
    /// # Errors
    /// [`Error::Locked`] if another handle or process has it open,
    /// [`Error::Corrupt`] if its files are damaged, [`Error::Open`] otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SledOptions::default())
    }

    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// As [`SledBackend::open`].
    pub fn open_with(path: impl AsRef<Path>, options: SledOptions) -> Result<Self> {
        let mut path = path.as_ref().to_path_buf();
        if path.exists() && !path.is_dir() {
            return Err(Error::Open {
                path,
                message: "the path is a file; sled needs a directory (it is created if missing)"
                    .to_owned(),
                source: None,
            });
        }
        let config = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_capacity)
            .flush_every_ms(options.flush_every_ms);
        let waited_since = std::time::Instant::now();
        loop {
            // sled 0.34 can panic on some damaged files instead of returning an
            // error; a damaged database must be an error, never a crash.
            let opened = std::panic::catch_unwind(AssertUnwindSafe(|| config.open()));
            return match opened {
                Ok(Ok(db)) => Ok(Self { db, path }),
                Ok(Err(e)) => match open_error(path, e) {
                    Error::Locked { path: held } if waited_since.elapsed() < options.lock_wait => {
                        path = held;
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        continue;
                    }
                    other => Err(other),
                },
                Err(panic) => Err(Error::Corrupt {
                    path,
                    message: format!("sled could not read the files: {}", panic_message(&panic)),
                }),
            };
        }
    }

    /// A database in a temporary directory that is removed when dropped.
    ///
    /// # Errors
    /// [`Error::Open`] if sled cannot create it.
    pub fn temporary() -> Result<Self> {
        let config = sled::Config::new().temporary(true);
        let db = config.open().map_err(|e| Error::Open {
            path: PathBuf::from("<temporary>"),
            message: e.to_string(),
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        Ok(Self {
            db,
            path: PathBuf::from("<temporary>"),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Approximate size on disk in bytes.
    ///
    /// # Errors
    /// [`Error::Backend`] if sled cannot read its files.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.db
            .size_on_disk()
            .map_err(|e| backend_error("size_on_disk", "", &e))
    }

    fn collect<T>(
        &self,
        scan: &Scan,
        f: impl Fn(sled::IVec, sled::IVec) -> Result<T>,
    ) -> Result<Vec<T>> {
        if scan.is_trivially_empty() {
            return Ok(Vec::new());
        }
        let limit = scan.limit.unwrap_or(usize::MAX);
        let range = self.db.range::<Vec<u8>, _>(scan.byte_bounds());
        let mut out = Vec::new();
        let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool> {
            let (k, v) = item.map_err(|e| backend_error("scan", &scan.prefix, &e))?;
            out.push(f(k, v)?);
            Ok(out.len() < limit)
        };
        if scan.reverse {
            for item in range.rev() {
                if !push(item)? {
                    break;
                }
            }
        } else {
            for item in range {
                if !push(item)? {
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown failure".to_owned()
    }
}

fn open_error(path: PathBuf, e: sled::Error) -> Error {
    match e {
        sled::Error::Corruption { .. } => Error::Corrupt {
            path,
            message: e.to_string(),
        },
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            Error::Locked { path }
        }
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            Error::Locked { path }
        }
        sled::Error::Unsupported(msg) => Error::Corrupt { path, message: msg },
        other => Error::Open {
            path,
            message: other.to_string(),
            source: Some(llmspell_core::ErrorSource::new(other)),
        },
    }
}

fn backend_error(op: &'static str, key: &str, e: &sled::Error) -> Error {
    Error::Backend {
        op,
        key: key.to_owned(),
        message: e.to_string(),
        source: Some(llmspell_core::ErrorSource::new(e.clone())),
    }
}

#[async_trait]
impl StorageBackend for SledBackend {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn is_durable(&self) -> bool {
        true
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| backend_error("get", key, &e))
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        validate_key(key)?;
        self.db
            .insert(key, value)
            .map(|_| ())
            .map_err(|e| backend_error("put", key, &e))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        self.db
            .remove(key)
            .map(|old| old.is_some())
            .map_err(|e| backend_error("delete", key, &e))
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        self.db
            .contains_key(key)
            .map_err(|e| backend_error("exists", key, &e))
    }

    async fn scan(&self, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>> {
        self.collect(scan, |k, v| Ok((key_from_bytes(&k)?, v.to_vec())))
    }

    async fn scan_keys(&self, scan: &Scan) -> Result<Vec<String>> {
        self.collect(scan, |k, _| key_from_bytes(&k))
    }

    async fn apply_batch(&self, batch: Batch) -> Result<()> {
        batch.validate()?;
        let first = batch
            .ops()
            .first()
            .map(|op| op.key().to_owned())
            .unwrap_or_default();
        let mut sled_batch = sled::Batch::default();
        for op in batch.into_ops() {
            match op {
                BatchOp::Put { key, value } => sled_batch.insert(key.as_bytes(), value),
                BatchOp::Delete { key } => sled_batch.remove(key.as_bytes()),
            }
        }
        self.db
            .apply_batch(sled_batch)
            .map_err(|e| backend_error("apply_batch", &first, &e))
    }

    async fn flush(&self) -> Result<()> {
        // sled runs the fsync on its own thread pool, so no async thread blocks.
        self.db
            .flush_async()
            .await
            .map(|_| ())
            .map_err(|e| backend_error("flush", &self.path.display().to_string(), &e))
    }
}
