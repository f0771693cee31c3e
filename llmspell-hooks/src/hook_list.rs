//! A point's hooks in run order, cheap to copy on write.

use std::sync::Arc;

use crate::ActionSet;
use crate::registry::HookEntry;

/// Entries per chunk before a chunk is split.
const CHUNK: usize = 64;

/// A priority-ordered list of hook entries stored as shared chunks.
///
/// The registry replaces a point's list on every change (copy-on-write, so
/// firings never lock). Copying a flat list of `n` shared entries costs `n`
/// reference-count updates: ~15 µs to register into a list of 1,000 (measured
/// with a `Vec`, and worse with a general persistent vector). Here a copy
/// shares every chunk and duplicates only the one being changed, so a change
/// costs O(n / 64 + 64) updates whatever the length.
#[derive(Clone)]
pub(crate) struct HookList {
    chunks: Vec<Arc<Vec<Arc<HookEntry>>>>,
    len: usize,
    /// The union of the actions the entries declare they may return.
    returns: ActionSet,
}

impl Default for HookList {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
            returns: ActionSet::NONE,
        }
    }
}

impl HookList {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The actions any entry may return.
    pub(crate) fn returns(&self) -> ActionSet {
        self.returns
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<HookEntry>> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Inserts after every entry of higher or equal priority (so equal
    /// priorities keep registration order).
    pub(crate) fn insert(&mut self, entry: Arc<HookEntry>) {
        let p = entry.meta.priority;
        self.returns = self.returns.union(entry.meta.returns);
        let ci = self
            .chunks
            .iter()
            .position(|c| c.last().is_some_and(|last| last.meta.priority < p))
            .unwrap_or(self.chunks.len().saturating_sub(1));
        if self.chunks.is_empty() {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let chunk = Arc::make_mut(&mut self.chunks[ci]);
        let at = chunk.partition_point(|e| e.meta.priority >= p);
        chunk.insert(at, entry);
        if chunk.len() > 2 * CHUNK {
            let tail = chunk.split_off(CHUNK);
            self.chunks.insert(ci + 1, Arc::new(tail));
        }
        self.len += 1;
    }

    /// A list of `entries` in the given order (chunked as inserts would).
    pub(crate) fn from_ordered(entries: Vec<Arc<HookEntry>>) -> Self {
        let len = entries.len();
        let returns = entries
            .iter()
            .fold(ActionSet::NONE, |set, e| set.union(e.meta.returns));
        let chunks = entries
            .chunks(CHUNK)
            .map(|c| Arc::new(c.to_vec()))
            .collect();
        Self {
            chunks,
            len,
            returns,
        }
    }

    /// Whether any entry declares dependencies (so the order is not by
    /// priority alone).
    pub(crate) fn has_dependencies(&self) -> bool {
        self.iter().any(|e| !e.dependencies.is_empty())
    }

    /// Removes the entry with `id`; returns whether it was there.
    pub(crate) fn remove(&mut self, id: crate::HookId) -> bool {
        let Some((ci, i)) = self
            .chunks
            .iter()
            .enumerate()
            .find_map(|(ci, c)| c.iter().position(|e| e.id == id).map(|i| (ci, i)))
        else {
            return false;
        };
        let chunk = Arc::make_mut(&mut self.chunks[ci]);
        chunk.remove(i);
        if chunk.is_empty() {
            self.chunks.remove(ci);
        }
        self.len -= 1;
        self.returns = self
            .iter()
            .fold(ActionSet::NONE, |set, e| set.union(e.meta.returns));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HookOptions, HookPoint, HookRegistry, Priority};

    #[test]
    fn long_lists_keep_priority_then_registration_order() {
        let registry = HookRegistry::new();
        let mut expected = Vec::new();
        for i in 0..500u32 {
            let p = Priority((i % 7) as i32);
            let h = registry
                .register_with(
                    HookPoint::ToolError,
                    Arc::new(crate::sync_hook_fn(|_| Ok(crate::HookResult::Continue))),
                    HookOptions::new().priority(p),
                )
                .unwrap();
            expected.push((std::cmp::Reverse(p), h.forget()));
        }
        expected.sort_by_key(|(p, id)| (*p, *id));
        let listed: Vec<_> = registry
            .list(&crate::HookFilter::new())
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(
            listed,
            expected.iter().map(|(_, id)| *id).collect::<Vec<_>>()
        );
        for (_, id) in expected.iter().step_by(3) {
            assert!(registry.unregister(*id));
        }
        let left: Vec<_> = registry
            .list(&crate::HookFilter::new())
            .into_iter()
            .map(|h| h.id)
            .collect();
        let want: Vec<_> = expected
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, (_, id))| *id)
            .collect();
        assert_eq!(left, want);
    }
}
