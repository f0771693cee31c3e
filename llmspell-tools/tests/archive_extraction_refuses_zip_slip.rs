//! Extraction refuses archives whose entries would land outside the
//! destination (zip-slip), whose links escape it, or whose content exceeds
//! the size cap (zip bombs), and writes nothing when an entry is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use llmspell_core::{Error, ExecutionContext, Tool};
use llmspell_tools::FsSandbox;
use llmspell_tools::fs::ArchiveHandler;
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    tool: ArchiveHandler,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let tool = ArchiveHandler::new(FsSandbox::new([&root]));
    Setup {
        _dir: dir,
        root,
        outside,
        tool,
    }
}

async fn extract(s: &Setup, archive: &str) -> Result<Value, Error> {
    s.tool
        .execute(
            json!({"operation": "extract", "archive": archive, "destination": "out"}),
            &ExecutionContext::native(),
        )
        .await
}

fn zip_with(path: &Path, entries: &[(&str, &[u8])]) {
    let file = fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for (name, data) in entries {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

/// A tar entry with a raw name (and link name), bypassing the checks the
/// `tar` builder applies to paths.
fn raw_tar_entry(
    builder: &mut tar::Builder<fs::File>,
    name: &[u8],
    kind: tar::EntryType,
    link: Option<&[u8]>,
    data: &[u8],
) {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

/// A raw tar entry: name, type, link name, content.
type RawEntry<'a> = (&'a [u8], tar::EntryType, Option<&'a [u8]>, &'a [u8]);

fn tar_with(path: &Path, entries: &[RawEntry<'_>]) {
    let mut builder = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, kind, link, data) in entries {
        raw_tar_entry(&mut builder, name, *kind, *link, data);
    }
    builder.finish().unwrap();
}

fn assert_refused_and_nothing_written(result: Result<Value, Error>, s: &Setup) {
    assert!(
        matches!(result, Err(Error::SecurityViolation { .. })),
        "expected a security violation, got {result:?}"
    );
    let written: Vec<_> = fs::read_dir(&s.outside).unwrap().collect();
    assert!(
        written.is_empty(),
        "files appeared outside the root: {written:?}"
    );
    assert!(
        !s.root.join("out/ok.txt").exists(),
        "entries before the bad one must not be written"
    );
}

#[tokio::test]
async fn zip_entries_with_parent_components_are_refused() {
    let s = setup();
    zip_with(
        &s.root.join("slip.zip"),
        &[("ok.txt", b"fine"), ("../../outside/evil.txt", b"pwned")],
    );
    assert_refused_and_nothing_written(extract(&s, "slip.zip").await, &s);
}

#[tokio::test]
async fn zip_entries_with_absolute_paths_are_refused() {
    let s = setup();
    let target = s.outside.join("abs.txt");
    zip_with(
        &s.root.join("abs.zip"),
        &[("ok.txt", b"fine"), (target.to_str().unwrap(), b"pwned")],
    );
    assert_refused_and_nothing_written(extract(&s, "abs.zip").await, &s);
}

#[tokio::test]
async fn zip_symlinks_escaping_the_destination_are_refused() {
    let s = setup();
    let file = fs::File::create(s.root.join("link.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("ok.txt", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"fine").unwrap();
    zip.add_symlink(
        "escape",
        s.outside.to_str().unwrap(),
        SimpleFileOptions::default(),
    )
    .unwrap();
    zip.start_file("escape/evil.txt", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"pwned").unwrap();
    zip.finish().unwrap();
    assert_refused_and_nothing_written(extract(&s, "link.zip").await, &s);
}

#[tokio::test]
async fn tar_entries_with_parent_components_are_refused() {
    let s = setup();
    tar_with(
        &s.root.join("slip.tar"),
        &[
            (b"ok.txt", tar::EntryType::Regular, None, b"fine"),
            (
                b"../../outside/evil.txt",
                tar::EntryType::Regular,
                None,
                b"pwned",
            ),
        ],
    );
    assert_refused_and_nothing_written(extract(&s, "slip.tar").await, &s);
}

#[tokio::test]
async fn tar_entries_with_absolute_paths_are_refused() {
    let s = setup();
    let target = s.outside.join("abs.txt");
    tar_with(
        &s.root.join("abs.tar"),
        &[
            (b"ok.txt", tar::EntryType::Regular, None, b"fine"),
            (
                target.to_str().unwrap().as_bytes(),
                tar::EntryType::Regular,
                None,
                b"pwned",
            ),
        ],
    );
    assert_refused_and_nothing_written(extract(&s, "abs.tar").await, &s);
}

#[tokio::test]
async fn tar_symlinks_and_hard_links_escaping_are_refused() {
    let s = setup();
    let outside = s.outside.to_str().unwrap().as_bytes().to_vec();
    tar_with(
        &s.root.join("link.tar"),
        &[
            (b"ok.txt", tar::EntryType::Regular, None, b"fine"),
            (b"escape", tar::EntryType::Symlink, Some(&outside), b""),
            (b"escape/evil.txt", tar::EntryType::Regular, None, b"pwned"),
        ],
    );
    assert_refused_and_nothing_written(extract(&s, "link.tar").await, &s);

    tar_with(
        &s.root.join("relative.tar"),
        &[
            (b"ok.txt", tar::EntryType::Regular, None, b"fine"),
            (b"up", tar::EntryType::Symlink, Some(b"../../outside"), b""),
        ],
    );
    assert_refused_and_nothing_written(extract(&s, "relative.tar").await, &s);

    tar_with(
        &s.root.join("hard.tar"),
        &[
            (b"ok.txt", tar::EntryType::Regular, None, b"fine"),
            (b"passwd", tar::EntryType::Link, Some(b"/etc/passwd"), b""),
        ],
    );
    assert_refused_and_nothing_written(extract(&s, "hard.tar").await, &s);
}

#[tokio::test]
async fn a_symlink_that_stays_inside_is_extracted() {
    let s = setup();
    tar_with(
        &s.root.join("inner.tar"),
        &[
            (b"data/a.txt", tar::EntryType::Regular, None, b"alpha"),
            (b"alias", tar::EntryType::Symlink, Some(b"data/a.txt"), b""),
        ],
    );
    let out = extract(&s, "inner.tar").await.unwrap();
    assert_eq!(out["files"], 1);
    assert_eq!(out["symlinks"], 1);
    #[cfg(unix)]
    assert_eq!(
        fs::read_to_string(s.root.join("out/alias")).unwrap(),
        "alpha"
    );
}

#[tokio::test]
async fn a_zip_bomb_is_stopped_at_the_size_cap() {
    let s = setup();
    // 8 MiB of zeros compresses to a few KiB.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let file = fs::File::create(s.root.join("bomb.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("zeros.bin", options).unwrap();
    zip.write_all(&zeros).unwrap();
    zip.finish().unwrap();
    assert!(fs::metadata(s.root.join("bomb.zip")).unwrap().len() < 100 * 1024);

    let capped = s.tool.clone().with_max_bytes(1024 * 1024);
    let err = capped
        .execute(
            json!({"operation": "extract", "archive": "bomb.zip", "destination": "out"}),
            &ExecutionContext::native(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResourceLimitExceeded { ref resource, limit: 1_048_576, .. } if resource == "archive_bytes"),
        "{err:?}"
    );
    assert!(!s.root.join("out/zeros.bin").exists());
}
