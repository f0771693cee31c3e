//! Atomic file replacement: readers see the old file or the new one, never
//! a partial write.

use std::io::Write;
use std::path::Path;

use llmspell_core::{Error, Result};

use crate::fs::io_error;

/// Writes `bytes` to `target` through a temporary file in the same
/// directory, renamed into place.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    let dir = target.parent().ok_or_else(|| {
        Error::invalid_input(
            "path",
            format!("`{}` has no parent directory", target.display()),
        )
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".llmspell-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io_error("create a temporary file in", dir, &e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error("write", target, &e))?;
    let persisted = if overwrite {
        tmp.persist(target).map(drop)
    } else {
        tmp.persist_noclobber(target).map(drop)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::invalid_input(
                "path",
                format!(
                    "`{}` already exists; pass overwrite: true to replace it",
                    target.display()
                ),
            )
        } else {
            io_error("replace", target, &e.error)
        }
    })
}
