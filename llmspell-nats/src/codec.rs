//! Events as NATS messages: the data as the JSON payload, everything else
//! in headers, so that any NATS client can read and publish bridged events.
//!
//! | header | value | when |
//! |---|---|---|
//! | `Nats-Msg-Id` | the event id (a UUID); JetStream de-duplicates by it | always |
//! | `Llmspell-Timestamp` | RFC 3339 with microseconds | always |
//! | `Llmspell-Language` | `lua`, `javascript`, `native`, … | always |
//! | `Llmspell-Origin` | the publishing host's node name | always |
//! | `Llmspell-Correlation-Id` / `Llmspell-Parent-Id` | the ids | when set |
//! | `Llmspell-Source` | the source component, a JSON string | when set |
//! | `Llmspell-Tags` | the tags, a JSON array of strings | when any |
//! | `Llmspell-Ttl-Ms` | the time to live in milliseconds | when set |
//!
//! A message published by another NATS client without these headers is
//! still an event: it gets a fresh id, the time it arrived and the language
//! `remote`.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, IntoHeaderName};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use llmspell_core::{CorrelationId, Language};
use llmspell_events::{EventMetadata, Topic, UniversalEvent};
use serde_json::Value;
use uuid::Uuid;

use crate::{Error, Result};

/// The event id; JetStream's de-duplication header.
pub const ID: &str = "Nats-Msg-Id";
/// When the event was created.
pub const TIMESTAMP: &str = "Llmspell-Timestamp";
/// The publishing language.
pub const LANGUAGE: &str = "Llmspell-Language";
/// The node that published the event onto NATS.
pub const ORIGIN: &str = "Llmspell-Origin";
/// The correlation id.
pub const CORRELATION: &str = "Llmspell-Correlation-Id";
/// The parent correlation id.
pub const PARENT: &str = "Llmspell-Parent-Id";
/// The source component (a JSON string).
pub const SOURCE: &str = "Llmspell-Source";
/// The tags (a JSON array).
pub const TAGS: &str = "Llmspell-Tags";
/// The time to live, in milliseconds.
pub const TTL: &str = "Llmspell-Ttl-Ms";
/// The trace id of a remote hook request.
pub const TRACE: &str = "Llmspell-Trace-Id";

/// The header names, made once: a name made from a string is checked and
/// copied at every use.
struct Names {
    id: HeaderName,
    timestamp: HeaderName,
    language: HeaderName,
    origin: HeaderName,
    correlation: HeaderName,
    parent: HeaderName,
    source: HeaderName,
    tags: HeaderName,
    ttl: HeaderName,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    id: ID.into_header_name(),
    timestamp: TIMESTAMP.into_header_name(),
    language: LANGUAGE.into_header_name(),
    origin: ORIGIN.into_header_name(),
    correlation: CORRELATION.into_header_name(),
    parent: PARENT.into_header_name(),
    source: SOURCE.into_header_name(),
    tags: TAGS.into_header_name(),
    ttl: TTL.into_header_name(),
});

/// The headers and payload of `event`, published by node `origin`.
///
/// # Errors
/// [`Error::Malformed`] when the data cannot be encoded (never for data that
/// came from JSON).
pub fn encode(event: &UniversalEvent, origin: &str) -> Result<(HeaderMap, Bytes)> {
    let payload = serde_json::to_vec(&event.data)
        .map_err(|e| Error::malformed(event.event_type.as_str(), format!("data: {e}")))?;
    let names = &*NAMES;
    let mut h = HeaderMap::new();
    let mut id = Uuid::encode_buffer();
    h.insert(
        names.id.clone(),
        &*event.id.hyphenated().encode_lower(&mut id),
    );
    h.insert(
        names.timestamp.clone(),
        event.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
    );
    h.insert(names.language.clone(), event.language.as_str());
    h.insert(names.origin.clone(), origin);
    let m = &event.metadata;
    if let Some(c) = &m.correlation_id {
        h.insert(names.correlation.clone(), c.to_string());
    }
    if let Some(p) = &m.parent_id {
        h.insert(names.parent.clone(), p.to_string());
    }
    if let Some(s) = &m.source {
        h.insert(
            names.source.clone(),
            json_text(&Value::String(s.to_string())),
        );
    }
    if !m.tags.is_empty() {
        h.insert(names.tags.clone(), json_text(&Value::from(m.tags.clone())));
    }
    if let Some(ttl) = m.ttl {
        h.insert(names.ttl.clone(), ttl.as_millis().to_string());
    }
    Ok((h, Bytes::from(payload)))
}

/// JSON text with every non-ASCII character escaped, so that it is a valid
/// header value whatever the string held.
fn json_text(v: &Value) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The node a message says it came from, if it says.
pub fn origin(headers: Option<&HeaderMap>) -> Option<&str> {
    headers?.get(ORIGIN).map(|v| v.as_str())
}

