//! Atomic batches of writes.

use crate::{Result, validate_key};

/// One write in a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Store `value` under `key`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` (no error if absent).
    Delete {
        /// The key.
        key: String,
    },
}

impl BatchOp {
    /// The key this op writes.
    pub fn key(&self) -> &str {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

/// Writes applied all together or not at all.
///
/// Ops apply in order, so a later op on the same key wins. Every key is
/// validated before anything is written: one bad key rejects the whole batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.push_put(key, value);
        self
    }

    /// Adds a delete.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.push_delete(key);
        self
    }

    /// Adds a put in place.
    pub fn push_put(&mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put {
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a delete in place.
    pub fn push_delete(&mut self, key: impl Into<String>) {
        self.ops.push(BatchOp::Delete { key: key.into() });
    }

    /// The ops in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Consumes the batch into its ops.
    pub fn into_ops(self) -> Vec<BatchOp> {
        self.ops
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no ops.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Validates every key.
    ///
    /// # Errors
    /// The first invalid key.
    pub fn validate(&self) -> Result<()> {
        self.ops.iter().try_for_each(|op| validate_key(op.key()))
    }
}
