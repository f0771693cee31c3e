//! A bounded set of recent event ids: what this host has delivered from
//! NATS (de-duplication, and no echo back out).

use std::collections::{HashSet, VecDeque};

/// The set's hasher: foldhash, randomly seeded per process (SipHash was a
/// noticeable share of a bridged event's cost).
type Fast = foldhash::fast::RandomState;

use parking_lot::Mutex;
use uuid::Uuid;

/// The most recent `capacity` ids; the oldest is forgotten first.
#[derive(Debug)]
pub(crate) struct SeenIds {
    inner: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    set: HashSet<Uuid, Fast>,
    order: VecDeque<Uuid>,
    capacity: usize,
}

impl SeenIds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            // Grown as ids come: a link that bridges little stays small.
            inner: Mutex::new(Ring {
                set: HashSet::with_hasher(Fast::default()),
                order: VecDeque::new(),
                capacity: capacity.max(1),
            }),
        }
    }

    /// Adds `id`; false when it was already there.
    pub(crate) fn insert(&self, id: Uuid) -> bool {
        let mut r = self.inner.lock();
        if !r.set.insert(id) {
            return false;
        }
        r.order.push_back(id);
        if r.order.len() > r.capacity
            && let Some(old) = r.order.pop_front()
        {
            r.set.remove(&old);
        }
        true
    }

    /// Whether `id` is there.
    pub(crate) fn contains(&self, id: &Uuid) -> bool {
        self.inner.lock().set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_ids() {
        let seen = SeenIds::new(2);
        let [a, b, c] = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        assert!(seen.insert(a) && seen.insert(b));
        assert!(!seen.insert(a));
        assert!(seen.insert(c));
        assert!(!seen.contains(&a) && seen.contains(&b) && seen.contains(&c));
    }
}
