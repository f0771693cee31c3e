//! Local events to NATS: one internal bus subscription whose bounded queue
//! (with the configured overflow policy) absorbs a slow or unreachable
//! NATS, and a task that sends what it holds, in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::context::PublishAckFuture;
use llmspell_events::{Subscription, TopicPattern, UniversalEvent};
use serde_json::json;

use crate::link::Shared;
use crate::stats::Counters;
use crate::status::report;
use crate::subject::{HOOKS_ROOT, LINK_ROOT, topic_subject};
use crate::{Error, codec};

/// Acknowledgements awaited at once when publishing to the stream.
const WINDOW: usize = 256;
/// The longest pause between two attempts to send an event.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The sending task's state that `flush` reads.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Events taken from the queue and not yet sent (or acknowledged).
    pub(crate) in_flight: AtomicUsize,
    /// Set to stop the task.
    pub(crate) stop: AtomicBool,
}

/// Sends the events of `sub` (those matching `filters`, when set) to NATS
/// until the subscription closes or `progress.stop` is set.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut sub: Subscription,
    filters: Option<Vec<TopicPattern>>,
    progress: Arc<Progress>,
) {
    let mut pending: VecDeque<(Arc<UniversalEvent>, PublishAckFuture)> = VecDeque::new();
    loop {
        let next = match sub.try_recv() {
            Some(ev) => Some(ev),
            None => {
                // Nothing queued: settle what is in flight before waiting.
                while let Some((ev, ack)) = pending.pop_front() {
                    settle(&shared, &progress, ev, ack).await;
                }
                if progress.stop.load(Ordering::Relaxed) {
                    return;
                }
                // No timer per wait: the link's shutdown closes the
                // subscription, which ends the wait.
                sub.recv().await
            }
        };
        let Some(ev) = next else {
            if sub.is_closed() || progress.stop.load(Ordering::Relaxed) {
                return;
            }
            continue;
        };
        let root = ev.event_type.root();
        if root == HOOKS_ROOT || root == LINK_ROOT || shared.seen.contains(&ev.id) {
            Counters::add(&shared.counters.echoes_skipped);
            continue;
        }
        if let Some(f) = &filters
            && !f.iter().any(|p| p.matches(&ev.event_type))
        {
            continue;
        }
        progress.in_flight.fetch_add(1, Ordering::Relaxed);
        match &shared.js {
            Some(js) => {
                if let Some(ack) = send_to_stream(&shared, js, &progress, &ev).await {
                    pending.push_back((ev, ack));
                }
                if pending.len() >= WINDOW
                    && let Some((ev, ack)) = pending.pop_front()
                {
                    settle(&shared, &progress, ev, ack).await;
                }
            }
            None => {
                send_core(&shared, &progress, &ev).await;
                progress.in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// Waits for one acknowledgement; on failure sends the event again until
/// the stream has it (its id makes a repeat harmless).
async fn settle(
    shared: &Shared,
    progress: &Progress,
    ev: Arc<UniversalEvent>,
    ack: PublishAckFuture,
) {
    let mut result = ack.await;
    let mut backoff = Duration::from_millis(50);
    while let Err(e) = &result {
        if progress.stop.load(Ordering::Relaxed) {
            break;
        }
        Counters::add(&shared.counters.publish_retries);
        tracing::debug!(target: "llmspell_nats", id = %ev.id, error = %e, "stream publish not acknowledged; sending again");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        let Some(js) = &shared.js else { break };
        result = match send_to_stream(shared, js, progress, &ev).await {
            Some(ack) => ack.await,
            None => break,
        };
    }
    if result.is_ok() {
        Counters::add(&shared.counters.published);
    }
    progress.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// Hands one event to JetStream; `None` when it can never be sent (too
/// large), after reporting it.
async fn send_to_stream(
    shared: &Shared,
    js: &jetstream::Context,
    progress: &Progress,
    ev: &UniversalEvent,
) -> Option<PublishAckFuture> {
    let mut backoff = Duration::from_millis(50);
    loop {
        // Encoded for each attempt: the client takes what it sends.
        let (headers, payload) = encoded(shared, ev)?;
        let subject = topic_subject(&shared.prefix, &ev.event_type);
        match js.publish_with_headers(subject, headers, payload).await {
            Ok(ack) => return Some(ack),
            Err(e) if e.kind() == jetstream::context::PublishErrorKind::MaxPayloadExceeded => {
                dropped(shared, ev, &e.to_string());
                return None;
            }
            Err(e) => {
                if progress.stop.load(Ordering::Relaxed) {
                    return None;
                }
                Counters::add(&shared.counters.publish_retries);
                tracing::debug!(target: "llmspell_nats", id = %ev.id, error = %e, "stream publish failed; trying again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Sends one event with core NATS (at most once).
async fn send_core(shared: &Shared, progress: &Progress, ev: &UniversalEvent) {
    let mut backoff = Duration::from_millis(50);
    loop {
        // Encoded for each attempt: the client takes what it sends.
        let Some((headers, payload)) = encoded(shared, ev) else {
            return;
        };
        let subject = topic_subject(&shared.prefix, &ev.event_type);
        match shared
            .client
            .publish_with_headers(subject, headers, payload)
            .await
        {
            Ok(()) => {
                Counters::add(&shared.counters.published);
                return;
            }
            Err(e) if e.kind() != async_nats::client::PublishErrorKind::Send => {
                dropped(shared, ev, &e.to_string());
                return;
            }
            Err(e) => {
                if progress.stop.load(Ordering::Relaxed) {
                    return;
                }
                Counters::add(&shared.counters.publish_retries);
                tracing::debug!(target: "llmspell_nats", id = %ev.id, error = %e, "publish failed; trying again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn encoded(shared: &Shared, ev: &UniversalEvent) -> Option<(async_nats::HeaderMap, bytes::Bytes)> {
    match codec::encode(ev, &shared.node) {
        Ok(x) => Some(x),
        Err(e) => {
            dropped(shared, ev, &e.to_string());
            None
        }
    }
}

fn dropped(shared: &Shared, ev: &UniversalEvent, message: &str) {
    let e = Error::nats(
        format!("send event {} on {}", ev.id, ev.event_type),
        message,
    );
    tracing::warn!(target: "llmspell_nats", "{e}");
    report(
        &shared.bus,
        "nats.bridge.dropped",
        json!({ "topic": ev.event_type.as_str(), "id": ev.id, "message": e.to_string() }),
    );
}
