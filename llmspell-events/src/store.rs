//! The event store: persisted events, queries, replay and retention.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use llmspell_storage::{Batch, Namespaced, Scan, StorageBackend};

use crate::{Error, EventBus, Result, TopicPattern, UniversalEvent};

/// The tag replayed events carry; persistence never re-stores them.
pub const REPLAYED_TAG: &str = "replayed";

/// Selects stored events. Every condition is optional; all must hold.
///
/// ```
/// use llmspell_events::EventQuery;
/// let q = EventQuery::new().pattern("tool.**")?.limit(100).newest_first();
/// assert_eq!(q.limit, Some(100));
/// # Ok::<(), llmspell_events::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct EventQuery {
    /// Topic pattern.
    pub pattern: Option<TopicPattern>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only events of this operation.
    pub correlation_id: Option<CorrelationId>,
    /// At most this many events.
    pub limit: Option<usize>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
}

impl EventQuery {
    /// Every event, oldest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only events whose topic matches `pattern`.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`].
    pub fn pattern(mut self, pattern: &str) -> Result<Self> {
        self.pattern = Some(TopicPattern::new(pattern)?);
        Ok(self)
    }

    /// Only events at or after `t`.
    ///
    /// Event timestamps come from [`llmspell_core::clock`], which follows the
    /// system clock to within microseconds; to select "everything published
    /// from now on" in-process, take `t` from
    /// [`llmspell_core::clock::now_utc`].
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }

    /// Only events before `t`.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }

    /// Only events with this correlation id (a UUID or a chosen string).
    pub fn correlation_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// At most `n` events.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Newest first.
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    fn accepts(&self, ev: &UniversalEvent) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| p.matches(&ev.event_type))
            && self.since.is_none_or(|t| ev.timestamp >= t)
            && self.until.is_none_or(|t| ev.timestamp < t)
            && self
                .correlation_id
                .as_ref()
                .is_none_or(|c| ev.metadata.correlation_id.as_ref() == Some(c))
    }
}

/// How much history to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Retention {
    /// Keep at most this many events (the newest).
    pub max_events: Option<usize>,
    /// Drop events older than this.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Keep at most `n` events.
    pub fn max_events(mut self, n: usize) -> Self {
        self.max_events = Some(n);
        self
    }

    /// Drop events older than `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
}

/// Persisted events in a [`StorageBackend`], under the namespace `events`.
///
/// Layout: `events/e/<timestamp µs, 16 hex><event id>` holds the event's JSON
/// form, so keys sort by time; `events/c/<correlation id>/<same suffix>`
/// indexes events by correlation id. In the index a UUID id is written as
/// its 32 hex digits, and a chosen (text) id as `t` followed by the text with
/// `%` written `%25` and `/` written `%2F`: the id part never contains `/`,
/// and a text id never reads as a UUID one.
#[derive(Debug, Clone)]
pub struct EventStore {
    backend: Arc<dyn StorageBackend>,
}

const EVENTS: &str = "e/";
const BY_CORRELATION: &str = "c/";
const DELETE_CHUNK: usize = 1000;
/// Starts the index segment of a text (non-UUID) correlation id.
const TEXT_ID: char = 't';

/// The correlation index segment of `id` (see [`EventStore`]'s layout).
fn index_segment(id: &CorrelationId) -> String {
    if let Some(uuid) = id.as_uuid() {
        return uuid.simple().to_string();
    }
    let mut buf = [0; CorrelationId::UUID_LEN];
    let text = id.encode(&mut buf);
    let mut out = String::with_capacity(text.len() + 1);
    out.push(TEXT_ID);
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            c => out.push(c),
        }
    }
    out
}

/// The index prefix of every event of `id`: `c/<segment>/`.
fn index_prefix(id: &CorrelationId) -> String {
    format!("{BY_CORRELATION}{}/", index_segment(id))
}

impl EventStore {
    /// A store in the `events` namespace of `backend`.
    pub fn new(backend: Arc<dyn StorageBackend>) -> Self {
        // "events" is a valid namespace, so this cannot fail; fall back to the
        // raw backend rather than panic.
        match Namespaced::new(backend.clone(), "events") {
            Ok(ns) => Self {
                backend: Arc::new(ns),
            },
            Err(_) => Self { backend },
        }
    }

