//! Storage errors.

use std::path::PathBuf;

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a storage operation. Every variant names the key or path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key broke the key rules.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Which rule it broke and what is valid.
        reason: String,
    },
    /// A namespace name broke the namespace rules.
    #[error("invalid namespace {namespace:?}: {reason}")]
    InvalidNamespace {
        /// The namespace as given.
        namespace: String,
        /// Which rule it broke and what is valid.
        reason: String,
    },
    /// The database could not be opened.
    #[error("cannot open storage at {}: {message}", .path.display())]
    Open {
        /// The database path.
        path: PathBuf,
        /// Why.
        message: String,
        /// The backend's own error.
        #[source]
        source: Option<llmspell_core::ErrorSource>,
    },
    /// Another handle or process holds the database.
    #[error(
        "storage at {} is locked by another process or open handle; close it or use another data directory",
        .path.display()
    )]
    Locked {
        /// The database path.
        path: PathBuf,
    },
    /// The database files are damaged.
    #[error("storage at {} is corrupt: {message}", .path.display())]
    Corrupt {
        /// The database path.
        path: PathBuf,
        /// What the backend reported.
        message: String,
    },
    /// A backend operation failed for a key.
    #[error("{op} failed for key {key:?}: {message}")]
    Backend {
        /// The operation (`"get"`, `"put"`, `"scan"`, ...).
        op: &'static str,
        /// The key, prefix or first key of a batch.
        key: String,
        /// What the backend reported.
        message: String,
        /// The backend's own error.
        #[source]
        source: Option<llmspell_core::ErrorSource>,
    },
    /// A stored key is not valid UTF-8 (written by something other than llmspell).
    #[error(
        "stored key is not valid UTF-8 (hex {hex}); the database holds data llmspell did not write"
    )]
    CorruptKey {
        /// The key bytes in hex.
        hex: String,
    },
    /// A stored value could not be decoded.
    #[error("value at key {key:?} is not valid {format}: {message}")]
    Decode {
        /// The key.
        key: String,
        /// The expected format (`"JSON"`).
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode value for key {key:?}: {message}")]
    Encode {
        /// The key.
        key: String,
        /// The encoder's message.
        message: String,
    },
}

impl From<Error> for llmspell_core::Error {
    /// A storage error as the shared error, kept as its source (and through
    /// it the backend's own error).
    fn from(e: Error) -> Self {
        llmspell_core::Error::storage(e.to_string()).caused_by(e)
    }
}
