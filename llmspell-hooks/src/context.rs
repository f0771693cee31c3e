//! What a hook receives.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use llmspell_core::{ComponentId, CorrelationId, ExecutionContext, Language};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HookPoint;

/// The metadata key holding the attempt number (1, 2, …) of a retried operation.
pub const ATTEMPT_KEY: &str = "attempt";

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
    /// The language that started the operation.
    pub language: Language,
    /// Input, output or error, as JSON.
    pub data: Value,
    /// String metadata (tenant, attempt, …).
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
            language: Language::Native,
            data,
            metadata: BTreeMap::new(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// A context for an operation running under `exec`: its correlation id,
    /// parent, language and metadata carry over.
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
            language: exec.language,
            data,
            metadata: exec.metadata.clone(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// A context for another point of the same operation: the correlation
    /// id, parent, language and metadata carry over; point, component and
    /// data are new.
    pub fn derive(&self, point: HookPoint, component: ComponentId, data: Value) -> Self {
        Self {
            point,
            component,
            correlation_id: self.correlation_id.clone(),
            parent_id: self.parent_id.clone(),
            language: self.language,
            data,
            metadata: self.metadata.clone(),
            timestamp: llmspell_core::clock::now_utc(),
            elapsed: None,
        }
    }

    /// The execution context this hook context describes.
    pub fn execution_context(&self) -> ExecutionContext {
        ExecutionContext {
            correlation_id: self.correlation_id.clone(),
            parent_id: self.parent_id.clone(),
            language: self.language,
            metadata: self.metadata.clone(),
        }
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

    /// The attempt number of a retried operation (1 for the first).
    pub fn attempt(&self) -> u32 {
        self.metadata
            .get(ATTEMPT_KEY)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1)
    }

    /// The JSON form scripts see: `point`, `component`, `correlation_id`,
    /// `parent_id`, `language`, `data`, `metadata`, `timestamp`, `elapsed`.
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
        assert_eq!(ctx.execution_context(), exec);
        assert_eq!(ctx.attempt(), 1);
    }

    #[test]
    fn json_form_round_trips() {
        let mut ctx = HookContext::new(
            HookPoint::AfterToolExecution,
            ComponentId::tool("t"),
            json!(1),
        )
        .with_metadata(ATTEMPT_KEY, "2");
        ctx.elapsed = Some(Duration::from_micros(1500));
        let v = ctx.to_json();
        assert_eq!(v["point"], "AfterToolExecution");
        assert_eq!(v["component"]["type"], "tool");
        assert_eq!(v["elapsed"], 1.5);
        let back: HookContext = serde_json::from_value(v).unwrap();
        assert_eq!(back.attempt(), 2);
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
        assert_eq!(back.execution_context().correlation_id, "req-42");
    }
}
