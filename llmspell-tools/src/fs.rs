//! File-system tools (security level `restricted`, category `filesystem`).
//!
//! Every tool here takes an [`FsSandbox`](crate::FsSandbox) when it is built
//! and resolves every path through it before touching the disk.

mod archive_handler;
mod atomic_write;
mod file_converter;
mod file_operations;
mod file_search;
mod file_watcher;

pub use archive_handler::{ArchiveHandler, DEFAULT_MAX_ARCHIVE_BYTES, DEFAULT_MAX_ARCHIVE_ENTRIES};
pub(crate) use atomic_write::write_atomically;
pub use file_converter::FileConverter;
pub use file_operations::{DEFAULT_MAX_FILE_BYTES, FileOperations};
pub use file_search::FileSearch;
pub use file_watcher::{DEFAULT_MAX_WATCH, FileWatcher};

use std::path::Path;

use llmspell_core::Error;

/// Maps an I/O failure while doing `action` on `path` to an [`Error`]:
/// a missing path is [`Error::NotFound`], anything else [`Error::External`]
/// for the `filesystem` service.
pub(crate) fn io_error(action: &str, path: &Path, err: &std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::NotFound {
        Error::not_found("path", path.display().to_string())
    } else {
        Error::External {
            service: "filesystem".to_owned(),
            message: format!("cannot {action} `{}`: {err}", path.display()),
            retryable: matches!(
                err.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
            ),
            source: None,
        }
    }
}
