//! Spans as events: what the runner publishes when an operation ends, and
//! the trace rebuilt from persisted events.

use llmspell_core::{CorrelationId, Language};
use llmspell_events::{EventQuery, EventStore, Topic, UniversalEvent};

use super::model::{Span, Trace};
use crate::{Error, Result};

/// The topic of the event published when a traced operation ends: its
/// [`Span`] as `data`, the trace id as the event's correlation id, the
/// operation's correlation id as its parent id.
pub const TRACE_TOPIC: &str = "trace.span";

/// The event of a finished span of trace `trace`.
pub(crate) fn span_event(
    topic: &Topic,
    trace: &CorrelationId,
    span: &Span,
    language: Language,
) -> UniversalEvent {
    UniversalEvent::new(
        topic.clone(),
        serde_json::to_value(span).unwrap_or(serde_json::Value::Null),
    )
    .with_origin(language, trace, Some(&span.correlation_id))
    .with_source(span.label())
}

impl Trace {
    /// The trace `id` rebuilt from span events (see [`TRACE_TOPIC`]);
    /// events of other topics are ignored.
    ///
    /// # Errors
    /// [`Error::TraceHistory`] naming an event whose data is not a span.
    pub fn from_events<'a>(
        id: CorrelationId,
        events: impl IntoIterator<Item = &'a UniversalEvent>,
    ) -> Result<Self> {
        let mut spans = Vec::new();
        for ev in events {
            if ev.event_type.as_str() != TRACE_TOPIC {
                continue;
            }
            let span: Span =
                serde_json::from_value(ev.data.clone()).map_err(|e| Error::TraceHistory {
                    message: format!("event {} on {TRACE_TOPIC} is not a span: {e}", ev.id),
                })?;
            spans.push(span);
        }
        Ok(Self::assemble(id, spans))
    }

    /// The trace `id` from the span events persisted in `store`: the trace
    /// with that id, or the one holding an operation with that correlation
    /// id. `None` when no stored span belongs to it.
    ///
    /// # Errors
    /// [`Error::TraceHistory`] when the store fails or a span does not decode.
    pub async fn load(store: &EventStore, id: &CorrelationId) -> Result<Option<Self>> {
        let history = |e: llmspell_events::Error| Error::TraceHistory {
            message: e.to_string(),
        };
        let spans = EventQuery::new().pattern(TRACE_TOPIC).map_err(history)?;
        let events = store
            .query(&spans.clone().correlation_id(id.clone()))
            .await
            .map_err(history)?;
        if !events.is_empty() {
            return Self::from_events(id.clone(), &events).map(Some);
        }
        // An operation's own id: its span event names it as the parent id.
        let all = store.query(&spans).await.map_err(history)?;
        let Some(trace) = all
            .iter()
            .find(|ev| ev.metadata.parent_id.as_ref() == Some(id))
            .and_then(|ev| ev.metadata.correlation_id.clone())
        else {
            return Ok(None);
        };
        let events: Vec<&UniversalEvent> = all
            .iter()
            .filter(|ev| ev.metadata.correlation_id.as_ref() == Some(&trace))
            .collect();
        Self::from_events(trace, events).map(Some)
    }
}
