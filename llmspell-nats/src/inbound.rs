//! NATS to local events: core subscriptions (live only), or the durable
//! consumer of the stream (a host that restarts gets what it missed), and
//! the checks every message passes before it reaches the local bus.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use futures::{FutureExt, StreamExt};
use llmspell_events::TopicPattern;
use serde_json::json;

use crate::config::StartPolicy;
use crate::link::Shared;
use crate::outbound::Progress;
use crate::stats::Counters;
use crate::status::report;
use crate::subject::{HOOKS_ROOT, subject_topic};
use crate::{Error, Result, codec};

/// How long one pull request of the durable consumer lasts: a host that
/// dies stops being handed events within this time.
pub(crate) const PULL_EXPIRES: Duration = Duration::from_secs(2);
/// How long the server waits for an event's acknowledgement before it
/// hands the event out again (to this host, or to the next one that reads
/// through the same durable consumer). Events come again at most after it;
/// the host skips those it already delivered.
pub(crate) const ACK_WAIT: Duration = Duration::from_secs(10);

/// Messages delivered, once the first arrived, before the stop flag and
/// the wait are checked again.
const BATCH: usize = 256;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Published on the local bus.
    Delivered,
    /// Not for this host (its own, a duplicate, outside the patterns).
    Skipped,
    /// Not a valid event; reported.
    Malformed,
}

/// Checks one message and publishes its event on the local bus.
pub(crate) async fn deliver(
    shared: &Shared,
    patterns: &[TopicPattern],
    msg: &async_nats::Message,
) -> Delivery {
    let (subject, headers, payload) = (msg.subject.as_str(), msg.headers.as_ref(), &msg.payload);
    if codec::origin(headers) == Some(shared.node.as_str()) {
        Counters::add(&shared.counters.duplicates_skipped);
        return Delivery::Skipped;
    }
    let topic = match subject_topic(&shared.prefix, subject) {
        Ok(t) => t,
        Err(e) => return malformed(shared, subject, &e),
    };
    if topic.root() == HOOKS_ROOT || !patterns.iter().any(|p| p.matches(&topic)) {
        return Delivery::Skipped;
    }
    let event = match codec::decode(subject, topic, headers, payload) {
        Ok(ev) => ev,
        Err(e) => return malformed(shared, subject, &e),
    };
    if !shared.seen.insert(event.id) {
        Counters::add(&shared.counters.duplicates_skipped);
        return Delivery::Skipped;
    }
    let id = event.id;
    if let Err(e) = shared.bus.publish(event).await {
        // The event reached the subscribers with room; the others' policies
        // decided (reject, a block that timed out).
        tracing::debug!(target: "llmspell_nats", %id, error = %e, "bridged event not queued everywhere");
    }
    Counters::add(&shared.counters.received);
    Delivery::Delivered
}

fn malformed(shared: &Shared, subject: &str, e: &Error) -> Delivery {
    Counters::add(&shared.counters.malformed);
    tracing::warn!(target: "llmspell_nats", "{e}");
    report(
        &shared.bus,
        "nats.bridge.malformed",
        json!({ "subject": subject, "message": e.to_string() }),
    );
    Delivery::Malformed
}

/// Core subscriptions on `subjects`: delivers until they end or `stop`.
pub(crate) async fn run_core(
    shared: Arc<Shared>,
    subjects: Vec<String>,
    patterns: Vec<TopicPattern>,
    stop: Arc<Progress>,
    ready: tokio::sync::oneshot::Sender<Result<()>>,
) {
    let mut subs = Vec::with_capacity(subjects.len());
    for s in &subjects {
        match shared.client.subscribe(s.clone()).await {
            Ok(sub) => subs.push(sub),
            Err(e) => {
                let _ = ready.send(Err(Error::nats(format!("subscribe to {s}"), e)));
                return;
            }
        }
    }
    // Ready once the server has the subscriptions: an event another host
    // publishes after the link started is delivered.
    let confirmed = crate::round_trip::round_trip(&shared.client).await;
    let _ = ready.send(confirmed);
    let mut all = futures::stream::select_all(subs);
    while !stop.stop.load(Ordering::Relaxed) {
        let next = tokio::time::timeout(Duration::from_millis(200), all.next()).await;
        let mut msg = match next {
            Ok(Some(msg)) => msg,
            Ok(None) => return,
            Err(_) => continue,
        };
        // What has already arrived is delivered without a timer each.
        for n in 1..=BATCH {
            deliver(&shared, &patterns, &msg).await;
            if n == BATCH {
                break;
            }
            match all.next().now_or_never() {
                Some(Some(m)) => msg = m,
                Some(None) => return,
                None => break,
            }
        }
    }
}

/// A durable consumer: its stream, name, start and unacknowledged maximum.
pub(crate) struct Durable {
    pub(crate) stream: String,
    pub(crate) name: String,
    pub(crate) start: StartPolicy,
    pub(crate) capacity: usize,
    pub(crate) wait_for_subscriber: bool,
}

/// The durable consumer: delivers, then acknowledges, each event, until
/// `stop`.
pub(crate) async fn run_durable(
    shared: Arc<Shared>,
    durable: Durable,
    patterns: Vec<TopicPattern>,
    stop: Arc<Progress>,
    ready: tokio::sync::oneshot::Sender<Result<()>>,
) {
    let Durable {
        stream,
        name,
        start,
        capacity,
        wait_for_subscriber,
    } = durable;
    let consumer = match consumer(&shared, &stream, &name, start, capacity).await {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    while wait_for_subscriber
        && !stop.stop.load(Ordering::Relaxed)
        && !shared.bus.subscriptions().iter().any(|s| !s.internal)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while !stop.stop.load(Ordering::Relaxed) {
        // Short pull requests: the server stops handing events to a host
        // that died within `PULL_EXPIRES`.
        let mut messages = match consumer
            .stream()
            .max_messages_per_batch(capacity.clamp(1, 1000))
            .expires(PULL_EXPIRES)
            .heartbeat(PULL_EXPIRES / 4)
            .messages()
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(target: "llmspell_nats", error = %e, "durable consumer not reachable; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        while !stop.stop.load(Ordering::Relaxed) {
            let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
            match next {
                Ok(Some(Ok(msg))) => {
                    deliver(&shared, &patterns, &msg).await;
                    if let Err(e) = msg.ack().await {
                        tracing::debug!(target: "llmspell_nats", error = %e, "ack failed; the event may come again and will be skipped");
                    }
                }
                Ok(Some(Err(e))) => {
                    tracing::debug!(target: "llmspell_nats", error = %e, "durable consumer");
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }
}

async fn consumer(
    shared: &Shared,
    stream: &str,
    name: &str,
    start: StartPolicy,
    capacity: usize,
) -> Result<async_nats::jetstream::consumer::PullConsumer> {
    let js = shared
        .js
        .as_ref()
        .ok_or_else(|| Error::config("durable", "needs the stream"))?;
    let op = || format!("durable consumer {name} on {stream}");
    let stream = js
        .get_stream(stream)
        .await
        .map_err(|e| Error::jetstream(op(), e))?;
    stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_owned()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                deliver_policy: match start {
                    StartPolicy::New => DeliverPolicy::New,
                    StartPolicy::All => DeliverPolicy::All,
                },
                max_ack_pending: i64::try_from(capacity).unwrap_or(i64::MAX),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::jetstream(op(), e))
}
