//! Writing zip, tar and tar.gz archives from files under the roots.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use llmspell_core::{Error, Result};
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use super::ArchiveHandler;
use super::listing::Format;
use crate::fs::io_error;

/// A file or directory to store, and its name in the archive.
struct SourceItem {
    path: PathBuf,
    name: String,
    is_dir: bool,
}

/// Writes `items` as a tar stream into `sink` and returns the sink.
fn tar_items<W: Write>(sink: W, items: &[SourceItem]) -> io::Result<W> {
    let mut builder = tar::Builder::new(sink);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    for item in items {
        if item.is_dir {
            builder.append_dir(&item.name, &item.path)?;
        } else {
            builder.append_path_with_name(&item.path, &item.name)?;
        }
    }
    builder.into_inner()
}

impl ArchiveHandler {
    /// Every file and directory under `sources`, with its name in the archive.
    fn collect(&self, sources: &[String]) -> Result<(Vec<SourceItem>, Vec<String>)> {
        let mut items = Vec::new();
        let mut skipped = Vec::new();
        let mut total: u64 = 0;
        for (i, source) in sources.iter().enumerate() {
            let path = self.sandbox.resolve_existing(source)?;
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    Error::invalid_input(
                        format!("sources[{i}]"),
                        "expected a file or directory with a name",
                    )
                })?;
            for entry in walkdir::WalkDir::new(&path)
                .follow_links(false)
                .sort_by_file_name()
            {
                let entry = entry.map_err(|e| {
                    let message = format!("cannot read `{source}`: {e}");
                    Error::external("filesystem", message, false).caused_by(e)
                })?;
                let rel = entry.path().strip_prefix(&path).unwrap_or(Path::new(""));
                let mut name = base.clone();
                for part in rel.components() {
                    name.push('/');
                    name.push_str(&part.as_os_str().to_string_lossy());
                }
                let ft = entry.file_type();
                if ft.is_symlink() || !(ft.is_file() || ft.is_dir()) {
                    skipped.push(name);
                    continue;
                }
                if ft.is_file() {
                    total = total.saturating_add(entry.metadata().map(|m| m.len()).unwrap_or(0));
                    if total > self.max_bytes {
                        return Err(Error::ResourceLimitExceeded {
                            resource: "archive_bytes".to_owned(),
                            limit: self.max_bytes,
                            requested: total,
                        });
                    }
                }
                items.push(SourceItem {
                    path: entry.path().to_path_buf(),
                    name,
                    is_dir: ft.is_dir(),
                });
                if items.len() > self.max_entries {
                    return Err(self.too_many(items.len()));
                }
            }
        }
        Ok((items, skipped))
    }

    pub(super) fn create(
        &self,
        archive: &Path,
        format: Format,
        sources: &[String],
        overwrite: bool,
    ) -> Result<Value> {
        if sources.is_empty() {
            return Err(Error::invalid_input(
                "sources",
                "expected at least one file or directory",
            ));
        }
        let (items, skipped) = self.collect(sources)?;
        if !overwrite && archive.exists() {
            return Err(Error::invalid_input(
                "archive",
                format!(
                    "`{}` already exists; pass overwrite: true to replace it",
                    self.sandbox.display_relative(archive)
                ),
            ));
        }
        let dir = archive
            .parent()
            .ok_or_else(|| Error::invalid_input("archive", "expected a file path"))?;
        let tmp = tempfile::Builder::new()
            .prefix(".llmspell-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| io_error("create a temporary file in", dir, &e))?;
        let write_err = |e: &dyn std::fmt::Display| Error::External {
            service: "filesystem".to_owned(),
            message: format!("cannot write `{}`: {e}", archive.display()),
            retryable: false,
            source: None,
        };
        match format {
            Format::Zip => {
                let mut zip = zip::ZipWriter::new(tmp.as_file());
                let options = SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true)
                    .unix_permissions(0o644);
                for item in &items {
                    if item.is_dir {
                        zip.add_directory(item.name.as_str(), options.unix_permissions(0o755))
                            .map_err(|e| write_err(&e))?;
                    } else {
                        zip.start_file(item.name.as_str(), options)
                            .map_err(|e| write_err(&e))?;
                        let mut f = fs::File::open(&item.path)
                            .map_err(|e| io_error("read", &item.path, &e))?;
                        io::copy(&mut f, &mut zip).map_err(|e| write_err(&e))?;
                    }
                }
                zip.finish().map_err(|e| write_err(&e))?;
            }
            Format::Tar => {
                let mut file = tar_items(tmp.as_file(), &items).map_err(|e| write_err(&e))?;
                file.flush().map_err(|e| write_err(&e))?;
            }
            Format::TarGz => {
                let encoder = GzEncoder::new(tmp.as_file(), Compression::default());
                let encoder = tar_items(encoder, &items).map_err(|e| write_err(&e))?;
                encoder.finish().map_err(|e| write_err(&e))?;
            }
        }
        tmp.as_file().sync_all().map_err(|e| write_err(&e))?;
        let persisted = tmp.persist(archive).map_err(|e| write_err(&e.error))?;
        let bytes = persisted.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(json!({
            "archive": self.sandbox.display_relative(archive),
            "entries": items.len(),
            "bytes": bytes,
            "skipped": skipped,
        }))
    }
}
