//! `Trace`: correlation traces for scripts and the CLI, from the runtime's
//! recorder (recent runs) or its persisted events (older ones).

use llmspell_core::CorrelationId;
use llmspell_events::EventStore;
use llmspell_hooks::Trace;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Host, HostError, options};

/// How many slowest operations and hooks an analysis lists by default.
const DEFAULT_TOP: usize = 5;

/// `Trace.analyse(id, { top })` options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyseOptions {
    /// How many slowest operations and hooks to list (default 5).
    top: Option<usize>,
}

impl Host {
    /// The trace `id` (a trace id, or the correlation id of any operation
    /// in it): from memory while the runtime keeps it, else rebuilt from
    /// the span events persisted in the runtime's store. `None` when
    /// neither has it.
    ///
    /// # Errors
    /// A store that cannot be read.
    pub async fn trace(&self, id: &CorrelationId) -> Result<Option<Trace>, HostError> {
        if let Some(trace) = self.inner.executor.traces().and_then(|t| t.trace(id)) {
            return Ok(Some(trace));
        }
        let store = EventStore::new(self.inner.storage.clone());
        Ok(Trace::load(&store, id).await?)
    }

    /// [`trace`](Self::trace) of an id a script gave.
    async fn trace_of(&self, id: &str) -> Result<Option<Trace>, HostError> {
        let id = CorrelationId::parse_field("trace id", id)?;
        self.trace(&id).await
    }

    /// `Trace.get(id)`: the trace as JSON (`id`, `spans`, `dropped_spans`,
    /// `duration_ms`, `complete`), or `null`.
    ///
    /// # Errors
    /// As [`trace`](Self::trace).
    pub async fn trace_json(&self, id: &str) -> Result<Value, HostError> {
        Ok(match self.trace_of(id).await? {
            Some(t) => {
                let mut v = t.to_json();
                v["duration_ms"] = json!(t.duration_us() as f64 / 1000.0);
                v["complete"] = json!(t.complete());
                v
            }
            None => Value::Null,
        })
    }

    /// `Trace.analyse(id, { top = 5 })`: the trace's analysis as JSON, or
    /// `null` for an unknown trace.
    ///
    /// # Errors
    /// As [`trace`](Self::trace); unknown options.
    pub async fn trace_analysis(&self, id: &str, opts: &Value) -> Result<Value, HostError> {
        let o: AnalyseOptions = options::read(opts, "Trace.analyse option")?;
        Ok(match self.trace_of(id).await? {
            Some(t) => {
                serde_json::to_value(t.analyse(o.top.unwrap_or(DEFAULT_TOP))).unwrap_or(Value::Null)
            }
            None => Value::Null,
        })
    }

    /// `Trace.render(id)`: the tree and its analysis as text, or `null`.
    ///
    /// # Errors
    /// As [`trace`](Self::trace).
    pub async fn trace_text(&self, id: &str) -> Result<Value, HostError> {
        Ok(match self.trace_of(id).await? {
            Some(t) => Value::String(format!("{}{}", t.render(), t.analyse(DEFAULT_TOP).render())),
            None => Value::Null,
        })
    }

    /// `Trace.recent(limit)`: summaries of the traces kept in memory,
    /// newest first (an empty list while tracing is off).
    pub fn recent_traces(&self, limit: usize) -> Value {
        let recent = self
            .inner
            .executor
            .traces()
            .map(|t| t.recent(limit))
            .unwrap_or_default();
        serde_json::to_value(recent).unwrap_or(Value::Null)
    }
}
