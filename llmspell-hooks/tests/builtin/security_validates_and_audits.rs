//! SecurityHook: validation rules cancel operations, violations are
//! published, and the audit log is a hash chain that exposes tampering.

use std::sync::Arc;

use llmspell_core::Error;
use llmspell_hooks::builtin::{AuditProblem, SecurityHook, VIOLATION_TOPIC};
use llmspell_hooks::{FailMode, HookOptions, HookPoint};
use llmspell_storage::{MemoryBackend, StorageBackend};
use serde_json::{Value, json};

use crate::fixture::{Fixture, Flaky};

fn reason(err: Error) -> (String, String) {
    match err {
        Error::Cancelled { hook, reason } => (hook, reason),
        other => panic!("expected a cancel, got {other:?}"),
    }
}

#[tokio::test]
async fn path_traversal_is_cancelled_reported_and_audited() {
    let backend = Arc::new(MemoryBackend::new());
    let f = Fixture::tool("file_operations");
    let security = Arc::new(
        SecurityHook::builder()
            .audit(backend.clone())
            .bus(f.bus.clone())
            .build()
            .unwrap(),
    );
    let f = f.hook(HookPoint::BeforeToolExecution, security.clone());
    let mut events = f.bus.subscribe(VIOLATION_TOPIC).unwrap();

    f.run(json!({ "path": "notes/today.txt" })).await.unwrap();
    let ctx = f.ctx(json!({ "op": "read", "args": { "path": "docs/../../etc/passwd" } }));
    let id = ctx.correlation_id.clone();
    let (hook, why) = reason(f.run_ctx(ctx).await.unwrap_err());
    assert_eq!(hook, "builtin.security");
    assert!(
        why.contains("path_traversal") && why.contains("/args/path"),
        "{why}"
    );
    assert_eq!(f.calls(), 1, "the refused operation never ran");
    assert_eq!(security.violations(), 1);

    let ev = events.try_recv().expect("a violation event");
    assert_eq!(ev.data["rule"], "path_traversal");
    assert_eq!(ev.data["component"], "tool:file_operations");
    assert_eq!(ev.data["correlation_id"], id.to_string());
    assert_eq!(ev.metadata.correlation_id.as_ref(), Some(&id));
    assert!(
        events.try_recv().is_none(),
        "the allowed call published nothing"
    );

    let records = security.audit_records().await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].decision, "allowed");
    assert_eq!(records[1].decision, "denied");
    assert_eq!(records[1].rule.as_deref(), Some("path_traversal"));
    assert_eq!(records[1].correlation_id, id);
    assert_eq!(records[1].prev_hash, records[0].hash);
    assert!(
        records[1].data.is_none(),
        "data is hashed, not stored, by default"
    );
    assert!(security.verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn size_denied_patterns_and_absolute_paths_name_their_rule() {
    let security = SecurityHook::builder()
        .max_payload_bytes(100)
        .deny_pattern("sql_drop", r"(?i)\bdrop\s+table\b")
        .deny_absolute_paths(true)
        .path_fields(["path"])
        .build()
        .unwrap();
    let f = Fixture::tool("db").hook(HookPoint::BeforeToolExecution, security);
    let (_, why) = reason(f.run(json!({ "blob": "x".repeat(200) })).await.unwrap_err());
    assert!(why.starts_with("security rule max_payload_size"), "{why}");
    let (_, why) = reason(
        f.run(json!({ "queries": ["select 1", "DROP  TABLE users"] }))
            .await
            .unwrap_err(),
    );
    assert!(
        why.contains("denied_pattern:sql_drop") && why.contains("/queries/1"),
        "{why}"
    );
    let (_, why) = reason(f.run(json!({ "path": "/etc/shadow" })).await.unwrap_err());
    assert!(why.contains("absolute_path"), "{why}");
    f.run(json!({ "note": "/etc is only checked under `path`" }))
        .await
        .unwrap();
    assert_eq!(f.calls(), 1);
}

#[tokio::test]
async fn verify_names_the_record_edited_in_the_backend() {
    let backend: Arc<MemoryBackend> = Arc::new(MemoryBackend::new());
    let security = Arc::new(
        SecurityHook::builder()
            .audit(backend.clone())
            .audit_data(true)
            .build()
            .unwrap(),
    );
    let f = Fixture::tool("t")
        .hook(HookPoint::BeforeToolExecution, security.clone())
        .hook(HookPoint::AfterToolExecution, security.clone());
    for i in 0..3 {
        f.run(json!({ "i": i, "token": "secret-value" }))
            .await
            .unwrap();
    }
    let records = security.audit_records().await.unwrap();
    assert_eq!(records.len(), 6, "Before and After of three calls");
    assert_eq!(records[0].data.as_ref().unwrap()["token"], "[REDACTED]");
    let intact = security.verify().await.unwrap();
    assert_eq!((intact.verified, intact.problem), (6, None));
    assert_eq!(intact.head.as_deref(), Some(records[5].hash.as_str()));

    // Someone rewrites record 3's decision straight in the storage backend.
    let key = "audit/00000000000000000003";
    let mut stored: Value =
        serde_json::from_slice(&backend.get(key).await.unwrap().unwrap()).unwrap();
    stored["decision"] = json!("denied");
    backend
        .put(key, serde_json::to_vec(&stored).unwrap())
        .await
        .unwrap();
    let report = security.verify().await.unwrap();
    assert_eq!(report.verified, 3);
    match report.problem.unwrap() {
        AuditProblem::Tampered { seq, key, reason } => {
            assert_eq!((seq, key.as_str()), (3, "00000000000000000003"));
            assert!(reason.contains("does not match its hash"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // Restoring it heals the chain; deleting another one is reported as missing.
    backend
        .put(key, serde_json::to_vec(&records[3]).unwrap())
        .await
        .unwrap();
    assert!(security.verify().await.unwrap().is_intact());
    backend.delete("audit/00000000000000000001").await.unwrap();
    let report = security.verify().await.unwrap();
    assert_eq!(report.problem, Some(AuditProblem::Missing { seq: 1 }));
    // Dropping the newest record is noticed too: the head still names it.
    backend
        .put(
            "audit/00000000000000000001",
            serde_json::to_vec(&records[1]).unwrap(),
        )
        .await
        .unwrap();
    backend.delete("audit/00000000000000000005").await.unwrap();
    let report = security.verify().await.unwrap();
    assert_eq!(
        report.problem,
        Some(AuditProblem::Truncated {
            head: 5,
            last: Some(4)
        })
    );
    // Garbage in place of a record is unreadable, named by key.
    backend
        .put("audit/00000000000000000002", b"{not json".to_vec())
        .await
        .unwrap();
    let report = security.verify().await.unwrap();
    assert!(
        matches!(report.problem, Some(AuditProblem::Unreadable { ref key, .. }) if key == "00000000000000000002"),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_new_hook_continues_the_stored_chain() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    for round in 0..2 {
        let security = SecurityHook::builder()
            .audit(backend.clone())
            .build()
            .unwrap();
        let f = Fixture::tool("t").hook(HookPoint::BeforeToolExecution, security);
        f.run(json!({ "round": round })).await.unwrap();
    }
    let reader = SecurityHook::builder()
        .audit(backend.clone())
        .build()
        .unwrap();
    let records = reader.audit_records().await.unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(records[1].prev_hash, records[0].hash);
    assert!(reader.verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn a_truncated_log_is_not_continued_and_the_firing_fails() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let writer = SecurityHook::builder()
        .audit(backend.clone())
        .build()
        .unwrap();
    let f = Fixture::tool("t").hook(HookPoint::BeforeToolExecution, writer);
    for i in 0..3 {
        f.run(json!({ "i": i })).await.unwrap();
    }
    backend.delete("audit/00000000000000000002").await.unwrap();

    // A hook started on the cut log refuses to write past the gap.
    let security = SecurityHook::builder()
        .audit(backend.clone())
        .build()
        .unwrap();
    let f = Fixture::tool("t");
    let h = f
        .registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(security),
            HookOptions::default().fail_mode(FailMode::Closed),
        )
        .unwrap();
    let f = f.keep(vec![h]);
    let err = f.run(json!({})).await.unwrap_err();
    assert!(
        matches!(&err, Error::HookFailed { message, .. } if message.contains("audit record 2 is missing from the tail")),
        "{err:?}"
    );
    assert_eq!(f.calls(), 0);
    assert!(!backend.exists("audit/00000000000000000002").await.unwrap());
}

#[test]
fn a_seal_key_is_long_enough_and_has_a_log_to_seal() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let err = SecurityHook::builder()
        .audit(backend.clone())
        .audit_seal_key("short")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("at least 16 bytes, got 5"),
        "{err}"
    );
    let err = SecurityHook::builder()
        .audit_seal_key("a key of more than sixteen bytes")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("audit backend"), "{err}");
    assert!(
        SecurityHook::builder()
            .audit(backend)
            .audit_seal_key("a key of more than sixteen bytes")
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn an_audit_failure_fails_closed() {
    let broken = Arc::new(Flaky::default());
    broken.fail(true);
    let security = SecurityHook::builder().audit(broken).build().unwrap();
    let f = Fixture::tool("t");
    let h = f
        .registry
        .register_with(
            HookPoint::BeforeToolExecution,
            Arc::new(security),
            HookOptions::default().fail_mode(FailMode::Closed),
        )
        .unwrap();
    let f = f.keep(vec![h]);
    let err = f.run(json!({})).await.unwrap_err();
    assert!(
        matches!(&err, Error::HookFailed { message, .. } if message.contains("disk full")),
        "{err:?}"
    );
    assert_eq!(f.calls(), 0);
}
