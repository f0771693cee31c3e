//! Listing directories and reading file metadata.

use std::fs;

use chrono::{DateTime, SecondsFormat, Utc};
use llmspell_core::{Error, Result};
use serde_json::{Value, json};

use super::{DEFAULT_MAX_ENTRIES, FileOperations};
use crate::fs::io_error;

fn kind_of(meta: &fs::Metadata) -> &'static str {
    if meta.is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "directory"
    } else if meta.is_file() {
        "file"
    } else {
        "other"
    }
}

fn time(t: std::io::Result<std::time::SystemTime>) -> Value {
    t.map(|t| json!(DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

impl FileOperations {
    /// `list`: the entries under `path`, sorted by name.
    pub(super) fn list(
        &self,
        path: &str,
        recursive: bool,
        include_hidden: bool,
        max_entries: Option<usize>,
    ) -> Result<Value> {
        let dir = self.sandbox.resolve_existing(path)?;
        if !dir.is_dir() {
            return Err(Error::invalid_input(
                "path",
                format!("`{path}` is not a directory"),
            ));
        }
        let max = max_entries.unwrap_or(DEFAULT_MAX_ENTRIES).max(1);
        let walker = walkdir::WalkDir::new(&dir)
            .min_depth(1)
            .max_depth(if recursive { usize::MAX } else { 1 })
            .follow_links(false)
            .sort_by_file_name();
        let mut entries = Vec::new();
        let mut truncated = false;
        let hidden = |e: &walkdir::DirEntry| e.file_name().to_string_lossy().starts_with('.');
        for entry in walker
            .into_iter()
            .filter_entry(|e| include_hidden || !hidden(e))
        {
            let entry = entry.map_err(|e| Error::External {
                service: "filesystem".to_owned(),
                message: format!("cannot list `{path}`: {e}"),
                retryable: false,
                source: Some(llmspell_core::ErrorSource::new(e)),
            })?;
            if entries.len() == max {
                truncated = true;
                break;
            }
            let meta = entry.metadata().ok();
            entries.push(json!({
                "name": entry.file_name().to_string_lossy(),
                "path": self.sandbox.display_relative(entry.path()),
                "type": meta.as_ref().map_or("other", kind_of),
                "size": meta.as_ref().filter(|m| m.is_file()).map(fs::Metadata::len),
            }));
        }
        Ok(json!({ "entries": entries, "truncated": truncated }))
    }

    /// `exists`: whether something is at `path`, and what.
    pub(super) fn exists(&self, path: &str) -> Result<Value> {
        let target = self.sandbox.resolve_entry(path)?;
        Ok(match fs::symlink_metadata(&target) {
            Ok(meta) => json!({ "exists": true, "type": kind_of(&meta) }),
            Err(_) => json!({ "exists": false }),
        })
    }

    /// `metadata`: type, size, times and permissions of `path`.
    pub(super) fn metadata_of(&self, path: &str) -> Result<Value> {
        let target = self.sandbox.resolve_existing(path)?;
        let meta = fs::metadata(&target).map_err(|e| io_error("inspect", &target, &e))?;
        let mut out = json!({
            "path": self.sandbox.display_relative(&target),
            "type": kind_of(&meta),
            "size": meta.len(),
            "modified": time(meta.modified()),
            "accessed": time(meta.accessed()),
            "created": time(meta.created()),
            "readonly": meta.permissions().readonly(),
        });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            out["permissions"] = json!(format!("{:o}", meta.permissions().mode() & 0o7777));
        }
        Ok(out)
    }
}
