//! `file_operations`: reading, writing and managing files under the sandbox
//! roots.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fs::atomic_write::write_atomically;
use crate::fs::io_error;

mod inspection;
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Default largest file read or written, in bytes.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Default most entries one `list` returns.
const DEFAULT_MAX_ENTRIES: usize = 1000;

/// Reads, writes and manages files, confined to the [`FsSandbox`] roots.
///
/// Operations (all paths are resolved by the sandbox; relative paths are
/// relative to the first root):
///
/// - `read { path, encoding?, offset?, length? }` → `{ content, size, encoding, bytes_read }`;
/// - `write { path, content, encoding?, create_dirs?, overwrite? }` → `{ path, bytes_written }`;
/// - `append { path, content, encoding?, create_dirs? }` → `{ path, bytes_written, size }`;
/// - `copy { source, destination, overwrite? }` → `{ path, bytes_written }`;
/// - `move { source, destination, overwrite? }` → `{ path }`;
/// - `delete { path, recursive? }` → `{ deleted }`;
/// - `list { path?, recursive?, include_hidden?, max_entries? }` → `{ entries, truncated }`;
/// - `mkdir { path, parents? }` → `{ created }`;
/// - `exists { path }` → `{ exists, type? }`;
/// - `metadata { path }` → `{ type, size, modified, accessed?, created?, readonly, permissions? }`.
///
/// `encoding` is `utf8` (default) or `base64` (for binary content). Writes
/// are atomic: the content goes to a temporary file in the same directory
/// which is then renamed over the target, so readers never see a partial
/// file. Reads and writes larger than the size cap are refused with
/// [`Error::ResourceLimitExceeded`]. A root itself cannot be deleted or moved.
#[derive(Debug, Clone)]
pub struct FileOperations {
    metadata: ComponentMetadata,
    sandbox: FsSandbox,
    max_file_bytes: u64,
}

impl FileOperations {
    /// Creates the tool confined to `sandbox`, with a 10 MiB size cap.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "file_operations",
                "Reads, writes, copies, moves, lists and deletes files within the allowed roots",
            ),
            sandbox,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Sets the largest file that may be read or written, in bytes.
    #[must_use]
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }
}

/// How file content is exchanged.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    #[default]
    Utf8,
    Base64,
}

/// The operations of `file_operations`. Paths in outputs are relative to
/// their root.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Reads a file; output `{ content, size, bytes_read, encoding }`.
    Read {
        /// The file; relative paths are under the first root.
        path: String,
        /// How to return the content: `utf8` text (the default; content that
        /// is not UTF-8 is an error) or `base64` bytes.
        #[serde(default)]
        encoding: Encoding,
        /// The first byte to read (default 0).
        #[serde(default)]
        offset: u64,
        /// The most bytes to read (default: to the end of the file).
        length: Option<u64>,
    },
    /// Writes a file atomically; output `{ path, bytes_written }`.
    Write {
        /// The file; relative paths are under the first root.
        path: String,
        /// The data to write.
        content: String,
        /// How `content` is written: `utf8` text (the default) or `base64`
        /// bytes.
        #[serde(default)]
        encoding: Encoding,
        /// Create missing parent directories (default false).
        #[serde(default)]
        create_dirs: bool,
        /// Replace an existing file (default true).
        #[serde(default = "yes")]
        overwrite: bool,
    },
    /// Appends to a file, creating it if missing; output
    /// `{ path, bytes_written, size }`.
    Append {
        /// The file; relative paths are under the first root.
        path: String,
        /// The data to append.
        content: String,
        /// How `content` is written: `utf8` text (the default) or `base64`
        /// bytes.
        #[serde(default)]
        encoding: Encoding,
        /// Create missing parent directories (default false).
        #[serde(default)]
        create_dirs: bool,
    },
    /// Copies a file; output `{ path, bytes_written }`.
    Copy {
        /// The file to copy.
        source: String,
        /// Where to put the copy.
        destination: String,
        /// Replace an existing destination (default false).
        #[serde(default)]
        overwrite: bool,
    },
    /// Moves or renames a file or directory; output `{ path }`.
    Move {
        /// What to move.
        source: String,
        /// The new path.
        destination: String,
        /// Replace an existing destination (default false).
        #[serde(default)]
        overwrite: bool,
    },
    /// Deletes a file or directory; output `{ deleted }`.
    Delete {
        /// The file or directory; relative paths are under the first root.
        path: String,
        /// Delete a non-empty directory with everything in it (default
        /// false).
        #[serde(default)]
        recursive: bool,
    },
    /// Lists a directory; output `{ entries: [{ name, path, type, size }],
    /// truncated }`.
    List {
        /// The directory (default: the first root).
        #[serde(default = "dot")]
        path: String,
        /// Descend into subdirectories (default false).
        #[serde(default)]
        recursive: bool,
        /// Include names starting with `.` (default false).
        #[serde(default)]
        include_hidden: bool,
        /// The most entries to return (default 1000).
        #[schemars(range(min = 1))]
        max_entries: Option<usize>,
    },
    /// Creates a directory; output `{ created, path }`.
    Mkdir {
        /// The directory to create; relative paths are under the first root.
        path: String,
        /// Create missing parents too (default true).
        #[serde(default = "yes")]
        parents: bool,
    },
    /// Whether a path exists; output `{ exists, type }`.
    Exists {
        /// The file or directory; relative paths are under the first root.
        path: String,
    },
    /// A file's type, size, times and permissions; output
    /// `{ path, type, size, modified, accessed, created, readonly,
    /// permissions }`.
    Metadata {
        /// The file or directory; relative paths are under the first root.
        path: String,
    },
}

