//! What a hook receives.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use llmspell_core::{ComponentId, CorrelationId, ExecutionContext, Language};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HookPoint;

fn first_attempt() -> u32 {
    1
}

/// Everything a hook knows about the moment it runs at.
///
/// `data` is the operation's input at Before points, its output at After
/// points and the error (its JSON form) at Error points. Hooks may change
/// any field; changes to `data` and `metadata` are seen by the hooks after
/// them, and a [`crate::HookResult::Modified`] result replaces `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookContext {
    /// Where the hook runs.
    pub point: HookPoint,
    /// The component concerned (`type`, `name`, `id`).
    pub component: ComponentId,
    /// The operation's correlation id (generated, or chosen by the caller).
    pub correlation_id: CorrelationId,
    /// The correlation id of the operation that started this one.
    pub parent_id: Option<CorrelationId>,
    /// The trace the operation belongs to (the root operation's correlation
    /// id), when it is not the root itself; see
    /// [`ExecutionContext::trace_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<CorrelationId>,
    /// The language that started the operation.
    pub language: Language,
    /// Input, output or error, as JSON.
    pub data: Value,
    /// The attempt of a retried operation: 1 for the first run, 2, 3, … for
    /// the runs a `Retry` asked for.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// At an After point: whether the output was served from the cache (a
    /// `Cache` result) rather than produced by running the operation. Hooks
    /// that account for work done (cost tracking) skip served outputs.
    #[serde(default)]
    pub cache_hit: bool,
    /// String metadata (tenant, user, …).
    pub metadata: BTreeMap<String, String>,
    /// When the context was created.
    pub timestamp: DateTime<Utc>,
    /// How long the operation has run (set at After and Error points).
    #[serde(default, with = "duration_ms")]
    pub elapsed: Option<Duration>,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64() * 1000.0),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let ms = Option::<f64>::deserialize(d)?;
        Ok(ms
            .filter(|m| m.is_finite() && *m >= 0.0)
            .map(|m| Duration::from_secs_f64(m / 1000.0)))
    }
}

impl HookContext {
    /// A context for `point` on `component` with a fresh correlation id.
    pub fn new(point: HookPoint, component: ComponentId, data: Value) -> Self {
        Self {
            point,
            component,
            correlation_id: CorrelationId::new_v7(),
            parent_id: None,
            trace_id: None,
            language: Language::Native,
            data,
            attempt: 1,
            cache_hit: false,
            metadata: BTreeMap::new(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// A context for an operation running under `exec`: its correlation id,
    /// parent, language, attempt and metadata carry over.
    pub fn for_operation(
        point: HookPoint,
        component: ComponentId,
        exec: &ExecutionContext,
        data: Value,
    ) -> Self {
        Self {
            point,
            component,
            correlation_id: exec.correlation_id.clone(),
            parent_id: exec.parent_id.clone(),
            trace_id: exec.trace_id.clone(),
            language: exec.language,
            data,
            attempt: exec.attempt,
            cache_hit: false,
            metadata: exec.metadata.clone(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// A context for another point of the same operation: the correlation
    /// id, parent, language, attempt and metadata carry over; point,
    /// component and data are new.
    pub fn derive(&self, point: HookPoint, component: ComponentId, data: Value) -> Self {
        Self {
            point,
            component,
            correlation_id: self.correlation_id.clone(),
            parent_id: self.parent_id.clone(),
            trace_id: self.trace_id.clone(),
            language: self.language,
            data,
            attempt: self.attempt,
            cache_hit: false,
            metadata: self.metadata.clone(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// The id of the trace the operation belongs to: the root's correlation
    /// id, or this operation's own when it is the root.
    pub fn trace_id(&self) -> &CorrelationId {
        self.trace_id.as_ref().unwrap_or(&self.correlation_id)
    }

    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Sets the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.correlation_id = id.into();
        self
    }

    /// Sets the parent correlation id.
    #[must_use]
    pub fn with_parent_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.parent_id = Some(id.into());
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The JSON form scripts see: `point`, `component`, `correlation_id`,
    /// `parent_id`, `trace_id` (when not the root), `language`, `data`, `attempt`, `cache_hit`, `metadata`,
    /// `timestamp`, `elapsed`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_context_carries_the_execution_context() {
        let exec = ExecutionContext::new(Language::Lua).with_metadata("tenant", "acme");
        let ctx = HookContext::for_operation(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("calculator"),
            &exec,
            json!({"expression": "1+1"}),
        );
        assert_eq!(ctx.correlation_id, exec.correlation_id);
        assert_eq!(ctx.language, Language::Lua);
        assert_eq!(ctx.metadata, exec.metadata);
        assert_eq!(ctx.attempt, 1);
        let retried = HookContext::for_operation(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("calculator"),
            &exec.clone().with_attempt(3),
            json!({}),
        );
        assert_eq!(retried.attempt, 3);
    }

    #[test]
    fn json_form_round_trips() {
        let mut ctx = HookContext::new(
            HookPoint::AfterToolExecution,
            ComponentId::tool("t"),
            json!(1),
        );
        ctx.attempt = 2;
        ctx.cache_hit = true;
        ctx.elapsed = Some(Duration::from_micros(1500));
        let v = ctx.to_json();
        assert_eq!(v["point"], "AfterToolExecution");
        assert_eq!(v["component"]["type"], "tool");
        assert_eq!(v["elapsed"], 1.5);
        assert_eq!(
            (v["attempt"].clone(), v["cache_hit"].clone()),
            (json!(2), json!(true))
        );
        let back: HookContext = serde_json::from_value(v).unwrap();
        assert_eq!((back.attempt, back.cache_hit), (2, true));
        assert_eq!(back.component, ctx.component);
        assert_eq!(back.elapsed, ctx.elapsed);
        assert_eq!(back.correlation_id, ctx.correlation_id);
    }

    #[test]
    fn chosen_ids_carry_through_the_json_form() {
        let ctx = HookContext::new(
            HookPoint::AfterToolExecution,
            ComponentId::tool("t"),
            json!(1),
        )
        .with_correlation_id(CorrelationId::new("req-42").unwrap())
        .with_parent_id(CorrelationId::new("upstream-7").unwrap());
        let v = ctx.to_json();
        assert_eq!(v["correlation_id"], "req-42");
        assert_eq!(v["parent_id"], "upstream-7");
        let back: HookContext = serde_json::from_value(v).unwrap();
        assert_eq!(back.correlation_id, ctx.correlation_id);
        assert_eq!(back.parent_id, ctx.parent_id);
    }
}
