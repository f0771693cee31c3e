//! The context an operation runs in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Language;

/// Who asked for an operation and how it relates to others.
///
/// The correlation id ties together everything one operation causes (hooks,
/// events, nested calls); `parent_id` points at the operation that started this
/// one, so nested agent → tool → workflow calls form a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionContext {
    /// Identifies this operation across hooks and events.
    pub correlation_id: Uuid,
    /// The correlation id of the operation that started this one, if any.
    pub parent_id: Option<Uuid>,
    /// The language that started the operation.
    pub language: Language,
    /// Free-form string metadata (tenant, user, attempt, ...).
    pub metadata: BTreeMap<String, String>,
}

impl ExecutionContext {
    /// A root context for `language` with a fresh correlation id.
    pub fn new(language: Language) -> Self {
        Self {
            correlation_id: crate::clock::new_v7(),
            parent_id: None,
            language,
            metadata: BTreeMap::new(),
        }
    }

    /// A root context for native (Rust) callers.
    pub fn native() -> Self {
        Self::new(Language::Native)
    }

    /// A context for an operation started by this one: a fresh correlation id
    /// whose parent is this context's correlation id. Language and metadata
    /// are inherited.
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            correlation_id: crate::clock::new_v7(),
            parent_id: Some(self.correlation_id),
            language: self.language,
            metadata: self.metadata.clone(),
        }
    }

    /// Uses `id` as the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = id;
        self
    }

    /// Sets the parent correlation id.
    #[must_use]
    pub fn with_parent(mut self, parent: Uuid) -> Self {
        self.parent_id = Some(parent);
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
        assert_eq!(child.parent_id, Some(root.correlation_id));
        assert_ne!(child.correlation_id, root.correlation_id);
        assert_eq!(child.language, Language::Lua);
        assert_eq!(
            child.metadata.get("tenant").map(String::as_str),
            Some("acme")
        );
    }

    #[test]
    fn serialises_to_stable_json() {
        let ctx = ExecutionContext::native();
        let v = serde_json::to_value(&ctx).unwrap();
        assert_eq!(v["language"], "native");
        assert!(v["parent_id"].is_null());
        let back: ExecutionContext = serde_json::from_value(v).unwrap();
        assert_eq!(back, ctx);
    }
}
