//! `archive_handler`: creates, lists and safely extracts zip, tar and tar.gz
//! archives under the sandbox roots.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use serde::Deserialize;
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::fs::io_error;
use crate::params;
use crate::sandbox::FsSandbox;

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

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    #[serde(rename = "zip")]
    Zip,
    #[serde(rename = "tar")]
    Tar,
    #[serde(rename = "tar.gz", alias = "tgz")]
    TarGz,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Create {
        archive: String,
        sources: Vec<String>,
        format: Option<Format>,
        #[serde(default)]
        overwrite: bool,
    },
    List {
        archive: String,
        format: Option<Format>,
    },
    Extract {
        archive: String,
        destination: String,
        format: Option<Format>,
        #[serde(default)]
        overwrite: bool,
    },
}

fn detect(path: &str, explicit: Option<Format>) -> Result<Format> {
    if let Some(f) = explicit {
        return Ok(f);
    }
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        Ok(Format::Zip)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Ok(Format::TarGz)
    } else if lower.ends_with(".tar") {
        Ok(Format::Tar)
    } else {
        Err(Error::invalid_input(
            "format",
            format!(
                "cannot tell the format of `{path}` from its name; pass format: zip, tar or tar.gz"
            ),
        ))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Other,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::HardLink => "hardlink",
            Kind::Other => "other",
        }
    }
}

/// One archive entry as read from its header.
struct EntryInfo {
    name: String,
    kind: Kind,
    size: u64,
    link: Option<String>,
}

fn archive_error(archive: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid_input(
        "archive",
        format!("cannot read `{}` as an archive: {e}", archive.display()),
    )
}

