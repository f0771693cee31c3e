//! A hook served by another host, called over NATS request/reply.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, HeaderMap, Request};
use async_trait::async_trait;
use llmspell_core::Language;
use llmspell_hooks::{
    DistributedHookContext, Hook, HookContext, HookMetadata, HookResult, PropagationFlags,
};

use crate::codec;
use crate::config::RemoteHookConfig;
use crate::protocol::{Reply, hook_subject};
use crate::serve::current_hops;
use crate::stats::Counters;

/// A hook whose decision another host makes: each call sends the context as
/// a [`DistributedHookContext`] to `<prefix>.hooks.<point>` and waits for
/// the reply of whichever host serves that point (see [`crate::HookServer`]).
///
/// Registered like any hook, it has the registry's breaker, timeout and
/// fail mode: a call that times out, finds no host serving the point, or
/// gets a reply that is not a valid result is a failure of the hook, which
/// skips it (fail open) or cancels the operation (fail closed). The
/// context's correlation, parent and trace ids travel, so the other host's
/// spans join the same trace; the hop list refuses loops.
#[derive(Clone)]
pub struct RemoteHook {
    client: Client,
    subject: String,
    node: String,
    timeout: Duration,
    propagation: PropagationFlags,
    metadata: HookMetadata,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for RemoteHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteHook")
            .field("subject", &self.subject)
            .field("node", &self.node)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RemoteHook {
    /// A remote hook for `config.point`, calling from node `node` over
    /// `client`, on subjects under `prefix`.
    pub fn new(client: Client, prefix: &str, node: &str, config: &RemoteHookConfig) -> Self {
        Self::with_counters(client, prefix, node, config, Arc::default())
    }

    pub(crate) fn with_counters(
        client: Client,
        prefix: &str,
        node: &str,
        config: &RemoteHookConfig,
        counters: Arc<Counters>,
    ) -> Self {
        let subject = hook_subject(prefix, &config.point);
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| format!("remote:{}", config.point));
        Self {
            metadata: HookMetadata::named(name)
                .with_language(Language::Remote)
                .with_tag("remote")
                .with_description(format!("the hooks served on {subject}")),
            client,
            subject,
            node: node.to_owned(),
            timeout: config.timeout,
            propagation: PropagationFlags::default(),
            counters,
        }
    }

    /// Sets what the forwarded context carries.
    #[must_use]
    pub fn with_propagation(mut self, flags: PropagationFlags) -> Self {
        self.propagation = flags;
        self
    }

    /// The subject it calls.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The context as it leaves this host.
    fn outgoing(&self, ctx: &HookContext) -> llmspell_core::Result<DistributedHookContext> {
        let mut d = DistributedHookContext::new(ctx.clone(), self.node.clone())
            .with_propagation(self.propagation);
        if let Some(hops) = current_hops() {
            // Called while serving another host's request: the chain goes on.
            d.hops = hops;
        }
        if !self.propagation.to_remote {
            return Err(llmspell_core::Error::execution(
                &self.metadata.name,
                "remote propagation is off for this context",
            ));
        }
        if d.hops.len() >= d.max_hops {
            return Err(llmspell_core::Error::execution(
                &self.metadata.name,
                format!("the hop limit of {} is reached ({:?})", d.max_hops, d.hops),
            ));
        }
        if !self.propagation.include_data {
            d.context.data = serde_json::Value::Null;
        }
        if !self.propagation.include_metadata {
            d.context.metadata.clear();
        }
        Ok(d)
    }

    async fn call(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let name = &self.metadata.name;
        let d = self.outgoing(ctx)?;
        let payload = d
            .to_json()
            .map_err(|e| llmspell_core::Error::execution(name, e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(codec::ORIGIN, self.node.as_str());
        headers.insert(codec::CORRELATION, ctx.correlation_id.to_string().as_str());
        headers.insert(codec::TRACE, ctx.trace_id().to_string().as_str());
        let request = Request::new()
            .headers(headers)
            .payload(payload.into())
            .timeout(Some(self.timeout));
        let reply = self
            .client
            .send_request(self.subject.clone(), request)
            .await
            .map_err(|e| {
                use async_nats::client::RequestErrorKind as K;
                match e.kind() {
                    K::TimedOut => llmspell_core::Error::Timeout {
                        operation: format!("{name} ({})", self.subject),
                        after: self.timeout,
                    },
                    K::NoResponders => llmspell_core::Error::execution(
                        name,
                        format!(
                            "no host serves {} (nobody answers on {})",
                            ctx.point, self.subject
                        ),
                    ),
                    _ => llmspell_core::Error::execution(
                        name,
                        format!("request on {} failed: {e}", self.subject),
                    ),
                }
            })?;
        let (reply, result) =
            Reply::parse(&reply.payload).map_err(|e| llmspell_core::Error::execution(name, e))?;
        if self.propagation.include_metadata
            && let Some(m) = reply.metadata
        {
            ctx.metadata = m;
        }
        Ok(result)
    }
}

#[async_trait]
impl Hook for RemoteHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        Counters::add(&self.counters.hook_calls);
        let out = self.call(ctx).await;
        if out.is_err() {
            Counters::add(&self.counters.hook_failures);
        }
        out
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
