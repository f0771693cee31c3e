//! Recording hook executions to storage and replaying them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use llmspell_storage::{JsonStore, Namespaced, Scan, StorageBackend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{Hook, HookContext, HookPoint, HookResult};

/// A hook whose executions can be stored and replayed.
///
/// Implementers owe a stable [`replay_id`](ReplayableHook::replay_id) (the
/// same across process restarts, so stored executions find their hook
/// again). The context is serialised as its JSON form by default;
/// override [`serialize_context`](ReplayableHook::serialize_context) to
/// redact fields before they reach storage.
#[async_trait]
pub trait ReplayableHook: Hook {
    /// A stable identifier of the hook.
    fn replay_id(&self) -> String;

    /// The stored form of a context.
    ///
    /// # Errors
    /// When the context cannot be stored.
    fn serialize_context(&self, ctx: &HookContext) -> llmspell_core::Result<Value> {
        Ok(ctx.to_json())
    }

    /// A context back from its stored form.
    ///
    /// # Errors
    /// When the stored form is not a context.
    fn deserialize_context(&self, value: &Value) -> llmspell_core::Result<HookContext> {
        serde_json::from_value(value.clone()).map_err(|e| {
            llmspell_core::Error::invalid_input(
                "context",
                format!("stored hook context does not decode: {e}"),
            )
        })
    }
}

/// What a recorded execution returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedResult {
    /// The hook's result.
    Ok(HookResult),
    /// The hook's failure message.
    Failed(String),
}

impl From<&Result<HookResult, String>> for RecordedResult {
    fn from(r: &Result<HookResult, String>) -> Self {
        match r {
            Ok(h) => RecordedResult::Ok(h.clone()),
            Err(m) => RecordedResult::Failed(m.clone()),
        }
    }
}

/// One stored execution of a replayable hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookExecutionRecord {
    /// The record's id.
    pub id: Uuid,
    /// The hook's replay id.
    pub replay_id: String,
    /// The hook's name.
    pub hook_name: String,
    /// The point it ran at.
    pub point: HookPoint,
    /// The operation's correlation id.
    pub correlation_id: CorrelationId,
    /// The context before the hook ran, as the hook serialised it.
    pub context: Value,
    /// What the hook returned.
    pub result: RecordedResult,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// When it ran.
    pub recorded_at: DateTime<Utc>,
}

/// A replay compared with the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// What the hook returned when recorded.
    pub recorded: RecordedResult,
    /// What it returned now.
    pub replayed: RecordedResult,
    /// Whether both agree.
    pub matches: bool,
    /// The context after the replayed run.
    pub context: HookContext,
}

/// One recorded execution replayed against the hooks registered now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    /// The hook's replay id.
    pub replay_id: String,
    /// The point it ran at.
    pub point: HookPoint,
    /// The recorded operation's correlation id.
    pub correlation_id: CorrelationId,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// What it returned then.
    pub recorded: RecordedResult,
    /// What the current hook returned; `None` when no hook with this replay
    /// id is registered now, or the record could not be replayed.
    pub replayed: Option<RecordedResult>,
    /// Whether both agree.
    pub matches: bool,
    /// Why it was not replayed, if it was not.
    pub problem: Option<String>,
}

/// Stores executions of replayable hooks in a [`StorageBackend`] (namespace
/// `hooks`) and replays them. Give it to the executor with
/// [`crate::HookExecutorBuilder::recorder`].
#[derive(Debug, Clone)]
pub struct HookRecorder {
    store: JsonStore,
}

impl HookRecorder {
    /// A recorder over `backend`.
    ///
    /// # Errors
    /// Never for the fixed namespace; kept fallible for future layouts.
    pub fn new(backend: Arc<dyn StorageBackend>) -> crate::Result<Self> {
        let ns = Namespaced::new(backend, "hooks")?;
        Ok(Self {
            store: JsonStore::new(Arc::new(ns)),
        })
    }

