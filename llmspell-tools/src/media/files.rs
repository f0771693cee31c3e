//! Reading and writing media files inside the sandbox, within the size cap.

use std::fs;
use std::path::{Path, PathBuf};

use llmspell_core::{Error, Result};

use crate::fs::{io_error, write_atomically};
use crate::sandbox::FsSandbox;

/// The sandbox and the file-size cap every media tool reads and writes
/// through.
#[derive(Debug, Clone)]
pub(crate) struct MediaFiles {
    sandbox: FsSandbox,
    max_bytes: u64,
}

impl MediaFiles {
    pub(crate) fn new(sandbox: FsSandbox, max_bytes: u64) -> Self {
        Self { sandbox, max_bytes }
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// `n` bytes against the cap.
    pub(crate) fn cap(&self, n: u64) -> Result<()> {
        if n > self.max_bytes {
            Err(Error::ResourceLimitExceeded {
                resource: "media_file_bytes".to_owned(),
                limit: self.max_bytes,
                requested: n,
            })
        } else {
            Ok(())
        }
    }

    /// The existing regular file `path` (parameter `field`) and its size,
    /// without the size cap.
    pub(crate) fn input(&self, field: &str, path: &str) -> Result<(PathBuf, u64)> {
        let file = self.sandbox.resolve_existing(path)?;
        let meta = fs::metadata(&file).map_err(|e| io_error("read", &file, &e))?;
        if !meta.is_file() {
            return Err(Error::invalid_input(
                field,
                format!("`{path}` is not a file"),
            ));
        }
        Ok((file, meta.len()))
    }

    /// The file `path` (parameter `field`) and its bytes, refused before
    /// reading when larger than the cap.
    pub(crate) fn read(&self, field: &str, path: &str) -> Result<(PathBuf, Vec<u8>)> {
        let (file, size) = self.input(field, path)?;
        self.cap(size)?;
        let bytes = fs::read(&file).map_err(|e| io_error("read", &file, &e))?;
        self.cap(bytes.len() as u64)?;
        Ok((file, bytes))
    }

    /// Where an output goes: `path` resolved inside the sandbox, its
    /// directory existing, and no file there unless `overwrite`.
    pub(crate) fn output(&self, path: &str, overwrite: bool) -> Result<PathBuf> {
        let target = self.sandbox.resolve(path)?;
        match target.parent() {
            Some(dir) if dir.is_dir() => {}
            _ => {
                return Err(Error::invalid_input(
                    "output_path",
                    format!("the directory of `{path}` does not exist"),
                ));
            }
        }
        if target.is_dir() {
            return Err(Error::invalid_input(
                "output_path",
                format!("`{path}` is a directory"),
            ));
        }
        if !overwrite && target.exists() {
            return Err(Error::invalid_input(
                "output_path",
                format!("`{path}` already exists; pass overwrite: true to replace it"),
            ));
        }
        Ok(target)
    }

    /// Writes `bytes` to `target` (from [`output`](Self::output)) in one
    /// step: readers see the old file or the new one.
    pub(crate) fn write(&self, target: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
        self.cap(bytes.len() as u64)?;
        write_atomically(target, bytes, overwrite).map_err(|e| match e {
            Error::InvalidInput { message, .. } => Error::invalid_input("output_path", message),
            other => other,
        })
    }

    /// `path` as outputs show it: relative to its root.
    pub(crate) fn display(&self, path: &Path) -> String {
        self.sandbox.display_relative(path)
    }
}

/// The lowercase extension of `path`, if any.
pub(crate) fn extension(path: &str) -> Option<String> {
    Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}
