//! Reading the stream's history: `llmspell events query|replay --from nats`.

use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::StreamExt;
use llmspell_events::{EventBus, EventQuery, REPLAYED_TAG, UniversalEvent};

use crate::subject::{SubjectFilter, subject_topic};
use crate::{Error, Result, codec};

/// Messages fetched per request.
const BATCH: usize = 1000;

/// The events a JetStream stream keeps, queried like the local store
/// ([`EventQuery`]: pattern, time range, correlation id, limit, order).
#[derive(Debug, Clone)]
pub struct JetStreamHistory {
    js: jetstream::Context,
    stream: String,
    prefix: String,
}

impl JetStreamHistory {
    /// The history in stream `stream` of events under `prefix`.
    ///
    /// # Errors
    /// [`Error::JetStream`] when the stream does not exist or JetStream is
    /// not reachable.
    pub async fn open(client: Client, prefix: &str, stream: &str) -> Result<Self> {
        let js = jetstream::new(client);
        js.get_stream(stream).await.map_err(|e| {
            Error::jetstream(
                format!("open stream {stream}"),
                format!(
                    "{e} (is the stream on? hosts create it with [nats.stream] or --nats-stream)"
                ),
            )
        })?;
        Ok(Self {
            js,
            stream: stream.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// How many events the stream holds.
    ///
    /// # Errors
    /// [`Error::JetStream`].
    pub async fn count(&self) -> Result<u64> {
        let mut s = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| Error::jetstream(format!("open stream {}", self.stream), e))?;
        let info = s
            .info()
            .await
            .map_err(|e| Error::jetstream(format!("read stream {}", self.stream), e))?;
        Ok(info.state.messages)
    }

    /// The events matching `query`, oldest first unless `newest_first`.
    ///
    /// # Errors
    /// [`Error::JetStream`], or [`Error::Malformed`] naming the subject and
    /// stream sequence of a stored message that is not an event.
    pub async fn query(&self, query: &EventQuery) -> Result<Vec<UniversalEvent>> {
        let op = || format!("query stream {}", self.stream);
        let filter_subject = match &query.pattern {
            Some(p) => {
                let f = SubjectFilter::new(&self.prefix, p.as_str())?;
                match f.subjects.as_slice() {
                    [one] => one.clone(),
                    _ => String::new(),
                }
            }
            None => String::new(),
        };
        let stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| Error::jetstream(op(), e))?;
        let mut consumer: jetstream::consumer::PullConsumer = stream
            .create_consumer(pull::Config {
                deliver_policy: match query.since {
                    Some(start_time) => DeliverPolicy::ByStartTime { start_time },
                    None => DeliverPolicy::All,
                },
                ack_policy: AckPolicy::None,
                filter_subject,
                inactive_threshold: Duration::from_secs(30),
                memory_storage: true,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::jetstream(op(), e))?;
        let name = consumer.cached_info().name.clone();
        let mut remaining = consumer
            .info()
            .await
            .map_err(|e| Error::jetstream(op(), e))?
            .num_pending;
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        'fetch: while remaining > 0 {
            let n = usize::try_from(remaining).unwrap_or(BATCH).min(BATCH);
            let mut batch = consumer
                .fetch()
                .max_messages(n)
                .expires(Duration::from_secs(2))
                .messages()
                .await
                .map_err(|e| Error::jetstream(op(), e))?;
            let mut got = 0u64;
            while let Some(msg) = batch.next().await {
                let msg = msg.map_err(|e| Error::jetstream(op(), e))?;
                got += 1;
                let subject = msg.subject.as_str();
                let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
                let at = || format!("{subject} (stream sequence {seq})");
                let topic = subject_topic(&self.prefix, subject)
                    .map_err(|e| Error::malformed(&at(), e.to_string()))?;
                let ev = codec::decode(&at(), topic, msg.headers.as_ref(), &msg.payload)?;
                if accepts(query, &ev) {
                    out.push(ev);
                    if !query.newest_first && out.len() >= limit {
                        break 'fetch;
                    }
                }
            }
            if got == 0 {
                break;
            }
            remaining = remaining.saturating_sub(got);
        }
        let _ = stream.delete_consumer(&name).await;
        if query.newest_first {
            out.reverse();
            out.truncate(limit);
        }
        Ok(out)
    }

    /// Publishes the events matching `query` on `bus`, oldest first, each
    /// with its id, timestamp, data and metadata and the tag
    /// [`REPLAYED_TAG`]; returns how many.
    ///
    /// # Errors
    /// As [`query`](Self::query); a publish error stops the replay.
    pub async fn replay_into(&self, query: &EventQuery, bus: &EventBus) -> Result<usize> {
        let mut query = query.clone();
        query.newest_first = false;
        let events = self.query(&query).await?;
        let n = events.len();
        for ev in events {
            let ev = if ev.has_tag(REPLAYED_TAG) {
                ev
            } else {
                ev.with_tag(REPLAYED_TAG)
            };
            bus.publish(ev).await?;
        }
        Ok(n)
    }
}

fn accepts(q: &EventQuery, ev: &UniversalEvent) -> bool {
    q.pattern.as_ref().is_none_or(|p| p.matches(&ev.event_type))
        && q.since.is_none_or(|t| ev.timestamp >= t)
        && q.until.is_none_or(|t| ev.timestamp < t)
        && q.correlation_id
            .as_ref()
            .is_none_or(|c| ev.metadata.correlation_id.as_ref() == Some(c))
}
