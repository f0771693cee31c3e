//! Serving local hooks to other hosts: a queue subscription per point on
//! `<prefix>.hooks.<point>` (hosts serving the same point share the
//! requests), each request run through the local executor.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::Client;
use futures::StreamExt;
use llmspell_hooks::{HookExecutor, HookPoint, HookResult};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::outbound::Progress;
use crate::protocol::{Reply, hook_subject, parse_request};
use crate::stats::Counters;
use crate::{Error, Result};

/// Requests a server runs at once; more wait in the subscription.
const CONCURRENT: usize = 64;

tokio::task_local! {
    /// The hop list of the request being served, for remote hooks that the
    /// served hooks call in turn.
    static HOPS: Vec<String>;
}

/// The hop list of the request the current task serves, if any.
pub(crate) fn current_hops() -> Option<Vec<String>> {
    HOPS.try_with(Clone::clone).ok()
}

/// Answers remote hook requests with the hooks of a local executor.
///
/// Each request's context is checked ([`DistributedHookContext::forward`]
/// to this node refuses loops and the hop limit), its point must be the
/// subscription's, and the local hooks of that point run on it with their
/// own timeouts, breakers and fail modes. The reply carries the decision
/// (a fail-closed hook that failed is a `cancel` with the failure as its
/// reason); a request that is not valid gets an `error` reply, never a
/// panic.
///
/// [`DistributedHookContext::forward`]: llmspell_hooks::DistributedHookContext::forward
pub struct HookServer {
    tasks: Vec<JoinHandle<()>>,
    stop: Arc<Progress>,
    subjects: Vec<String>,
}

impl std::fmt::Debug for HookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookServer")
            .field("subjects", &self.subjects)
            .finish()
    }
}

impl HookServer {
    /// Serves the hooks of `points` from `executor` as node `node`.
    ///
    /// # Errors
    /// [`Error::Nats`] when a subscription cannot be made.
    pub async fn start(
        client: Client,
        prefix: &str,
        node: &str,
        points: &[HookPoint],
        executor: HookExecutor,
    ) -> Result<Self> {
        Self::start_with(client, prefix, node, points, executor, Arc::default()).await
    }

    pub(crate) async fn start_with(
        client: Client,
        prefix: &str,
        node: &str,
        points: &[HookPoint],
        executor: HookExecutor,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let stop = Arc::new(Progress::default());
        let limit = Arc::new(Semaphore::new(CONCURRENT));
        let mut tasks = Vec::new();
        let mut subjects = Vec::new();
        for point in points {
            let subject = hook_subject(prefix, point);
            let group = format!("{prefix}.hooks");
            let mut sub = client
                .queue_subscribe(subject.clone(), group)
                .await
                .map_err(|e| Error::nats(format!("subscribe to {subject}"), e))?;
            let (client, executor, counters, stop, limit) = (
                client.clone(),
                executor.clone(),
                counters.clone(),
                stop.clone(),
                limit.clone(),
            );
            let (node, point) = (node.to_owned(), point.clone());
            subjects.push(subject);
            tasks.push(tokio::spawn(async move {
                while let Some(msg) = sub.next().await {
                    if stop.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(reply_to) = msg.reply.clone() else {
                        Counters::add(&counters.malformed);
                        continue;
                    };
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        break;
                    };
                    let (client, executor, counters, node, point) =
                        (client.clone(), executor.clone(), counters.clone(), node.clone(), point.clone());
                    tokio::spawn(async move {
                        let reply = answer(&executor, &node, &point, &msg.payload).await;
                        if reply.error.is_some() {
                            Counters::add(&counters.malformed);
                        }
                        Counters::add(&counters.hook_requests_served);
                        if let Ok(bytes) = serde_json::to_vec(&reply)
                            && let Err(e) = client.publish(reply_to, bytes.into()).await
                        {
                            tracing::debug!(target: "llmspell_nats", error = %e, "hook reply not sent");
                        }
                        drop(permit);
                    });
                }
            }));
        }
        // Served once the server has the subscriptions: a call made right
        // after this returns finds a responder.
        crate::round_trip::round_trip(&client).await?;
        Ok(Self {
            tasks,
            stop,
            subjects,
        })
    }

    /// The subjects served.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    /// Stops serving (requests already taken are still answered).
    pub fn stop(&self) {
        self.stop.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the local hooks of `point` on one request.
pub(crate) async fn answer(
    executor: &HookExecutor,
    node: &str,
    point: &HookPoint,
    payload: &[u8],
) -> Reply {
    let incoming = match parse_request(payload) {
        Ok(d) => d,
        Err(e) => return Reply::error(node, e),
    };
    if incoming.context.point != *point {
        return Reply::error(
            node,
            format!(
                "the request is for {} but was sent to the subject of {point}",
                incoming.context.point
            ),
        );
    }
    let here = match incoming.forward(node) {
        Ok(d) => d,
        Err(e) => return Reply::error(node, e.to_string()),
    };
    let mut ctx = here.context;
    let outcome = HOPS
        .scope(here.hops, executor.execute_point(&mut ctx))
        .await;
    match outcome {
        Ok(outcome) => {
            let result = match outcome.result() {
                HookResult::Continue if outcome.modified => HookResult::Modified(ctx.data.clone()),
                r => r.clone(),
            };
            Reply::result(node, &result, outcome.decided_by(), ctx.metadata)
        }
        // A fail-closed hook failed: the operation must not go on.
        Err(e) => Reply::result(node, &HookResult::Cancel(e.to_string()), None, ctx.metadata),
    }
}