/// How `file_operations` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn yes() -> bool {
    true
}

fn dot() -> String {
    ".".to_owned()
}

fn decode(content: String, encoding: Encoding) -> Result<Vec<u8>> {
    match encoding {
        Encoding::Utf8 => Ok(content.into_bytes()),
        Encoding::Base64 => STANDARD
            .decode(content.trim())
            .map_err(|e| Error::invalid_input("content", format!("expected base64: {e}"))),
    }
}

impl FileOperations {
    fn cap(&self, requested: u64) -> Result<()> {
        if requested > self.max_file_bytes {
            Err(Error::ResourceLimitExceeded {
                resource: "file_bytes".to_owned(),
                limit: self.max_file_bytes,
                requested,
            })
        } else {
            Ok(())
        }
    }

    fn is_root(&self, canonical: &Path) -> bool {
        self.sandbox
            .roots()
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| r == canonical)
    }

    fn ensure_parent(&self, target: &Path, create_dirs: bool) -> Result<()> {
        match target.parent() {
            Some(parent) if !parent.exists() => {
                if create_dirs {
                    fs::create_dir_all(parent).map_err(|e| io_error("create", parent, &e))
                } else {
                    Err(Error::invalid_input(
                        "path",
                        format!(
                            "directory `{}` does not exist; pass create_dirs: true to create it",
                            self.sandbox.display_relative(parent)
                        ),
                    ))
                }
            }
            _ => Ok(()),
        }
    }

    fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Read {
                path,
                encoding,
                offset,
                length,
            } => {
                let file_path = self.sandbox.resolve_existing(&path)?;
                let meta =
                    fs::metadata(&file_path).map_err(|e| io_error("read", &file_path, &e))?;
                if !meta.is_file() {
                    return Err(Error::invalid_input(
                        "path",
                        format!("`{path}` is not a file"),
                    ));
                }
                let size = meta.len();
                let available = size.saturating_sub(offset);
                let wanted = length.map_or(available, |l| l.min(available));
                self.cap(wanted)?;
                let mut file =
                    fs::File::open(&file_path).map_err(|e| io_error("open", &file_path, &e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| io_error("seek in", &file_path, &e))?;
                let mut bytes = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
                file.take(wanted)
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_error("read", &file_path, &e))?;
                let bytes_read = bytes.len();
                let content = match encoding {
                    Encoding::Base64 => STANDARD.encode(&bytes),
                    Encoding::Utf8 => String::from_utf8(bytes).map_err(|_| {
                        Error::invalid_input(
                            "encoding",
                            format!(
                                "`{path}` is not UTF-8 text here; read it with encoding \"base64\""
                            ),
                        )
                    })?,
                };
                Ok(json!({
                    "content": content,
                    "size": size,
                    "bytes_read": bytes_read,
                    "encoding": if encoding == Encoding::Utf8 { "utf8" } else { "base64" },
                }))
            }
            Operation::Write {
                path,
                content,
                encoding,
                create_dirs,
                overwrite,
            } => {
                let bytes = decode(content, encoding)?;
                self.cap(bytes.len() as u64)?;
                let target = self.sandbox.resolve(&path)?;
                if target.is_dir() {
                    return Err(Error::invalid_input(
                        "path",
                        format!("`{path}` is a directory"),
                    ));
                }
                self.ensure_parent(&target, create_dirs)?;
                // Creating directories cannot have left the roots (they were
                // resolved under them), but re-check before writing.
                let target = self.sandbox.resolve(&path)?;
                write_atomically(&target, &bytes, overwrite)?;
                Ok(
                    json!({ "path": self.sandbox.display_relative(&target), "bytes_written": bytes.len() }),
                )
            }
            Operation::Append {
                path,
                content,
                encoding,
                create_dirs,
            } => {
                let bytes = decode(content, encoding)?;
                let target = self.sandbox.resolve(&path)?;
                let existing = fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
                self.cap(existing + bytes.len() as u64)?;
                self.ensure_parent(&target, create_dirs)?;
                let target = self.sandbox.resolve(&path)?;
                let mut file = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&target)
                    .map_err(|e| io_error("open", &target, &e))?;
                file.write_all(&bytes)
                    .and_then(|()| file.sync_data())
                    .map_err(|e| io_error("append to", &target, &e))?;
                let size = file
                    .metadata()
                    .map(|m| m.len())
                    .unwrap_or(existing + bytes.len() as u64);
                Ok(
                    json!({ "path": self.sandbox.display_relative(&target), "bytes_written": bytes.len(), "size": size }),
                )
            }
            Operation::Copy {
                source,
                destination,
                overwrite,
            } => {
                let from = self.sandbox.resolve_existing(&source)?;
                if !from.is_file() {
                    return Err(Error::invalid_input(
                        "source",
                        format!("`{source}` is not a file (directories are not copied)"),
                    ));
                }
                let size = fs::metadata(&from)
                    .map_err(|e| io_error("read", &from, &e))?
                    .len();
                self.cap(size)?;
                let to = self.sandbox.resolve(&destination)?;
                let bytes = fs::read(&from).map_err(|e| io_error("read", &from, &e))?;
                write_atomically(&to, &bytes, overwrite)
                    .map_err(|e| rename_field(e, "destination"))?;
                Ok(
                    json!({ "path": self.sandbox.display_relative(&to), "bytes_written": bytes.len() }),
                )
            }
            Operation::Move {
                source,
                destination,
                overwrite,
            } => {
                // The entries themselves: moving a symlink moves the link.
                let from = self.sandbox.resolve_entry(&source)?;
                if from.symlink_metadata().is_err() {
                    return Err(Error::not_found("path", source));
                }
                if self.is_root(&from) {
                    return Err(Error::SecurityViolation {
                        message: format!("`{source}` is an allowed root and cannot be moved"),
                    });
                }
                let to = self.sandbox.resolve_entry(&destination)?;
                if to.symlink_metadata().is_ok() && !overwrite {
                    return Err(Error::invalid_input(
                        "destination",
                        format!(
                            "`{destination}` already exists; pass overwrite: true to replace it"
                        ),
                    ));
                }
                match fs::rename(&from, &to) {
                    Ok(()) => {}
                    // Roots on different file systems: copy the file, then remove it.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::CrossesDevices
                            && from.symlink_metadata().is_ok_and(|m| m.is_file()) =>
                    {
                        let bytes = fs::read(&from).map_err(|e| io_error("read", &from, &e))?;
                        write_atomically(&to, &bytes, overwrite)?;
                        fs::remove_file(&from).map_err(|e| io_error("remove", &from, &e))?;
                    }
                    Err(e) => return Err(io_error("move", &from, &e)),
                }
                Ok(json!({ "path": self.sandbox.display_relative(&to) }))
            }
            Operation::Delete { path, recursive } => {
                // The entry itself: deleting a symlink removes the link.
                let target = self.sandbox.resolve_entry(&path)?;
                if self.is_root(&target) {
                    return Err(Error::SecurityViolation {
                        message: format!("`{path}` is an allowed root and cannot be deleted"),
                    });
                }
                let meta =
                    fs::symlink_metadata(&target).map_err(|e| io_error("inspect", &target, &e))?;
                if meta.is_dir() {
                    if recursive {
                        fs::remove_dir_all(&target)
                    } else {
                        fs::remove_dir(&target)
                    }
                    .map_err(|e| {
                        if e.kind() == std::io::ErrorKind::DirectoryNotEmpty {
                            Error::invalid_input("recursive", format!("directory `{path}` is not empty; pass recursive: true to delete it and its contents"))
                        } else {
                            io_error("delete", &target, &e)
                        }
                    })?;
                } else {
                    fs::remove_file(&target).map_err(|e| io_error("delete", &target, &e))?;
                }
                Ok(json!({ "deleted": true }))
            }
            Operation::List {
                path,
                recursive,
                include_hidden,
                max_entries,
            } => self.list(&path, recursive, include_hidden, max_entries),
            Operation::Mkdir { path, parents } => {
                let target = self.sandbox.resolve(&path)?;
                if target.is_dir() {
                    return Ok(
                        json!({ "created": false, "path": self.sandbox.display_relative(&target) }),
                    );
                }
                if parents {
                    fs::create_dir_all(&target)
                } else {
                    fs::create_dir(&target)
                }
                .map_err(|e| io_error("create", &target, &e))?;
                Ok(json!({ "created": true, "path": self.sandbox.display_relative(&target) }))
            }
            Operation::Exists { path } => self.exists(&path),
            Operation::Metadata { path } => self.metadata_of(&path),
        }
    }
}