    pub(crate) async fn record(
        &self,
        hook: &dyn ReplayableHook,
        name: &str,
        before: &HookContext,
        result: &Result<HookResult, String>,
        elapsed: Duration,
    ) {
        let context = match hook.serialize_context(before) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(hook = %name, error = %e, "hook context not recorded");
                return;
            }
        };
        let recorded_at = llmspell_core::clock::now_utc();
        let record = HookExecutionRecord {
            id: llmspell_core::clock::new_v7(),
            replay_id: hook.replay_id(),
            hook_name: name.to_owned(),
            point: before.point.clone(),
            correlation_id: before.correlation_id.clone(),
            context,
            result: result.into(),
            duration_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            recorded_at,
        };
        let key = format!(
            "exec/{:016x}{}",
            u64::try_from(recorded_at.timestamp_micros()).unwrap_or(0),
            record.id.simple()
        );
        if let Err(e) = self.store.put(&key, &record).await {
            tracing::warn!(hook = %name, error = %e, "hook execution not recorded");
        }
    }

    /// Stored executions, oldest first, optionally only of one hook or one
    /// operation.
    ///
    /// # Errors
    /// Storage errors, naming a damaged record's key.
    pub async fn records(
        &self,
        replay_id: Option<&str>,
        correlation_id: Option<&CorrelationId>,
    ) -> crate::Result<Vec<HookExecutionRecord>> {
        let rows: Vec<(String, HookExecutionRecord)> =
            self.store.scan(&Scan::prefix("exec/")).await?;
        Ok(rows
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| replay_id.is_none_or(|id| r.replay_id == id))
            .filter(|r| correlation_id.is_none_or(|c| r.correlation_id == *c))
            .collect())
    }

    /// Replays every stored execution (of one hook, or of one operation)
    /// against the replayable hook registered now in `registry` under the
    /// same replay id, oldest first.
    ///
    /// # Errors
    /// Storage errors reading the records.
    pub async fn replay_all(
        &self,
        registry: &crate::HookRegistry,
        replay_id: Option<&str>,
        correlation_id: Option<&CorrelationId>,
    ) -> crate::Result<Vec<ReplayReport>> {
        let mut reports = Vec::new();
        for record in self.records(replay_id, correlation_id).await? {
            let mut report = ReplayReport {
                replay_id: record.replay_id.clone(),
                point: record.point.clone(),
                correlation_id: record.correlation_id.clone(),
                recorded_at: record.recorded_at,
                recorded: record.result.clone(),
                replayed: None,
                matches: false,
                problem: None,
            };
            match registry.replayable(&record.replay_id) {
                None => {
                    report.problem = Some(format!(
                        "no hook named {:?} is registered now",
                        record.replay_id
                    ));
                }
                Some(hook) => match self.replay(&record, hook.as_ref()).await {
                    Ok(outcome) => {
                        report.matches = outcome.matches;
                        report.replayed = Some(outcome.replayed);
                    }
                    Err(e) => report.problem = Some(e.to_string()),
                },
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// Runs `hook` again on a recorded context and compares the results.
    ///
    /// # Errors
    /// When the record belongs to another hook or its context does not decode.
    pub async fn replay(
        &self,
        record: &HookExecutionRecord,
        hook: &dyn ReplayableHook,
    ) -> llmspell_core::Result<ReplayOutcome> {
        if record.replay_id != hook.replay_id() {
            return Err(llmspell_core::Error::invalid_input(
                "replay_id",
                format!(
                    "the record belongs to {:?}, not {:?}",
                    record.replay_id,
                    hook.replay_id()
                ),
            ));
        }
        let mut ctx = hook.deserialize_context(&record.context)?;
        let replayed = match hook.execute(&mut ctx).await {
            Ok(r) => RecordedResult::Ok(r),
            Err(e) => RecordedResult::Failed(e.to_string()),
        };
        Ok(ReplayOutcome {
            matches: replayed == record.result,
            recorded: record.result.clone(),
            replayed,
            context: ctx,
        })
    }
}
