//! Every file-system tool refuses paths that leave its configured roots:
//! `..` traversal, absolute paths elsewhere, symlinks inside a root that
//! point outside it, dangling symlinks, and use without any roots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use llmspell_core::{Error, ExecutionContext, Tool};
use llmspell_tools::FsSandbox;
use llmspell_tools::fs::{ArchiveHandler, FileConverter, FileOperations, FileSearch, FileWatcher};
use serde_json::{Value, json};

/// A temporary directory holding `root/` (the only allowed root) and
/// `outside/secret.txt`, with `root/escape` → `outside` and
/// `root/dangling` → `outside/missing.txt`.
struct Layout {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), "top secret").unwrap();
    fs::write(root.join("inside.txt"), "fine").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("missing.txt"), root.join("dangling")).unwrap();
    }
    Layout {
        _dir: dir,
        root,
        outside,
    }
}

async fn run(tool: &dyn Tool, params: Value) -> Result<Value, Error> {
    tool.execute(params, &ExecutionContext::native()).await
}

fn assert_refused(result: Result<Value, Error>, root: &Path) {
    match result {
        Err(Error::SecurityViolation { message }) => {
            assert!(
                message.contains(&root.display().to_string()),
                "the message should name the allowed root: {message}"
            );
        }
        other => panic!("expected a security violation, got {other:?}"),
    }
}

#[tokio::test]
async fn parent_directory_traversal_is_refused() {
    let l = layout();
    let ops = FileOperations::new(FsSandbox::new([&l.root]));
    assert_refused(
        run(
            &ops,
            json!({"operation": "read", "path": "../outside/secret.txt"}),
        )
        .await,
        &l.root,
    );
    assert_refused(
        run(
            &ops,
            json!({"operation": "write", "path": "../outside/new.txt", "content": "x"}),
        )
        .await,
        &l.root,
    );
    assert_refused(
        run(&ops, json!({"operation": "copy", "source": "inside.txt", "destination": "../outside/copy.txt"})).await,
        &l.root,
    );
    assert!(!l.outside.join("new.txt").exists());
    assert!(!l.outside.join("copy.txt").exists());

    let search = FileSearch::new(FsSandbox::new([&l.root]));
    assert_refused(
        run(&search, json!({"path": "..", "content": "secret"})).await,
        &l.root,
    );
}

