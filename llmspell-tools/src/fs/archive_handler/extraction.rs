//! Checked extraction: entry names, link targets and size caps.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use llmspell_core::{Error, Result};
use serde_json::{Value, json};

use super::ArchiveHandler;
use super::listing::{
    EntryInfo, Format, Kind, archive_error, is_metadata_entry, open_tar, tar_kind,
};
use crate::fs::io_error;

/// The entry name as a relative path of normal components, or why not.
pub(super) fn safe_relative(name: &str) -> std::result::Result<PathBuf, &'static str> {
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
pub(super) fn link_stays_inside(link: &Path, target: &str) -> bool {
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
            let rel = safe_relative(&e.name).map_err(&refuse)?;
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

    pub(super) fn extract(
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
