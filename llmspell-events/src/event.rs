//! The event every language publishes and receives.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use llmspell_core::{CorrelationId, Language};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::Topic;

/// Who an event belongs to and how long it matters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMetadata {
    /// The operation this event belongs to.
    pub correlation_id: Option<CorrelationId>,
    /// The operation that started that one.
    pub parent_id: Option<CorrelationId>,
    /// The component that published it (`"tool:calculator"`).
    pub source: Option<Arc<str>>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// How long after `timestamp` the event stays relevant; expired events are
    /// skipped at delivery and removed by persistence retention.
    pub ttl: Option<Duration>,
}

/// An event: something that happened, published on an
/// [`EventBus`](crate::EventBus) from Rust, Lua or JavaScript.
///
/// Its JSON form is the same from every language:
///
/// ```json
/// { "id": "0192…", "type": "tool.calculator.completed", "data": { "result": 8 },
///   "language": "lua", "sequence": 42, "timestamp": "2026-11-24T16:00:00.000001Z",
///   "correlation_id": "0192…", "parent_id": null, "source": "tool:calculator",
///   "tags": [], "ttl_ms": null }
/// ```
///
/// `id` is a UUID v7 (time-ordered) given at construction; `sequence` is
/// assigned by the bus at publish and grows monotonically per bus.
/// `correlation_id` and `parent_id` are strings: UUIDs when the runtime
/// generated them, or whatever the publisher chose (see [`CorrelationId`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UniversalEvent {
    /// Unique, time-ordered id.
    pub id: Uuid,
    /// The topic.
    pub event_type: Topic,
    /// The payload.
    pub data: Value,
    /// The language that published it.
    pub language: Language,
    /// When it was created.
    pub timestamp: DateTime<Utc>,
    /// Position in the publishing bus's order (0 until published).
    pub sequence: u64,
    /// Correlation, source, tags and ttl.
    pub metadata: EventMetadata,
}

impl UniversalEvent {
    /// A new native event on `topic` carrying `data`.
    pub fn new(topic: Topic, data: Value) -> Self {
        let (id, timestamp) = llmspell_core::clock::id_and_timestamp();
        Self {
            id,
            event_type: topic,
            data,
            language: Language::Native,
            timestamp,
            sequence: 0,
            metadata: EventMetadata::default(),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &Topic {
        &self.event_type
    }

    /// Sets the publishing language.
    #[must_use]
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Sets the correlation id (a generated UUID or a chosen string, see
    /// [`CorrelationId`]).
    #[must_use]
    pub fn with_correlation_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.metadata.correlation_id = Some(id.into());
        self
    }

    /// Sets the parent correlation id.
    #[must_use]
    pub fn with_parent_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.metadata.parent_id = Some(id.into());
        self
    }

    /// Marks the event as caused by an operation: its language, correlation
    /// id and parent id.
    #[must_use]
    pub fn with_origin(
        mut self,
        language: Language,
        correlation_id: &CorrelationId,
        parent_id: Option<&CorrelationId>,
    ) -> Self {
        self.language = language;
        self.metadata.correlation_id = Some(correlation_id.clone());
        self.metadata.parent_id = parent_id.cloned();
        self
    }

    /// Sets the source component.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Arc<str>>) -> Self {
        self.metadata.source = Some(source.into());
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.metadata.tags.push(tag.into());
        self
    }

    /// Sets the time to live.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.metadata.ttl = Some(ttl);
        self
    }

    /// Whether the ttl has passed at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        match self.metadata.ttl {
            Some(ttl) => match chrono::Duration::from_std(ttl) {
                Ok(ttl) => self.timestamp + ttl < now,
                Err(_) => false,
            },
            None => false,
        }
    }

    /// Whether the event carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.metadata.tags.iter().any(|t| t == tag)
    }

    /// The JSON form as a value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for UniversalEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("UniversalEvent", 11)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("type", &self.event_type)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("language", &self.language)?;
        st.serialize_field("sequence", &self.sequence)?;
        st.serialize_field(
            "timestamp",
            &self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
        )?;
        st.serialize_field("correlation_id", &self.metadata.correlation_id)?;
        st.serialize_field("parent_id", &self.metadata.parent_id)?;
        st.serialize_field("source", &self.metadata.source)?;
        st.serialize_field("tags", &self.metadata.tags)?;
        st.serialize_field(
            "ttl_ms",
            &self
                .metadata
                .ttl
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        )?;
        st.end()
    }
}

#[derive(Deserialize)]
struct Wire {
    id: Uuid,
    #[serde(rename = "type", alias = "event_type")]
    event_type: Topic,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    language: Language,
    #[serde(default)]
    sequence: u64,
    timestamp: DateTime<Utc>,
    #[serde(default)]
    correlation_id: Option<CorrelationId>,
    #[serde(default)]
    parent_id: Option<CorrelationId>,
    #[serde(default)]
    source: Option<Arc<str>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    ttl_ms: Option<u64>,
}

