//! The context an operation runs in.

use std::collections::BTreeMap;

use crate::{CorrelationId, Language};
use serde::{Deserialize, Serialize};

/// Who asked for an operation and how it relates to others.
///
/// The correlation id ties together everything one operation causes (hooks,
/// events, nested calls); `parent_id` points at the operation that started this
/// one, so nested agent → tool → workflow calls form a tree. Generated ids are
/// UUID v7; a caller may choose its own (see [`CorrelationId`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionContext {
    /// Identifies this operation across hooks and events.
    pub correlation_id: CorrelationId,
    /// The correlation id of the operation that started this one, if any.
    pub parent_id: Option<CorrelationId>,
    /// The correlation id of the operation at the root of this one's tree
    /// (the trace it belongs to); `None` when this operation is the root or
    /// the root is not known. [`child`](Self::child) carries it down; it
    /// travels with the context between processes. See
    /// [`trace_id`](Self::trace_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<CorrelationId>,
    /// The language that started the operation.
    pub language: Language,
    /// The attempt number of a retried operation: 1 for the first run, 2, 3,
    /// … when a hook or a retry policy runs it again.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// How many workflows this operation runs inside: 0 outside any, 1 for
    /// the steps of a top-level workflow (the nesting limit is checked
    /// against it).
    #[serde(default)]
    pub workflow_depth: u32,
    /// Free-form string metadata (tenant, user, ...).
    pub metadata: BTreeMap<String, String>,
}

fn first_attempt() -> u32 {
    1
}

impl ExecutionContext {
    /// A root context for `language` with a fresh correlation id.
    pub fn new(language: Language) -> Self {
        Self {
            correlation_id: CorrelationId::new_v7(),
            parent_id: None,
            trace_id: None,
            language,
            attempt: 1,
            workflow_depth: 0,
            metadata: BTreeMap::new(),
        }
    }

    /// A root context for native (Rust) callers.
    pub fn native() -> Self {
        Self::new(Language::Native)
    }

    /// The id of the trace this operation belongs to: the root's
    /// correlation id, or this operation's own when it is the root.
    pub fn trace_id(&self) -> &CorrelationId {
        self.trace_id.as_ref().unwrap_or(&self.correlation_id)
    }

    /// A context for an operation started by this one: a fresh correlation id
    /// whose parent is this context's correlation id, in the same trace.
    /// Language, workflow depth and metadata are inherited; the child is its
    /// own first attempt.
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            correlation_id: CorrelationId::new_v7(),
            parent_id: Some(self.correlation_id.clone()),
            trace_id: Some(self.trace_id().clone()),
            language: self.language,
            attempt: 1,
            workflow_depth: self.workflow_depth,
            metadata: self.metadata.clone(),
        }
    }

    /// Sets the attempt number (1 for the first).
    #[must_use]
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// Sets the workflow nesting depth.
    #[must_use]
    pub fn with_workflow_depth(mut self, depth: u32) -> Self {
        self.workflow_depth = depth;
        self
    }

    /// Uses `id` as the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: impl Into<CorrelationId>) -> Self {
        self.correlation_id = id.into();
        self
    }

    /// Sets the parent correlation id.
    #[must_use]
    pub fn with_parent(mut self, parent: impl Into<CorrelationId>) -> Self {
        self.parent_id = Some(parent.into());
        self
    }

    /// Sets the id of the trace this operation belongs to (the root
    /// operation's correlation id).
    #[must_use]
    pub fn with_trace_id(mut self, trace: impl Into<CorrelationId>) -> Self {
        self.trace_id = Some(trace.into());
        self
    }

    /// Adds one metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

impl Default for ExecutionContext {
    fn default() -> Self {
        Self::native()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_links_to_parent_and_inherits() {
        let root = ExecutionContext::new(Language::Lua).with_metadata("tenant", "acme");
        let child = root.child();
        assert_eq!(child.parent_id, Some(root.correlation_id.clone()));
        assert_ne!(child.correlation_id, root.correlation_id);
        assert_eq!(child.language, Language::Lua);
        assert_eq!(
            child.metadata.get("tenant").map(String::as_str),
            Some("acme")
        );
        assert_eq!(
            root.trace_id(),
            &root.correlation_id,
            "a root is its own trace"
        );
        let grandchild = child.child();
        assert_eq!(child.trace_id(), &root.correlation_id);
        assert_eq!(
            grandchild.trace_id(),
            &root.correlation_id,
            "the trace is the root's"
        );
        let v = serde_json::to_value(&grandchild).unwrap();
        let back: ExecutionContext = serde_json::from_value(v).unwrap();
        assert_eq!(back.trace_id(), &root.correlation_id, "it travels");
    }

    #[test]
    fn serialises_to_stable_json() {
        let ctx = ExecutionContext::native();
        let v = serde_json::to_value(&ctx).unwrap();
        assert_eq!(v["language"], "native");
        assert!(v["parent_id"].is_null());
        assert_eq!(
            (v["attempt"].clone(), v["workflow_depth"].clone()),
            (1.into(), 0.into())
        );
        let back: ExecutionContext = serde_json::from_value(v).unwrap();
        assert_eq!(back, ctx);
        let old: ExecutionContext = serde_json::from_value(serde_json::json!({
            "correlation_id": "req-1", "parent_id": null, "language": "lua", "metadata": {}
        }))
        .unwrap();
        assert_eq!(
            (old.attempt, old.workflow_depth),
            (1, 0),
            "older JSON without the typed fields"
        );
    }

    #[test]
    fn chosen_ids_carry_over_to_children_and_through_json() {
        let root = ExecutionContext::native()
            .with_correlation_id(CorrelationId::new("req-42").unwrap())
            .with_parent(CorrelationId::new("upstream-7").unwrap());
        let child = root.child();
        assert_eq!(child.parent_id.as_ref().unwrap(), "req-42");
        assert!(child.correlation_id.as_uuid().is_some());
        let v = serde_json::to_value(&root).unwrap();
        assert_eq!(v["correlation_id"], "req-42");
        assert_eq!(v["parent_id"], "upstream-7");
        let back: ExecutionContext = serde_json::from_value(v).unwrap();
        assert_eq!(back, root);
    }
}