fn rename_field(e: Error, field: &str) -> Error {
    match e {
        Error::InvalidInput { message, .. } => Error::invalid_input(field, message),
        other => other,
    }
}

#[async_trait]
impl Tool for FileOperations {
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
            json!({ "operation": "read", "path": "notes.txt" }),
            json!({
                "operation": "write", "path": "notes/todo.txt",
                "content": "buy milk", "create_dirs": true
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "content": { "type": "string" },
                "size": { "type": "integer" },
                "bytes_read": { "type": "integer" },
                "bytes_written": { "type": "integer" },
                "path": { "type": "string", "description": "The path relative to its root" },
                "deleted": { "type": "boolean" },
                "created": { "type": "boolean" },
                "exists": { "type": "boolean" },
                "type": { "type": "string", "enum": ["file", "directory", "symlink", "other"] },
                "entries": { "type": "array", "items": { "type": "object" } },
                "truncated": { "type": "boolean" },
                "modified": { "type": ["string", "null"] },
                "permissions": { "type": "string", "description": "Unix mode in octal" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(op))
            .await
            .map_err(|e| {
                Error::execution("tool:file_operations", format!("file task failed: {e}"))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(dir: &Path) -> FileOperations {
        FileOperations::new(FsSandbox::new([dir]))
    }

    fn exec(t: &FileOperations, params: Value) -> Result<Value> {
        t.run(PARAMS.read(params)?)
    }

    #[test]
    fn write_then_read_round_trips_text_and_binary() {
        let dir = tempfile::tempdir().unwrap();
        let t = tool(dir.path());
        let out = exec(&t, json!({"operation": "write", "path": "notes/a.txt", "content": "héllo", "create_dirs": true})).unwrap();
        assert_eq!(out, json!({"path": "notes/a.txt", "bytes_written": 6}));
        let out = exec(&t, json!({"operation": "read", "path": "notes/a.txt"})).unwrap();
        assert_eq!(out["content"], "héllo");
        assert_eq!(out["size"], 6);
        exec(
            &t,
            json!({"operation": "write", "path": "b.bin", "content": "AP8=", "encoding": "base64"}),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("b.bin")).unwrap(),
            vec![0, 255]
        );
        let err = exec(&t, json!({"operation": "read", "path": "b.bin"})).unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
        let out = exec(
            &t,
            json!({"operation": "read", "path": "b.bin", "encoding": "base64"}),
        )
        .unwrap();
        assert_eq!(out["content"], "AP8=");
        let out = exec(
            &t,
            json!({"operation": "read", "path": "notes/a.txt", "offset": 3, "length": 2}),
        )
        .unwrap();
        assert_eq!(out["content"], "ll");
    }

    #[test]
    fn write_needs_existing_parent_or_create_dirs_and_respects_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let t = tool(dir.path());
        let err = exec(
            &t,
            json!({"operation": "write", "path": "x/y.txt", "content": "1"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("create_dirs"), "{err}");
        exec(
            &t,
            json!({"operation": "write", "path": "y.txt", "content": "1"}),
        )
        .unwrap();
        let err = exec(
            &t,
            json!({"operation": "write", "path": "y.txt", "content": "2", "overwrite": false}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("y.txt")).unwrap(),
            "1"
        );
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("y.txt")]);
    }

    #[test]
    fn append_copy_move_delete() {
        let dir = tempfile::tempdir().unwrap();
        let t = tool(dir.path());
        exec(
            &t,
            json!({"operation": "append", "path": "log.txt", "content": "a\n"}),
        )
        .unwrap();
        let out = exec(
            &t,
            json!({"operation": "append", "path": "log.txt", "content": "b\n"}),
        )
        .unwrap();
        assert_eq!(out["size"], 4);
        exec(
            &t,
            json!({"operation": "copy", "source": "log.txt", "destination": "copy.txt"}),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("copy.txt")).unwrap(),
            "a\nb\n"
        );
        let err = exec(
            &t,
            json!({"operation": "copy", "source": "log.txt", "destination": "copy.txt"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`destination`"), "{err}");
        exec(
            &t,
            json!({"operation": "move", "source": "copy.txt", "destination": "moved.txt"}),
        )
        .unwrap();
        assert!(!dir.path().join("copy.txt").exists());
        assert!(dir.path().join("moved.txt").exists());
        exec(&t, json!({"operation": "delete", "path": "moved.txt"})).unwrap();
        assert!(!dir.path().join("moved.txt").exists());
    }

    #[test]
    fn directories_list_mkdir_and_guarded_delete() {
        let dir = tempfile::tempdir().unwrap();
        let t = tool(dir.path());
        assert_eq!(
            exec(&t, json!({"operation": "mkdir", "path": "a/b"})).unwrap()["created"],
            true
        );
        exec(
            &t,
            json!({"operation": "write", "path": "a/b/f.txt", "content": "xyz"}),
        )
        .unwrap();
        exec(
            &t,
            json!({"operation": "write", "path": "a/.hidden", "content": ""}),
        )
        .unwrap();
        let out = exec(
            &t,
            json!({"operation": "list", "path": "a", "recursive": true}),
        )
        .unwrap();
        assert_eq!(
            out["entries"],
            json!([
                {"name": "b", "path": "a/b", "type": "directory", "size": null},
                {"name": "f.txt", "path": "a/b/f.txt", "type": "file", "size": 3}
            ])
        );
        let out = exec(
            &t,
            json!({"operation": "list", "path": "a", "include_hidden": true, "max_entries": 1}),
        )
        .unwrap();
        assert_eq!(out["entries"].as_array().unwrap().len(), 1);
        assert_eq!(out["truncated"], true);
        let err = exec(&t, json!({"operation": "delete", "path": "a"})).unwrap_err();
        assert!(err.to_string().contains("recursive"), "{err}");
        exec(
            &t,
            json!({"operation": "delete", "path": "a", "recursive": true}),
        )
        .unwrap();
        assert_eq!(
            exec(&t, json!({"operation": "exists", "path": "a"})).unwrap(),
            json!({"exists": false})
        );
        let err = exec(
            &t,
            json!({"operation": "delete", "path": dir.path().to_str().unwrap(), "recursive": true}),
        )
        .unwrap_err();
        assert!(matches!(err, Error::SecurityViolation { .. }), "{err}");
    }

    #[test]
    fn metadata_and_size_caps() {
        let dir = tempfile::tempdir().unwrap();
        let t = tool(dir.path()).with_max_file_bytes(4);
        exec(
            &t,
            json!({"operation": "write", "path": "s.txt", "content": "1234"}),
        )
        .unwrap();
        let meta = exec(&t, json!({"operation": "metadata", "path": "s.txt"})).unwrap();
        assert_eq!(meta["type"], "file");
        assert_eq!(meta["size"], 4);
        assert!(meta["modified"].as_str().unwrap().ends_with('Z'));
        let err = exec(
            &t,
            json!({"operation": "write", "path": "big.txt", "content": "12345"}),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::ResourceLimitExceeded {
                    limit: 4,
                    requested: 5,
                    ..
                }
            ),
            "{err}"
        );
        let err = exec(
            &t,
            json!({"operation": "append", "path": "s.txt", "content": "5"}),
        )
        .unwrap_err();
        assert!(matches!(err, Error::ResourceLimitExceeded { .. }), "{err}");
    }
}