impl<'de> Deserialize<'de> for UniversalEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(UniversalEvent {
            id: w.id,
            event_type: w.event_type,
            data: w.data,
            language: w.language,
            timestamp: w.timestamp,
            sequence: w.sequence,
            metadata: EventMetadata {
                correlation_id: w.correlation_id,
                parent_id: w.parent_id,
                source: w.source,
                tags: w.tags,
                ttl: w.ttl_ms.map(Duration::from_millis),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_is_stable_and_round_trips() {
        let corr = Uuid::now_v7();
        let ev = UniversalEvent::new(
            Topic::new("tool.calculator.completed").unwrap(),
            json!({"result": 8}),
        )
        .with_language(Language::Lua)
        .with_correlation_id(corr)
        .with_source("tool:calculator")
        .with_tag("audit")
        .with_ttl(Duration::from_secs(5));
        let text = serde_json::to_string(&ev).unwrap();
        let order = [
            "\"id\"",
            "\"type\"",
            "\"data\"",
            "\"language\"",
            "\"sequence\"",
            "\"timestamp\"",
            "\"correlation_id\"",
            "\"parent_id\"",
            "\"source\"",
            "\"tags\"",
            "\"ttl_ms\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "field order changed: {text}"
        );
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["type"], "tool.calculator.completed");
        assert_eq!(v["language"], "lua");
        assert_eq!(v["ttl_ms"], 5000);
        assert_eq!(v["correlation_id"], corr.to_string());
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        let back: UniversalEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back.id, ev.id);
        assert_eq!(back.metadata, ev.metadata);
        assert_eq!(
            back.timestamp.timestamp_micros(),
            ev.timestamp.timestamp_micros()
        );
    }

    #[test]
    fn chosen_ids_round_trip_and_old_uuid_json_still_loads() {
        let ev = UniversalEvent::new(Topic::new("a.b").unwrap(), Value::Null)
            .with_correlation_id(CorrelationId::new("req-42").unwrap())
            .with_parent_id(CorrelationId::new("upstream/7").unwrap());
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["correlation_id"], "req-42");
        assert_eq!(v["parent_id"], "upstream/7");
        let back: UniversalEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back.metadata, ev.metadata);

        // The JSON form written when ids were always UUIDs.
        let old = json!({
            "id": "0190d7a4-0000-7000-8000-000000000001",
            "type": "a.b",
            "timestamp": "2026-01-01T00:00:00Z",
            "correlation_id": "0190d7a4-0000-7000-8000-00000000000a",
            "parent_id": "0190d7a4-0000-7000-8000-00000000000b",
        });
        let ev: UniversalEvent = serde_json::from_value(old).unwrap();
        let corr = ev.metadata.correlation_id.as_ref().unwrap();
        assert_eq!(
            corr.as_uuid(),
            Uuid::parse_str("0190d7a4-0000-7000-8000-00000000000a").ok()
        );
        assert_eq!(
            ev.metadata.parent_id.unwrap().to_string(),
            "0190d7a4-0000-7000-8000-00000000000b"
        );

        let bad = json!({"id": Uuid::now_v7(), "type": "a", "timestamp": "2026-01-01T00:00:00Z",
            "correlation_id": ""});
        let err = serde_json::from_value::<UniversalEvent>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid correlation id"), "{err}");
    }

    #[test]
    fn accepts_event_type_alias_and_rejects_bad_topics() {
        let id = Uuid::now_v7();
        let v = json!({"id": id, "event_type": "a.b", "timestamp": "2026-01-01T00:00:00Z"});
        let ev: UniversalEvent = serde_json::from_value(v).unwrap();
        assert_eq!(ev.event_type.as_str(), "a.b");
        let v = json!({"id": id, "type": "a..b", "timestamp": "2026-01-01T00:00:00Z"});
        let err = serde_json::from_value::<UniversalEvent>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("segment 2 is empty"), "{err}");
    }

    #[test]
    fn ttl_expiry() {
        let ev = UniversalEvent::new(Topic::new("a").unwrap(), Value::Null)
            .with_ttl(Duration::from_millis(10));
        assert!(!ev.is_expired_at(ev.timestamp));
        assert!(ev.is_expired_at(ev.timestamp + chrono::Duration::milliseconds(11)));
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = UniversalEvent::new(Topic::new("a").unwrap(), Value::Null);
        let b = UniversalEvent::new(Topic::new("a").unwrap(), Value::Null);
        assert!(a.id < b.id);
    }
}
