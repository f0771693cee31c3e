//! Executions of replayable hooks are recorded to storage and replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_core::ComponentId;
use llmspell_hooks::{
    Hook, HookContext, HookExecutor, HookOptions, HookPoint, HookRecorder, HookRegistry,
    HookResult, RecordedResult, ReplayableHook,
};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use serde_json::{Value, json};

/// Caps `amount` at 100 and redacts `card` before anything is stored.
struct Limiter;

#[async_trait::async_trait]
impl Hook for Limiter {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let amount = ctx.data["amount"].as_i64().unwrap_or(0);
        Ok(if amount > 100 {
            HookResult::Modified(json!({ "amount": 100 }))
        } else {
            HookResult::Continue
        })
    }
}

impl ReplayableHook for Limiter {
    fn replay_id(&self) -> String {
        "limiter-v1".into()
    }
    fn serialize_context(&self, ctx: &HookContext) -> llmspell_core::Result<Value> {
        let mut v = ctx.to_json();
        if let Some(data) = v.get_mut("data").and_then(Value::as_object_mut) {
            data.remove("card");
        }
        Ok(v)
    }
}

async fn round_trip(backend: Arc<dyn StorageBackend>) {
    let recorder = HookRecorder::new(backend).unwrap();
    let registry = HookRegistry::new();
    let limiter = Arc::new(Limiter);
    let _h = registry
        .register_replayable(
            HookPoint::BeforeToolExecution,
            limiter.clone(),
            HookOptions::new().name("limiter"),
        )
        .unwrap();
    let executor = HookExecutor::builder(registry)
        .recorder(recorder.clone())
        .build();
    for amount in [50, 500] {
        let mut ctx = HookContext::new(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("pay"),
            json!({ "amount": amount, "card": "4111" }),
        );
        executor.execute_point(&mut ctx).await.unwrap();
    }
    let records = recorder.records(Some("limiter-v1"), None).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].result, RecordedResult::Ok(HookResult::Continue));
    assert_eq!(
        records[1].result,
        RecordedResult::Ok(HookResult::Modified(json!({ "amount": 100 })))
    );
    assert!(
        records[1].context["data"].get("card").is_none(),
        "redacted before storage"
    );
    for r in &records {
        let replay = recorder.replay(r, limiter.as_ref()).await.unwrap();
        assert!(replay.matches, "{replay:?}");
    }
    struct Other;
    #[async_trait::async_trait]
    impl Hook for Other {
        async fn execute(&self, _: &mut HookContext) -> llmspell_core::Result<HookResult> {
            Ok(HookResult::Continue)
        }
    }
    impl ReplayableHook for Other {
        fn replay_id(&self) -> String {
            "other".into()
        }
    }
    assert!(
        recorder.replay(&records[0], &Other).await.is_err(),
        "records belong to their hook"
    );
}

#[tokio::test]
async fn replay_round_trip_on_memory() {
    round_trip(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test]
async fn replay_round_trip_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(Arc::new(SledBackend::open(dir.path().join("db")).unwrap())).await;
}

#[tokio::test]
async fn a_changed_hook_is_detected_by_replay() {
    let backend: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let recorder = HookRecorder::new(backend).unwrap();
    let registry = HookRegistry::new();
    let _h = registry
        .register_replayable(
            HookPoint::BeforeToolExecution,
            Arc::new(Limiter),
            HookOptions::new(),
        )
        .unwrap();
    let executor = HookExecutor::builder(registry)
        .recorder(recorder.clone())
        .build();
    let mut ctx = HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("pay"),
        json!({ "amount": 500 }),
    );
    executor.execute_point(&mut ctx).await.unwrap();
    /// Version 2 caps at 200.
    struct LimiterV2;
    #[async_trait::async_trait]
    impl Hook for LimiterV2 {
        async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
            let amount = ctx.data["amount"].as_i64().unwrap_or(0);
            Ok(if amount > 200 {
                HookResult::Modified(json!({ "amount": 200 }))
            } else {
                HookResult::Continue
            })
        }
    }
    impl ReplayableHook for LimiterV2 {
        fn replay_id(&self) -> String {
            "limiter-v1".into()
        }
    }
    let record = &recorder
        .records(None, Some(&ctx.correlation_id))
        .await
        .unwrap()[0];
    let replay = recorder.replay(record, &LimiterV2).await.unwrap();
    assert!(!replay.matches);
    assert_eq!(
        replay.replayed,
        RecordedResult::Ok(HookResult::Modified(json!({ "amount": 200 })))
    );
}
