//! `llmspell audit verify` as a user runs it against a security hook's
//! audit log in a data directory: intact, a cut tail, a changed record, a
//! sealed head, and the stores it refuses to guess about.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use llmspell_core::ComponentId;
use llmspell_hooks::builtin::SecurityHook;
use llmspell_hooks::{FailMode, HookContext, HookExecutor, HookOptions, HookPoint, HookRegistry};
use llmspell_storage::{Namespaced, SledBackend, StorageBackend};
use serde_json::{Value, json};
use tempfile::TempDir;

mod common;
use common::{llmspell, text};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Fires a security hook with an audit log in `<data>/db` (the layout of
/// `llmspell run --data-dir data`) for four tool calls, one of them refused.
fn write_audit_log(data: &Path, seal_key: Option<&[u8]>) {
    block_on(async {
        let backend = SledBackend::open(data.join("db")).unwrap();
        let mut security = SecurityHook::builder().audit(Arc::new(backend.clone()));
        if let Some(key) = seal_key {
            security = security.audit_seal_key(key);
        }
        let registry = HookRegistry::new();
        // Fail-closed, as the hook's docs advise: nothing runs unaudited.
        let _guard = registry
            .register_with(
                HookPoint::BeforeToolExecution,
                Arc::new(security.build().unwrap()),
                HookOptions::default().fail_mode(FailMode::Closed),
            )
            .unwrap();
        let executor = HookExecutor::new(registry.clone());
        for path in ["notes/a.txt", "notes/b.txt", "../etc/passwd", "notes/c.txt"] {
            let mut ctx = HookContext::new(
                HookPoint::BeforeToolExecution,
                ComponentId::tool("file_operations"),
                json!({ "path": path }),
            );
            executor.execute_point(&mut ctx).await.unwrap();
        }
        backend.flush().await.unwrap();
    });
}

/// The audit namespace of the store, opened the way the test's user would.
fn with_audit<T>(data: &Path, f: impl AsyncFnOnce(&Namespaced) -> T) -> T {
    block_on(async {
        let backend = SledBackend::open(data.join("db")).unwrap();
        let audit = Namespaced::new(Arc::new(backend.clone()), "audit").unwrap();
        let out = f(&audit).await;
        backend.flush().await.unwrap();
        out
    })
}

fn verify_json(dir: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["audit", "verify", "--data-dir", "data", "--json"];
    args.extend_from_slice(extra);
    let out = llmspell(&args, dir);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), report)
}

const RECORD_3: &str = "00000000000000000003";

#[test]
fn an_intact_log_exits_zero_a_cut_tail_or_a_changed_record_exits_one() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    write_audit_log(&data, None);

    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("audit log intact: 4 records checked") && said.contains("head: record 3"),
        "{said}"
    );
    let (code, report) = verify_json(dir.path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(report["intact"], true);
    assert_eq!(report["verified"], 4);
    assert_eq!(report["problem"], Value::Null);

    // Cut the tail: the newest record goes, the head stays.
    let saved = with_audit(&data, async |audit| {
        let saved = audit.get(RECORD_3).await.unwrap().unwrap();
        assert!(audit.delete(RECORD_3).await.unwrap());
        saved
    });
    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("audit record 3 is missing from the tail")
            && said.contains("the head names record 3, the log ends at record 2"),
        "{said}"
    );
    let (code, report) = verify_json(dir.path(), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["intact"], false);
    assert_eq!(report["verified"], 3);
    assert_eq!(
        report["problem"],
        json!({ "problem": "truncated", "head": 3, "last": 2 })
    );
    assert_eq!(report["first_bad_seq"], 3);

    // Put it back, then change what record 1 says.
    with_audit(&data, async |audit| {
        audit.put(RECORD_3, saved).await.unwrap();
    });
    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    with_audit(&data, async |audit| {
        let key = "00000000000000000001";
        let mut record: Value =
            serde_json::from_slice(&audit.get(key).await.unwrap().unwrap()).unwrap();
        record["decision"] = json!("denied");
        audit
            .put(key, serde_json::to_vec(&record).unwrap())
            .await
            .unwrap();
    });
    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("audit record 1 (key 00000000000000000001) was tampered with")
            && said.contains("1 record checked before the problem"),
        "{said}"
    );
    let (_, report) = verify_json(dir.path(), &[]);
    assert_eq!(report["problem"]["problem"], "tampered");
    assert_eq!(report["first_bad_seq"], 1);
}

#[test]
fn a_removed_head_exits_one() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    write_audit_log(&data, None);
    with_audit(&data, async |audit| {
        assert!(audit.delete("head").await.unwrap());
    });
    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("head is missing although records 0 to 3 exist"),
        "{said}"
    );
}

#[test]
fn a_sealed_head_checks_only_with_its_key() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let key = b"kept apart from the store, 32 by";
    write_audit_log(&data, Some(key));
    std::fs::write(dir.path().join("seal.key"), key).unwrap();
    std::fs::write(
        dir.path().join("other.key"),
        b"some other key of 32 bytes......",
    )
    .unwrap();

    let (code, report) = verify_json(dir.path(), &["--seal-key-file", "seal.key"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["seal_checked"], true);
    let (code, report) = verify_json(dir.path(), &["--seal-key-file", "other.key"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["problem"]["problem"], "head_mismatch");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("its seal does not match the seal key"),
        "{report}"
    );
    let out = llmspell(
        &[
            "audit",
            "verify",
            "--data-dir",
            "data",
            "--seal-key-file",
            "missing.key",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.key"));
}

#[test]
fn a_missing_store_is_an_error_and_an_empty_log_is_said_so() {
    let dir = TempDir::new().unwrap();
    let out = llmspell(&["audit", "verify", "--data-dir", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no store at nowhere/db"), "{err}");
    assert!(
        !dir.path().join("nowhere").exists(),
        "verify creates no store"
    );

    // A store that holds other data but no audit records.
    block_on(async {
        let backend = SledBackend::open(dir.path().join("data/db")).unwrap();
        backend.put("events/1", b"{}".to_vec()).await.unwrap();
        backend.flush().await.unwrap();
    });
    let out = llmspell(&["audit", "verify", "--data-dir", "data"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("no audit records in namespace \"audit\""),
        "{said}"
    );

    let out = llmspell(
        &[
            "audit",
            "verify",
            "--data-dir",
            "data",
            "--namespace",
            "a/b",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("a/b"), "{}", text(&out.stderr));
    let out = llmspell(&["audit", "verify", "--bogus"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = llmspell(&["audit", "verify", "--help"], dir.path());
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("1  the log is broken"),
        "{help}"
    );
}
