//! Hook contexts that travel between machines.

use llmspell_core::CorrelationId;
use serde::{Deserialize, Serialize};

use crate::HookContext;

/// What a forwarded context carries along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropagationFlags {
    /// Hooks of operations started by this one see the context too.
    pub to_children: bool,
    /// The context may be forwarded to other nodes.
    pub to_remote: bool,
    /// Forwarded copies keep `data` (off: data is replaced by `null`).
    pub include_data: bool,
    /// Forwarded copies keep `metadata`.
    pub include_metadata: bool,
}

impl Default for PropagationFlags {
    fn default() -> Self {
        Self {
            to_children: true,
            to_remote: true,
            include_data: true,
            include_metadata: true,
        }
    }
}

/// A [`HookContext`] prepared to cross machines: the remote agent it
/// concerns, the nodes it has passed, a hop limit and what to propagate.
/// Serialises to JSON for any transport.
///
/// It is what travels with a remote hook call and with events bridged
/// between hosts over NATS; until that bridge lands, Rust applications
/// that forward hook calls themselves are its only users.
///
/// ```
/// use llmspell_core::ComponentId;
/// use llmspell_hooks::{DistributedHookContext, HookContext, HookPoint};
///
/// let ctx = HookContext::new(HookPoint::BeforeAgentExecution, ComponentId::agent("planner"), serde_json::json!({}));
/// let here = DistributedHookContext::new(ctx, "node-a").with_remote_agent("agent-7");
/// let there = here.forward("node-b")?;
/// assert_eq!(there.hops, ["node-a", "node-b"]);
/// assert!(there.forward("node-a").is_err(), "loops are refused");
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedHookContext {
    /// The context itself.
    pub context: HookContext,
    /// The remote agent the operation concerns.
    pub remote_agent_id: Option<String>,
    /// One id for the whole distributed trace (the origin's correlation id).
    pub trace_id: CorrelationId,
    /// The nodes passed, origin first.
    pub hops: Vec<String>,
    /// The most nodes the context may visit.
    pub max_hops: usize,
    /// What to propagate.
    pub propagation: PropagationFlags,
}

impl DistributedHookContext {
    /// The default hop limit.
    pub const DEFAULT_MAX_HOPS: usize = 8;

    /// Wraps `context`, starting at node `origin`.
    pub fn new(context: HookContext, origin: impl Into<String>) -> Self {
        Self {
            trace_id: context.trace_id().clone(),
            context,
            remote_agent_id: None,
            hops: vec![origin.into()],
            max_hops: Self::DEFAULT_MAX_HOPS,
            propagation: PropagationFlags::default(),
        }
    }

    /// Names the remote agent.
    #[must_use]
    pub fn with_remote_agent(mut self, id: impl Into<String>) -> Self {
        self.remote_agent_id = Some(id.into());
        self
    }

    /// Sets the propagation flags.
    #[must_use]
    pub fn with_propagation(mut self, flags: PropagationFlags) -> Self {
        self.propagation = flags;
        self
    }

    /// Sets the hop limit.
    #[must_use]
    pub fn with_max_hops(mut self, max: usize) -> Self {
        self.max_hops = max;
        self
    }

    /// The node the context is at now.
    pub fn current_node(&self) -> &str {
        self.hops.last().map_or("", String::as_str)
    }

    /// A copy for node `to`, with data and metadata kept or dropped as the
    /// flags say.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] when remote propagation is off, the
    /// node was already visited (a loop) or the hop limit is reached.
    pub fn forward(&self, to: impl Into<String>) -> crate::Result<Self> {
        let to = to.into();
        let refuse = |message: String| crate::Error::InvalidConfig {
            field: "propagation",
            message,
        };
        if !self.propagation.to_remote {
            return Err(refuse(
                "remote propagation is off for this context".to_owned(),
            ));
        }
        if self.hops.contains(&to) {
            return Err(refuse(format!(
                "{to:?} was already visited ({:?}); forwarding would loop",
                self.hops
            )));
        }
        if self.hops.len() >= self.max_hops {
            return Err(refuse(format!(
                "the hop limit of {} is reached",
                self.max_hops
            )));
        }
        let mut next = self.clone();
        next.hops.push(to);
        if !self.propagation.include_data {
            next.context.data = serde_json::Value::Null;
        }
        if !self.propagation.include_metadata {
            next.context.metadata.clear();
        }
        Ok(next)
    }

    /// The JSON form.
    ///
    /// # Errors
    /// Never in practice; serde's error is passed on.
    pub fn to_json(&self) -> crate::Result<String> {
        serde_json::to_string(self).map_err(|e| crate::Error::InvalidConfig {
            field: "context",
            message: e.to_string(),
        })
    }

    /// Parses the JSON form.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] naming what did not decode.
    pub fn from_json(text: &str) -> crate::Result<Self> {
        serde_json::from_str(text).map_err(|e| crate::Error::InvalidConfig {
            field: "context",
            message: format!("not a distributed hook context: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HookPoint;
    use llmspell_core::ComponentId;
    use serde_json::json;

    fn ctx() -> DistributedHookContext {
        let c = HookContext::new(
            HookPoint::BeforeAgentExecution,
            ComponentId::agent("a"),
            json!({"secret": 1}),
        )
        .with_metadata("tenant", "acme");
        DistributedHookContext::new(c, "n1")
    }

    #[test]
    fn round_trips_through_json() {
        let d = ctx().with_remote_agent("r-1").forward("n2").unwrap();
        let back = DistributedHookContext::from_json(&d.to_json().unwrap()).unwrap();
        assert_eq!(back, d);
        assert!(DistributedHookContext::from_json("{}").is_err());
    }

    #[test]
    fn a_chosen_correlation_id_is_the_trace_id_and_travels() {
        let c = HookContext::new(
            HookPoint::BeforeAgentExecution,
            ComponentId::agent("a"),
            json!({}),
        )
        .with_correlation_id(CorrelationId::new("req-42").unwrap())
        .with_parent_id(CorrelationId::new("upstream-7").unwrap());
        let d = DistributedHookContext::new(c, "n1").forward("n2").unwrap();
        assert_eq!(d.trace_id, "req-42");
        let text = d.to_json().unwrap();
        assert!(text.contains("\"trace_id\":\"req-42\""), "{text}");
        let back = DistributedHookContext::from_json(&text).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.context.parent_id.unwrap(), "upstream-7");
    }

    #[test]
    fn flags_strip_data_and_limit_hops() {
        let d = ctx().with_propagation(PropagationFlags {
            include_data: false,
            include_metadata: false,
            ..Default::default()
        });
        let f = d.forward("n2").unwrap();
        assert!(f.context.data.is_null() && f.context.metadata.is_empty());
        assert_eq!(f.trace_id, d.context.correlation_id);
        let limited = ctx().with_max_hops(2).forward("n2").unwrap();
        assert!(
            limited
                .forward("n3")
                .unwrap_err()
                .to_string()
                .contains("hop limit")
        );
        let local = ctx().with_propagation(PropagationFlags {
            to_remote: false,
            ..Default::default()
        });
        assert!(local.forward("n2").is_err());
    }
}