#[tokio::test]
async fn absolute_paths_outside_the_roots_are_refused() {
    let l = layout();
    let sandbox = FsSandbox::new([&l.root]);
    let secret = l.outside.join("secret.txt");
    let ops = FileOperations::new(sandbox.clone());
    assert_refused(
        run(
            &ops,
            json!({"operation": "read", "path": secret.to_str().unwrap()}),
        )
        .await,
        &l.root,
    );
    assert_refused(
        run(
            &ops,
            json!({"operation": "delete", "path": secret.to_str().unwrap()}),
        )
        .await,
        &l.root,
    );
    assert!(secret.exists());
    let converter = FileConverter::new(sandbox.clone());
    assert_refused(
        run(
            &converter,
            json!({"operation": "line_endings", "path": secret.to_str().unwrap(), "to": "crlf"}),
        )
        .await,
        &l.root,
    );
    let watcher = FileWatcher::new(sandbox.clone());
    assert_refused(
        run(
            &watcher,
            json!({"paths": [l.outside.to_str().unwrap()], "duration_ms": 10}),
        )
        .await,
        &l.root,
    );
    let archives = ArchiveHandler::new(sandbox);
    assert_refused(
        run(&archives, json!({"operation": "create", "archive": "a.zip", "sources": [l.outside.to_str().unwrap()]})).await,
        &l.root,
    );
    // An absolute path inside the root is fine.
    let inside = l.root.join("inside.txt");
    let out = run(
        &ops,
        json!({"operation": "read", "path": inside.to_str().unwrap()}),
    )
    .await
    .unwrap();
    assert_eq!(out["content"], "fine");
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_inside_a_root_pointing_outside_is_refused() {
    let l = layout();
    let sandbox = FsSandbox::new([&l.root]);
    let ops = FileOperations::new(sandbox.clone());
    assert_refused(
        run(
            &ops,
            json!({"operation": "read", "path": "escape/secret.txt"}),
        )
        .await,
        &l.root,
    );
    assert_refused(
        run(
            &ops,
            json!({"operation": "write", "path": "escape/planted.txt", "content": "x"}),
        )
        .await,
        &l.root,
    );
    assert_refused(
        run(&ops, json!({"operation": "list", "path": "escape"})).await,
        &l.root,
    );
    assert!(!l.outside.join("planted.txt").exists());

    // A dangling link would create its target outside the root if written through.
    assert_refused(
        run(
            &ops,
            json!({"operation": "write", "path": "dangling", "content": "x"}),
        )
        .await,
        &l.root,
    );
    assert!(!l.outside.join("missing.txt").exists());

    let search = FileSearch::new(sandbox.clone());
    assert_refused(
        run(&search, json!({"path": "escape", "content": "secret"})).await,
        &l.root,
    );
    // Searching the root does not follow the link out of it.
    let out = run(&search, json!({"content": "top secret"}))
        .await
        .unwrap();
    assert_eq!(out["matches"], json!([]));

    let archives = ArchiveHandler::new(sandbox);
    run(
        &archives,
        json!({"operation": "create", "archive": "inside.zip", "sources": ["inside.txt"]}),
    )
    .await
    .unwrap();
    assert_refused(
        run(&archives, json!({"operation": "extract", "archive": "inside.zip", "destination": "escape/unpacked"})).await,
        &l.root,
    );
}

#[cfg(unix)]
#[tokio::test]
async fn extraction_does_not_write_through_an_existing_symlink() {
    let l = layout();
    let sandbox = FsSandbox::new([&l.root]);
    let archives = ArchiveHandler::new(sandbox.clone());
    // An archive whose directory `escape` holds a file: extracted into the
    // root, `escape` is the symlink to the outside directory.
    fs::create_dir_all(l.root.join("staging/escape")).unwrap();
    fs::write(l.root.join("staging/escape/pwned.txt"), "x").unwrap();
    fs::create_dir_all(l.root.join("target")).unwrap();
    std::os::unix::fs::symlink(&l.outside, l.root.join("target/escape")).unwrap();
    run(
        &archives,
        json!({"operation": "create", "archive": "bundle.tar", "sources": ["staging/escape"]}),
    )
    .await
    .unwrap();
    let result = run(
        &archives,
        json!({"operation": "extract", "archive": "bundle.tar", "destination": "target", "overwrite": true}),
    )
    .await;
    assert!(
        matches!(result, Err(Error::SecurityViolation { .. })),
        "{result:?}"
    );
    assert!(!l.outside.join("pwned.txt").exists());
}

#[tokio::test]
async fn without_roots_every_path_is_refused() {
    let ops = FileOperations::new(FsSandbox::deny_all());
    let err = run(&ops, json!({"operation": "exists", "path": "anything.txt"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SecurityViolation { .. }));
    assert!(
        err.to_string()
            .contains("no file-system roots are configured"),
        "{err}"
    );
    let search = FileSearch::new(FsSandbox::deny_all());
    assert!(matches!(
        run(&search, json!({})).await,
        Err(Error::SecurityViolation { .. })
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn deleting_or_moving_a_symlink_acts_on_the_link_not_its_target() {
    let l = layout();
    let ops = FileOperations::new(FsSandbox::new([&l.root]));
    let out = run(&ops, json!({"operation": "exists", "path": "escape"}))
        .await
        .unwrap();
    assert_eq!(out, json!({"exists": true, "type": "symlink"}));
    run(
        &ops,
        json!({"operation": "move", "source": "escape", "destination": "renamed"}),
    )
    .await
    .unwrap();
    assert!(
        l.root
            .join("renamed")
            .symlink_metadata()
            .unwrap()
            .is_symlink()
    );
    run(
        &ops,
        json!({"operation": "delete", "path": "renamed", "recursive": true}),
    )
    .await
    .unwrap();
    assert!(l.root.join("renamed").symlink_metadata().is_err());
    assert_eq!(
        fs::read_to_string(l.outside.join("secret.txt")).unwrap(),
        "top secret"
    );
}
