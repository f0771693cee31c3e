//! `archive_handler`: creates, lists and safely extracts zip, tar and tar.gz
//! archives under the sandbox roots.

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

mod creation;
mod extraction;
mod listing;

use listing::{Format, detect};

/// Default cap on the bytes an extraction writes (and a creation reads).
pub const DEFAULT_MAX_ARCHIVE_BYTES: u64 = 100 * 1024 * 1024;
/// Default cap on the number of entries in one archive.
pub const DEFAULT_MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// Creates, lists and extracts zip, tar and tar.gz archives, confined to the
/// [`FsSandbox`] roots.
///
/// - `create { archive, sources, format?, overwrite? }` → `{ archive, entries, bytes, skipped }`:
///   each source (file or directory, recursively) is stored under its own
///   name; symlinks are skipped and listed in `skipped`;
/// - `list { archive, format? }` → `{ entries: [{ name, type, size, link? }], count, total_size }`;
/// - `extract { archive, destination, format?, overwrite? }` → `{ destination, files, directories, symlinks, bytes }`.
///
/// `format` is `zip`, `tar` or `tar.gz`, inferred from the file name
/// (`.zip`, `.tar`, `.tar.gz`/`.tgz`) when absent.
///
/// Extraction checks every entry before writing anything and refuses the
/// whole archive ([`Error::SecurityViolation`]) when an entry name is
/// absolute or contains `..` (zip-slip), when a symlink entry points outside
/// the destination, or when an entry is a hard link or a device. While
/// writing, each file's directory is canonicalised and must still lie inside
/// the destination (so symlinks already present cannot redirect a write),
/// files replace existing paths by rename (never writing through a symlink),
/// and the bytes actually decompressed are counted against the size cap, so
/// an archive that lies about its sizes (a zip bomb) is stopped at the cap.
/// Permissions, owners and timestamps stored in the archive are not applied.
/// Entries written before a failure stay on disk.
#[derive(Debug, Clone)]
pub struct ArchiveHandler {
    metadata: ComponentMetadata,
    sandbox: FsSandbox,
    max_bytes: u64,
    max_entries: usize,
}

impl ArchiveHandler {
    /// Creates the tool confined to `sandbox`, with a 100 MiB / 10,000-entry cap.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "archive_handler",
                "Creates, lists and safely extracts zip, tar and tar.gz archives within the allowed roots",
            ),
            sandbox,
            max_bytes: DEFAULT_MAX_ARCHIVE_BYTES,
            max_entries: DEFAULT_MAX_ARCHIVE_ENTRIES,
        }
    }

    /// Sets the most bytes one extraction may write (and one creation read).
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Sets the most entries one archive may have.
    #[must_use]
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }
}

/// The operations of `archive_handler`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Creates an archive; output `{ archive, entries, bytes, skipped }`
    /// (symlinks and special files are skipped).
    Create {
        /// The archive file; relative paths are under the first root.
        archive: String,
        /// Files and directories to store, directories recursively, each
        /// under its own name.
        sources: Vec<String>,
        /// `zip`, `tar` or `tar.gz` (default: from the archive's file name).
        format: Option<Format>,
        /// Replace an existing archive (default false).
        #[serde(default)]
        overwrite: bool,
    },
    /// Lists an archive's entries; output
    /// `{ entries: [{ name, type, size, link }], count, total_size }`.
    List {
        /// The archive file; relative paths are under the first root.
        archive: String,
        /// `zip`, `tar` or `tar.gz` (default: from the archive's file name).
        format: Option<Format>,
    },
    /// Extracts an archive after checking every entry; output
    /// `{ destination, files, directories, symlinks, bytes }`.
    Extract {
        /// The archive file; relative paths are under the first root.
        archive: String,
        /// The directory to extract into, created if missing.
        destination: String,
        /// `zip`, `tar` or `tar.gz` (default: from the archive's file name).
        format: Option<Format>,
        /// Replace existing files (default false).
        #[serde(default)]
        overwrite: bool,
    },
}

/// How `archive_handler` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