/// The event a message on `subject` carries; its topic is `topic`.
///
/// # Errors
/// [`Error::Malformed`] naming the header or the payload that is not valid.
pub fn decode(
    subject: &str,
    topic: Topic,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Result<UniversalEvent> {
    let bad = |what: String| Error::malformed(subject, what);
    let data: Value = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(payload).map_err(|e| bad(format!("the payload is not JSON: {e}")))?
    };
    let Some(h) = headers else {
        return Ok(UniversalEvent::new(topic, data).with_language(Language::Remote));
    };
    let get = |name: &str| h.get(name).map(|v| v.as_str());
    let id = get(ID)
        .map(|id| Uuid::parse_str(id).map_err(|e| bad(format!("{ID} {id:?} is not a UUID: {e}"))))
        .transpose()?;
    let timestamp = get(TIMESTAMP)
        .map(|ts| {
            DateTime::parse_from_rfc3339(ts)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(format!("{TIMESTAMP} {ts:?} is not RFC 3339: {e}")))
        })
        .transpose()?;
    // A bridged event carries both; the clock is read only for what is
    // missing.
    let mut event = match (id, timestamp) {
        (Some(id), Some(timestamp)) => UniversalEvent {
            id,
            event_type: topic,
            data,
            language: Language::Remote,
            timestamp,
            sequence: 0,
            metadata: EventMetadata::default(),
        },
        (id, timestamp) => {
            let mut event = UniversalEvent::new(topic, data).with_language(Language::Remote);
            event.id = id.unwrap_or(event.id);
            event.timestamp = timestamp.unwrap_or(event.timestamp);
            event
        }
    };
    if let Some(lang) = get(LANGUAGE) {
        event.language = lang.parse().map_err(|e| bad(format!("{LANGUAGE}: {e}")))?;
    }
    let id = |name: &str| -> Result<Option<CorrelationId>> {
        get(name)
            .map(|v| CorrelationId::new(v).map_err(|e| bad(format!("{name}: {e}"))))
            .transpose()
    };
    event.metadata.correlation_id = id(CORRELATION)?;
    event.metadata.parent_id = id(PARENT)?;
    if let Some(s) = get(SOURCE) {
        let s: String = serde_json::from_str(s)
            .map_err(|e| bad(format!("{SOURCE} is not a JSON string: {e}")))?;
        event.metadata.source = Some(Arc::from(s));
    }
    if let Some(t) = get(TAGS) {
        event.metadata.tags = serde_json::from_str(t)
            .map_err(|e| bad(format!("{TAGS} is not a JSON array of strings: {e}")))?;
    }
    if let Some(ttl) = get(TTL) {
        let ms: u64 = ttl
            .parse()
            .map_err(|_| bad(format!("{TTL} {ttl:?} is not a number of milliseconds")))?;
        event.metadata.ttl = Some(Duration::from_millis(ms));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> UniversalEvent {
        UniversalEvent::new(
            Topic::new("demo.order.placed").unwrap(),
            json!({"n": 1, "s": "é"}),
        )
        .with_language(Language::Lua)
        .with_correlation_id(CorrelationId::new("req-42").unwrap())
        .with_parent_id(CorrelationId::new_v7())
        .with_source("tool:calcul\u{e9}\nator")
        .with_tag("a,b")
        .with_tag("ü\r\n")
        .with_ttl(Duration::from_millis(1500))
    }

    #[test]
    fn every_field_survives_the_trip() {
        let ev = event();
        let (h, payload) = encode(&ev, "node-a").unwrap();
        for (_, values) in h.iter() {
            for v in values {
                assert!(!v.as_str().contains(['\r', '\n']), "{v:?}");
            }
        }
        assert_eq!(origin(Some(&h)), Some("node-a"));
        let back = decode("x", ev.event_type.clone(), Some(&h), &payload).unwrap();
        assert_eq!(back.id, ev.id);
        assert_eq!(back.data, ev.data);
        assert_eq!(back.language, Language::Lua);
        assert_eq!(back.metadata, ev.metadata);
        assert_eq!(
            back.timestamp.timestamp_micros(),
            ev.timestamp.timestamp_micros()
        );
    }

    #[test]
    fn a_plain_nats_message_is_an_event_and_bad_headers_are_named() {
        let t = Topic::new("demo.x").unwrap();
        let ev = decode("ls.demo.x", t.clone(), None, b"{\"a\":1}").unwrap();
        assert_eq!(
            (ev.data["a"].as_i64(), ev.language),
            (Some(1), Language::Remote)
        );
        assert_eq!(decode("s", t.clone(), None, b"").unwrap().data, Value::Null);
        let e = decode("ls.demo.x", t.clone(), None, b"not json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("malformed message on \"ls.demo.x\": the payload is not JSON"),
            "{e}"
        );
        for (name, value, said) in [
            (ID, "nope", "is not a UUID"),
            (TIMESTAMP, "yesterday", "is not RFC 3339"),
            (LANGUAGE, "cobol", "Llmspell-Language"),
            (TAGS, "[1]", "is not a JSON array of strings"),
            (TTL, "-3", "is not a number of milliseconds"),
            (CORRELATION, &"x".repeat(500), "Llmspell-Correlation-Id"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, value);
            let e = decode("s", t.clone(), Some(&h), b"1")
                .unwrap_err()
                .to_string();
            assert!(e.contains(said), "{name}: {e}");
        }
    }
}