fn open_tar(path: &Path, gz: bool) -> Result<tar::Archive<Box<dyn Read>>> {
    let file = fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
    let reader: Box<dyn Read> = if gz {
        Box::new(GzDecoder::new(io::BufReader::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    Ok(tar::Archive::new(reader))
}

fn tar_kind(t: tar::EntryType) -> Kind {
    if t.is_file() || t == tar::EntryType::Continuous || t == tar::EntryType::GNUSparse {
        Kind::File
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_symlink() {
        Kind::Symlink
    } else if t.is_hard_link() {
        Kind::HardLink
    } else {
        Kind::Other
    }
}

fn is_metadata_entry(t: tar::EntryType) -> bool {
    t.is_pax_global_extensions()
        || t.is_pax_local_extensions()
        || t.is_gnu_longname()
        || t.is_gnu_longlink()
}

impl ArchiveHandler {
    fn too_many(&self, n: usize) -> Error {
        Error::ResourceLimitExceeded {
            resource: "archive_entries".to_owned(),
            limit: self.max_entries as u64,
            requested: n as u64,
        }
    }

    fn list_entries(&self, path: &Path, format: Format) -> Result<Vec<EntryInfo>> {
        let mut out = Vec::new();
        match format {
            Format::Zip => {
                let file = fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
                let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
                    .map_err(|e| archive_error(path, e))?;
                if zip.len() > self.max_entries {
                    return Err(self.too_many(zip.len()));
                }
                for i in 0..zip.len() {
                    let mut entry = zip.by_index(i).map_err(|e| archive_error(path, e))?;
                    let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
                    let (kind, link) = if entry.is_symlink() {
                        let mut target = String::new();
                        entry
                            .by_ref()
                            .take(4096)
                            .read_to_string(&mut target)
                            .map_err(|e| archive_error(path, e))?;
                        (Kind::Symlink, Some(target))
                    } else if entry.is_dir() {
                        (Kind::Dir, None)
                    } else {
                        (Kind::File, None)
                    };
                    out.push(EntryInfo {
                        name,
                        kind,
                        size: entry.size(),
                        link,
                    });
                }
            }
            Format::Tar | Format::TarGz => {
                let mut archive = open_tar(path, format == Format::TarGz)?;
                for entry in archive.entries().map_err(|e| archive_error(path, e))? {
                    let entry = entry.map_err(|e| archive_error(path, e))?;
                    let kind = entry.header().entry_type();
                    if is_metadata_entry(kind) {
                        continue;
                    }
                    if out.len() == self.max_entries {
                        return Err(self.too_many(out.len() + 1));
                    }
                    out.push(EntryInfo {
                        name: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                        kind: tar_kind(kind),
                        size: entry.size(),
                        link: entry
                            .link_name_bytes()
                            .map(|l| String::from_utf8_lossy(&l).into_owned()),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The entry name as a relative path of normal components, or why not.
fn safe_relative(name: &str) -> std::result::Result<PathBuf, &'static str> {
    let normalized = name.replace('\\', "/");
    if normalized.starts_with('/') {
        return Err("it is an absolute path");
    }
    if normalized.len() >= 2 && normalized.as_bytes()[1] == b':' {
        return Err("it starts with a drive letter");
    }
    let mut rel = PathBuf::new();
    for comp in Path::new(&normalized).components() {
        match comp {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("it contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("it is an absolute path"),
        }
    }
    if rel.as_os_str().is_empty() {
        return Err("it is empty");
    }
    Ok(rel)
}

/// Whether a symlink at `link` (relative to the destination) pointing to
/// `target` stays inside the destination, judged lexically.
fn link_stays_inside(link: &Path, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() || target.to_string_lossy().contains('\\') {
        return false;
    }
    let mut depth: usize = link.parent().map_or(0, |p| p.components().count());
    for comp in target.components() {
        match comp {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Writes validated entries under one destination directory.
struct Extractor<'a> {
    dest: &'a Path,
    overwrite: bool,
    budget: u64,
    limit: u64,
    files: usize,
    dirs: usize,
    links: usize,
    written: u64,
}

impl Extractor<'_> {
    fn escape(&self, rel: &Path) -> Error {
        Error::SecurityViolation {
            message: format!(
                "archive entry `{}` would be written outside the destination `{}`",
                rel.display(),
                self.dest.display()
            ),
        }
    }

    /// Creates the parent of `rel` and returns the checked target path.
    fn target(&self, rel: &Path) -> Result<PathBuf> {
        let joined = self.dest.join(rel);
        let parent = joined.parent().unwrap_or(self.dest);
        fs::create_dir_all(parent).map_err(|e| io_error("create", parent, &e))?;
        let canonical = parent
            .canonicalize()
            .map_err(|e| io_error("resolve", parent, &e))?;
        if !canonical.starts_with(self.dest) {
            return Err(self.escape(rel));
        }
        let name = joined.file_name().ok_or_else(|| self.escape(rel))?;
        let target = canonical.join(name);
        if !self.overwrite && target.symlink_metadata().is_ok() {
            return Err(Error::invalid_input(
                "overwrite",
                format!(
                    "`{}` already exists in the destination; pass overwrite: true to replace it",
                    rel.display()
                ),
            ));
        }
        Ok(target)
    }

    fn dir(&mut self, rel: &Path) -> Result<()> {
        let path = self.dest.join(rel);
        fs::create_dir_all(&path).map_err(|e| io_error("create", &path, &e))?;
        let canonical = path
            .canonicalize()
            .map_err(|e| io_error("resolve", &path, &e))?;
        if !canonical.starts_with(self.dest) {
            return Err(self.escape(rel));
        }
        self.dirs += 1;
        Ok(())
    }

    fn file(&mut self, rel: &Path, reader: &mut dyn Read) -> Result<()> {
        let target = self.target(rel)?;
        if target.is_dir() {
            return Err(Error::invalid_input(
                "archive",
                format!(
                    "entry `{}` is a file but a directory exists there",
                    rel.display()
                ),
            ));
        }
        let dir = target.parent().unwrap_or(self.dest);
        let mut tmp = tempfile::Builder::new()
            .prefix(".llmspell-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| io_error("create a temporary file in", dir, &e))?;
        let copied = io::copy(&mut reader.take(self.budget + 1), &mut tmp).map_err(|e| {
            Error::invalid_input(
                "archive",
                format!("cannot decompress `{}`: {e}", rel.display()),
            )
        })?;
        if copied > self.budget {
            return Err(Error::ResourceLimitExceeded {
                resource: "archive_bytes".to_owned(),
                limit: self.limit,
                requested: self.written + copied,
            });
        }
        tmp.flush().map_err(|e| io_error("write", &target, &e))?;
        // Renaming replaces a symlink at the target instead of following it.
        tmp.persist(&target)
            .map_err(|e| io_error("write", &target, &e.error))?;
        self.budget -= copied;
        self.written += copied;
        self.files += 1;
        Ok(())
    }

    fn symlink(&mut self, rel: &Path, link: &str) -> Result<()> {
        let target = self.target(rel)?;
        if target.symlink_metadata().is_ok() {
            fs::remove_file(&target).map_err(|e| io_error("replace", &target, &e))?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(link, &target)
            .map_err(|e| io_error("create symlink", &target, &e))?;
        #[cfg(not(unix))]
        let _ = link;
        self.links += 1;
        Ok(())
    }
}

/// Writes `items` as a tar stream into `sink` and returns the sink.
fn tar_items<W: Write>(sink: W, items: &[(PathBuf, String, bool)]) -> io::Result<W> {
    let mut builder = tar::Builder::new(sink);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, name, is_dir) in items {
        if *is_dir {
            builder.append_dir(name, path)?;
        } else {
            builder.append_path_with_name(path, name)?;
        }
    }
    builder.into_inner()
}

impl ArchiveHandler {
    fn validate(&self, entries: &[EntryInfo], dest: &Path) -> Result<()> {
        if entries.len() > self.max_entries {
            return Err(self.too_many(entries.len()));
        }
        let mut declared: u64 = 0;
        for e in entries {
            let refuse = |why: &str| Error::SecurityViolation {
                message: format!(
                    "archive entry `{}` refused: {why}; nothing was extracted to `{}`",
                    e.name,
                    dest.display()
                ),
            };
            let rel = safe_relative(&e.name).map_err(|why| refuse(why))?;
            match e.kind {
                Kind::Symlink => {
                    let link = e.link.as_deref().unwrap_or("");
                    if !link_stays_inside(&rel, link) {
                        return Err(refuse(&format!(
                            "it is a symlink to `{link}`, outside the destination"
                        )));
                    }
                }
                Kind::HardLink => return Err(refuse("hard links are not extracted")),
                Kind::Other => {
                    return Err(refuse(
                        "device, fifo and other special entries are not extracted",
                    ));
                }
                Kind::File | Kind::Dir => {}
            }
            declared = declared.saturating_add(e.size);
        }
        if declared > self.max_bytes {
            return Err(Error::ResourceLimitExceeded {
                resource: "archive_bytes".to_owned(),
                limit: self.max_bytes,
                requested: declared,
            });
        }
        Ok(())
    }

    fn extract(
        &self,
        archive: &Path,
        format: Format,
        dest: &Path,
        overwrite: bool,
    ) -> Result<Value> {
        let entries = self.list_entries(archive, format)?;
        self.validate(&entries, dest)?;
        fs::create_dir_all(dest).map_err(|e| io_error("create", dest, &e))?;
        let dest = dest
            .canonicalize()
            .map_err(|e| io_error("resolve", dest, &e))?;
        if !self.sandbox.contains(&dest) {
            return Err(Error::SecurityViolation {
                message: format!("destination `{}` left the allowed roots", dest.display()),
            });
        }
        let mut x = Extractor {
            dest: &dest,
            overwrite,
            budget: self.max_bytes,
            limit: self.max_bytes,
            files: 0,
            dirs: 0,
            links: 0,
            written: 0,
        };
        match format {
            Format::Zip => {
                let file = fs::File::open(archive).map_err(|e| io_error("open", archive, &e))?;
                let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
                    .map_err(|e| archive_error(archive, e))?;
                for (i, info) in entries.iter().enumerate() {
                    let rel =
                        safe_relative(&info.name).map_err(|_| x.escape(Path::new(&info.name)))?;
                    match info.kind {
                        Kind::Dir => x.dir(&rel)?,
                        Kind::Symlink => x.symlink(&rel, info.link.as_deref().unwrap_or(""))?,
                        _ => {
                            let mut entry =
                                zip.by_index(i).map_err(|e| archive_error(archive, e))?;
                            x.file(&rel, &mut entry)?;
                        }
                    }
                }
            }
            Format::Tar | Format::TarGz => {
                let mut tar = open_tar(archive, format == Format::TarGz)?;
                for entry in tar.entries().map_err(|e| archive_error(archive, e))? {
                    let mut entry = entry.map_err(|e| archive_error(archive, e))?;
                    let kind = entry.header().entry_type();
                    if is_metadata_entry(kind) {
                        continue;
                    }
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    let rel = safe_relative(&name).map_err(|_| x.escape(Path::new(&name)))?;
                    match tar_kind(kind) {
                        Kind::Dir => x.dir(&rel)?,
                        Kind::Symlink => {
                            let link = entry
                                .link_name_bytes()
                                .map(|l| String::from_utf8_lossy(&l).into_owned())
                                .unwrap_or_default();
                            if !link_stays_inside(&rel, &link) {
                                return Err(x.escape(&rel));
                            }
                            x.symlink(&rel, &link)?;
                        }
                        Kind::File => x.file(&rel, &mut entry)?,
                        Kind::HardLink | Kind::Other => return Err(x.escape(&rel)),
                    }
                }
            }
        }
        Ok(json!({
            "destination": self.sandbox.display_relative(&dest),
            "files": x.files,
            "directories": x.dirs,
            "symlinks": x.links,
            "bytes": x.written,
        }))
    }

    /// Every file and directory under `sources`, with its name in the archive.
    fn collect(&self, sources: &[String]) -> Result<(Vec<(PathBuf, String, bool)>, Vec<String>)> {
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
                let entry = entry.map_err(|e| Error::External {
                    service: "filesystem".to_owned(),
                    message: format!("cannot read `{source}`: {e}"),
                    retryable: false,
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
                items.push((entry.path().to_path_buf(), name, ft.is_dir()));
                if items.len() > self.max_entries {
                    return Err(self.too_many(items.len()));
                }
            }
        }
        Ok((items, skipped))
    }

    fn create(
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
        };
        match format {
            Format::Zip => {
                let mut zip = zip::ZipWriter::new(tmp.as_file());
                let options = SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true)
                    .unix_permissions(0o644);
                for (path, name, is_dir) in &items {
                    if *is_dir {
                        zip.add_directory(name.as_str(), options.unix_permissions(0o755))
                            .map_err(|e| write_err(&e))?;
                    } else {
                        zip.start_file(name.as_str(), options)
                            .map_err(|e| write_err(&e))?;
                        let mut f = fs::File::open(path).map_err(|e| io_error("read", path, &e))?;
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
        json!({
            "type": "object",
            "properties": {
                "operation": { "type": "string", "enum": ["create", "list", "extract"], "description": "What to do" },
                "archive": { "type": "string", "description": "The archive file" },
                "sources": { "type": "array", "items": { "type": "string" }, "description": "create: files and directories to store" },
                "destination": { "type": "string", "description": "extract: directory to extract into (created if missing)" },
                "format": { "type": "string", "enum": ["zip", "tar", "tar.gz"], "description": "Archive format (default: from the file name)" },
                "overwrite": { "type": "boolean", "description": "Replace existing files (default false)" }
            },
            "required": ["operation", "archive"],
            "additionalProperties": false
        })
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
        let op: Operation = params::parse_operation(params)?;
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

    fn exec(t: &ArchiveHandler, params: Value) -> Result<Value> {
        t.run(params::parse_operation(params)?)
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
    fn entry_names_are_checked() {
        assert!(safe_relative("a/b.txt").is_ok());
        assert_eq!(safe_relative("../x"), Err("it contains `..`"));
        assert_eq!(safe_relative("a/../../x"), Err("it contains `..`"));
        assert_eq!(safe_relative("/etc/passwd"), Err("it is an absolute path"));
        assert_eq!(safe_relative("..\\x"), Err("it contains `..`"));
        assert_eq!(safe_relative("C:/x"), Err("it starts with a drive letter"));
        assert!(link_stays_inside(Path::new("a/link"), "../b"));
        assert!(!link_stays_inside(Path::new("a/link"), "../../b"));
        assert!(!link_stays_inside(Path::new("link"), "/etc"));
    }

    #[test]
    fn unknown_format_is_an_input_error() {
        let (_dir, t) = fixture();
        let err = exec(&t, json!({"operation": "list", "archive": "thing.rar"})).unwrap_err();
        assert!(err.to_string().contains("`format`"), "{err}");
    }
}