impl ArchiveHandler {
    fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Create {
                archive,
                sources,
                format,
                overwrite,
            } => {
                let format = detect(&archive, format)?;
                let path = self.sandbox.resolve(&archive)?;
                self.create(&path, format, &sources, overwrite)
            }
            Operation::List { archive, format } => {
                let format = detect(&archive, format)?;
                let path = self.sandbox.resolve_existing(&archive)?;
                let entries = self.list_entries(&path, format)?;
                let total: u64 = entries.iter().map(|e| e.size).sum();
                let listed: Vec<Value> = entries
                    .iter()
                    .map(|e| {
                        let mut v =
                            json!({ "name": e.name, "type": e.kind.as_str(), "size": e.size });
                        if let Some(link) = &e.link {
                            v["link"] = json!(link);
                        }
                        v
                    })
                    .collect();
                Ok(json!({ "entries": listed, "count": entries.len(), "total_size": total }))
            }
            Operation::Extract {
                archive,
                destination,
                format,
                overwrite,
            } => {
                let format = detect(&archive, format)?;
                let path = self.sandbox.resolve_existing(&archive)?;
                let dest = self.sandbox.resolve(&destination)?;
                self.extract(&path, format, &dest, overwrite)
            }
        }
    }
}

#[async_trait]
impl Tool for ArchiveHandler {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Filesystem
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "extract", "archive": "backup.zip", "destination": "restored" }),
            json!({ "operation": "create", "archive": "notes.tar.gz", "sources": ["notes"] }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "archive": { "type": "string" },
                "entries": { "description": "create: number stored; list: the entries" },
                "bytes": { "type": "integer", "description": "create: archive size; extract: bytes written" },
                "skipped": { "type": "array", "items": { "type": "string" }, "description": "create: symlinks and special files left out" },
                "count": { "type": "integer" },
                "total_size": { "type": "integer" },
                "destination": { "type": "string" },
                "files": { "type": "integer" },
                "directories": { "type": "integer" },
                "symlinks": { "type": "integer" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(op))
            .await
            .map_err(|e| {
                Error::execution("tool:archive_handler", format!("archive task failed: {e}"))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn exec(t: &ArchiveHandler, params: Value) -> Result<Value> {
        t.run(PARAMS.read(params)?)
    }

    fn fixture() -> (tempfile::TempDir, ArchiveHandler) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("docs/sub")).unwrap();
        fs::write(dir.path().join("docs/a.txt"), "alpha").unwrap();
        fs::write(dir.path().join("docs/sub/b.txt"), "beta beta").unwrap();
        let t = ArchiveHandler::new(FsSandbox::new([dir.path()]));
        (dir, t)
    }

    #[test]
    fn round_trips_every_format() {
        for name in ["out.zip", "out.tar", "out.tar.gz"] {
            let (dir, t) = fixture();
            let created = exec(
                &t,
                json!({"operation": "create", "archive": name, "sources": ["docs"]}),
            )
            .unwrap();
            assert_eq!(created["entries"], 4, "{name}");
            let listed = exec(&t, json!({"operation": "list", "archive": name})).unwrap();
            let mut names: Vec<String> = listed["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().trim_end_matches('/').to_owned())
                .collect();
            names.sort();
            assert_eq!(
                names,
                ["docs", "docs/a.txt", "docs/sub", "docs/sub/b.txt"],
                "{name}"
            );
            assert_eq!(listed["total_size"], 14, "{name}");
            let out = exec(
                &t,
                json!({"operation": "extract", "archive": name, "destination": "restored"}),
            )
            .unwrap();
            assert_eq!(out["files"], 2, "{name}");
            assert_eq!(out["bytes"], 14, "{name}");
            assert_eq!(
                fs::read_to_string(dir.path().join("restored/docs/sub/b.txt")).unwrap(),
                "beta beta"
            );
            let err = exec(
                &t,
                json!({"operation": "extract", "archive": name, "destination": "restored"}),
            )
            .unwrap_err();
            assert!(err.to_string().contains("overwrite"), "{name}: {err}");
            exec(&t, json!({"operation": "extract", "archive": name, "destination": "restored", "overwrite": true})).unwrap();
        }
    }

    #[test]
    fn size_cap_stops_extraction() {
        let (_dir, t) = fixture();
        exec(
            &t,
            json!({"operation": "create", "archive": "a.zip", "sources": ["docs"]}),
        )
        .unwrap();
        let small = t.clone().with_max_bytes(10);
        let err = exec(
            &small,
            json!({"operation": "extract", "archive": "a.zip", "destination": "x"}),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::ResourceLimitExceeded { limit: 10, .. }),
            "{err}"
        );
        let few = t.with_max_entries(2);
        let err = exec(&few, json!({"operation": "list", "archive": "a.zip"})).unwrap_err();
        assert!(matches!(err, Error::ResourceLimitExceeded { .. }), "{err}");
    }

    #[test]
    fn unknown_format_is_an_input_error() {
        let (_dir, t) = fixture();
        let err = exec(&t, json!({"operation": "list", "archive": "thing.rar"})).unwrap_err();
        assert!(err.to_string().contains("`format`"), "{err}");
    }
}