    /// The backend (already namespaced).
    pub fn backend(&self) -> &Arc<dyn StorageBackend> {
        &self.backend
    }

    fn suffix(ev: &UniversalEvent) -> String {
        let micros = u64::try_from(ev.timestamp.timestamp_micros()).unwrap_or(0);
        format!("{micros:016x}{}", ev.id.simple())
    }

    fn time_key(t: DateTime<Utc>) -> String {
        let micros = u64::try_from(t.timestamp_micros()).unwrap_or(0);
        format!("{EVENTS}{micros:016x}")
    }

    /// Stores events in one atomic batch (an event stored twice is stored once).
    ///
    /// # Errors
    /// Storage errors, naming the key.
    pub async fn append(&self, events: &[Arc<UniversalEvent>]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for ev in events {
            let suffix = Self::suffix(ev);
            let json = serde_json::to_vec(&**ev).map_err(|e| Error::CorruptEvent {
                key: format!("{EVENTS}{suffix}"),
                message: format!("cannot encode: {e}"),
            })?;
            if let Some(corr) = &ev.metadata.correlation_id {
                batch.push_put(format!("{}{suffix}", index_prefix(corr)), Vec::new());
            }
            batch.push_put(format!("{EVENTS}{suffix}"), json);
        }
        Ok(self.backend.apply_batch(batch).await?)
    }

    fn decode(key: &str, bytes: &[u8]) -> Result<UniversalEvent> {
        serde_json::from_slice(bytes).map_err(|e| Error::CorruptEvent {
            key: key.to_owned(),
            message: e.to_string(),
        })
    }

