//! Archive formats and reading entry headers.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use llmspell_core::{Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use super::ArchiveHandler;
use crate::fs::io_error;

/// An archive format (`tgz` is read as `tar.gz`).
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[schemars(extend("enum" = ["zip", "tar", "tar.gz", "tgz"]))]
pub(super) enum Format {
    #[serde(rename = "zip")]
    Zip,
    #[serde(rename = "tar")]
    Tar,
    #[serde(rename = "tar.gz", alias = "tgz")]
    TarGz,
}

/// The format named by `explicit`, else the one `path`'s name suggests.
pub(super) fn detect(path: &str, explicit: Option<Format>) -> Result<Format> {
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

/// What an entry is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Other,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
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
pub(super) struct EntryInfo {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) size: u64,
    pub(super) link: Option<String>,
}

pub(super) fn archive_error(archive: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid_input(
        "archive",
        format!("cannot read `{}` as an archive: {e}", archive.display()),
    )
}

pub(super) fn open_tar(path: &Path, gz: bool) -> Result<tar::Archive<Box<dyn Read>>> {
    let file = fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
    let reader: Box<dyn Read> = if gz {
        Box::new(GzDecoder::new(io::BufReader::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    Ok(tar::Archive::new(reader))
}

pub(super) fn tar_kind(t: tar::EntryType) -> Kind {
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

pub(super) fn is_metadata_entry(t: tar::EntryType) -> bool {
    t.is_pax_global_extensions()
        || t.is_pax_local_extensions()
        || t.is_gnu_longname()
        || t.is_gnu_longlink()
}

impl ArchiveHandler {
    pub(super) fn too_many(&self, n: usize) -> Error {
        Error::ResourceLimitExceeded {
            resource: "archive_entries".to_owned(),
            limit: self.max_entries as u64,
            requested: n as u64,
        }
    }

    pub(super) fn list_entries(&self, path: &Path, format: Format) -> Result<Vec<EntryInfo>> {
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