    /// Events matching `query`, oldest first unless `newest_first`.
    ///
    /// # Errors
    /// Storage errors, or [`Error::CorruptEvent`] naming the damaged key.
    pub async fn query(&self, query: &EventQuery) -> Result<Vec<UniversalEvent>> {
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if let Some(corr) = &query.correlation_id {
            let mut scan = Scan::prefix(index_prefix(corr));
            if query.newest_first {
                scan = scan.reverse();
            }
            for key in self.backend.scan_keys(&scan).await? {
                let Some(suffix) = key.rsplit('/').next() else {
                    continue;
                };
                let ekey = format!("{EVENTS}{suffix}");
                if let Some(bytes) = self.backend.get(&ekey).await? {
                    let ev = Self::decode(&ekey, &bytes)?;
                    if query.accepts(&ev) {
                        out.push(ev);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
            }
            return Ok(out);
        }
        let mut scan = Scan::prefix(EVENTS);
        if let Some(since) = query.since {
            scan = scan.start(Self::time_key(since));
        }
        if let Some(until) = query.until {
            scan = scan.end(Self::time_key(until));
        }
        if query.newest_first {
            scan = scan.reverse();
        }
        if query.pattern.is_none() {
            scan.limit = query.limit;
        }
        for (key, bytes) in self.backend.scan(&scan).await? {
            let ev = Self::decode(&key, &bytes)?;
            if query.accepts(&ev) {
                out.push(ev);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Number of stored events.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn count(&self) -> Result<usize> {
        Ok(self.backend.scan_keys(&Scan::prefix(EVENTS)).await?.len())
    }

    /// Publishes the events matching `query` on `bus`, oldest first, and
    /// returns how many were published. Replayed events keep their id,
    /// timestamp, data and metadata, get a new sequence number and the tag
    /// [`REPLAYED_TAG`] (so persistence does not store them again).
    ///
    /// # Errors
    /// Storage errors; publish errors (a full `Reject` subscriber) stop the replay.
    pub async fn replay_into(&self, query: &EventQuery, bus: &EventBus) -> Result<usize> {
        let mut query = query.clone();
        query.newest_first = false;
        let events = self.query(&query).await?;
        let n = events.len();
        for mut ev in events {
            if !ev.has_tag(REPLAYED_TAG) {
                ev.metadata.tags.push(REPLAYED_TAG.to_owned());
            }
            bus.publish(ev).await?;
        }
        Ok(n)
    }

    /// Calls `handler` for each event matching `query`, oldest first; returns
    /// how many were handled.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn replay_with<F>(&self, query: &EventQuery, mut handler: F) -> Result<usize>
    where
        F: FnMut(UniversalEvent),
    {
        let mut query = query.clone();
        query.newest_first = false;
        let events = self.query(&query).await?;
        let n = events.len();
        events.into_iter().for_each(&mut handler);
        Ok(n)
    }

    /// Deletes events beyond `retention` (and their index entries); returns
    /// how many events were deleted.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn apply_retention(&self, retention: &Retention) -> Result<usize> {
        let mut doomed: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(age) = retention.max_age {
            let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
            if let Some(cutoff) = Utc::now().checked_sub_signed(age) {
                let scan = Scan::prefix(EVENTS).end(Self::time_key(cutoff));
                doomed = self.backend.scan(&scan).await?;
            }
        }
        if let Some(max) = retention.max_events {
            let keys = self.backend.scan_keys(&Scan::prefix(EVENTS)).await?;
            let remaining = keys.len() - doomed.len();
            if remaining > max {
                let extra = remaining - max;
                let from = doomed.last().map(|(k, _)| k.clone());
                let mut scan = Scan::prefix(EVENTS).limit(extra);
                if let Some(from) = from {
                    scan = scan.start(format!("{from}\u{0}"));
                }
                doomed.extend(self.backend.scan(&scan).await?);
            }
        }
        let deleted = doomed.len();
        for chunk in doomed.chunks(DELETE_CHUNK) {
            let mut batch = Batch::new();
            for (key, bytes) in chunk {
                // A damaged record is deleted all the same; only its index
                // entry (which needs the correlation id) is left behind.
                if let Ok(ev) = Self::decode(key, bytes)
                    && let Some(corr) = &ev.metadata.correlation_id
                {
                    batch.push_delete(format!("{}{}", index_prefix(corr), &key[EVENTS.len()..]));
                }
                batch.push_delete(key.clone());
            }
            self.backend.apply_batch(batch).await?;
        }
        Ok(deleted)
    }

    /// Makes every stored event durable.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.backend.flush().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id an index segment names (the inverse of [`index_segment`]).
    fn segment_id(segment: &str) -> Option<CorrelationId> {
        let Some(text) = segment.strip_prefix(TEXT_ID) else {
            return uuid::Uuid::try_parse(segment).ok().map(CorrelationId::from);
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            match rest.get(at..at + 3) {
                Some("%25") => out.push('%'),
                Some("%2F") => out.push('/'),
                _ => return None,
            }
            rest = &rest[at + 3..];
        }
        out.push_str(rest);
        CorrelationId::new(out).ok()
    }

    fn id(text: &str) -> CorrelationId {
        CorrelationId::new(text).unwrap()
    }

    #[test]
    fn uuid_ids_keep_the_hex_layout() {
        let uuid = uuid::Uuid::now_v7();
        let segment = index_segment(&CorrelationId::from(uuid));
        assert_eq!(segment, uuid.simple().to_string());
        assert_eq!(segment_id(&segment), Some(CorrelationId::from(uuid)));
    }

    #[test]
    fn text_segments_have_no_slash_and_parse_back() {
        let uuid = uuid::Uuid::now_v7();
        let ids = [
            id("req-42"),
            id("a/b"),
            id("a%2Fb"),
            id("a%b"),
            id("/"),
            id("%"),
            id("t"),
            id("t/x/"),
            id(&uuid.simple().to_string()),
            id(&uuid.hyphenated().to_string().to_uppercase()),
            id("héllo wörld"),
            id(&"/".repeat(128)),
        ];
        let mut segments = Vec::new();
        for id in &ids {
            let segment = index_segment(id);
            assert!(!segment.contains('/'), "{segment}");
            assert!(segment.starts_with(TEXT_ID), "{segment}");
            assert_eq!(segment_id(&segment).as_ref(), Some(id), "{segment}");
            let key = format!("{}{:016x}{}", index_prefix(id), 7u64, uuid.simple());
            assert_eq!(key.rsplit('/').next().map(str::len), Some(48), "{key}");
            assert!(llmspell_storage::validate_key(&key).is_ok());
            segments.push(segment);
        }
        let n = segments.len();
        segments.sort();
        segments.dedup();
        assert_eq!(segments.len(), n, "two ids share an index segment");
        // No prefix of one id's keys selects another id's keys.
        for a in &ids {
            for b in &ids {
                if a != b {
                    assert!(!index_prefix(b).starts_with(&index_prefix(a)), "{a} / {b}");
                }
            }
        }
    }
}
