//! Per-topic-prefix counters and a sliding-window publish rate.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::Topic;

/// The most distinct prefixes counted; later prefixes count under `"_other"`
/// so memory stays bounded whatever topics are published.
pub const MAX_PREFIXES: usize = 1024;

/// The label counting prefixes beyond [`MAX_PREFIXES`].
pub const OTHER_PREFIX: &str = "_other";

const BUCKETS: usize = 64;

/// Publish counters by topic prefix and a publish rate over a sliding window
/// of one-second buckets (the last 60 seconds are kept).
pub struct EventMetrics {
    depth: usize,
    counters: ArcSwap<HashMap<Box<str>, Arc<AtomicU64>, foldhash::fast::RandomState>>,
    grow: Mutex<()>,
    stamps: [AtomicU64; BUCKETS],
    counts: [AtomicU64; BUCKETS],
}

impl EventMetrics {
    pub(crate) fn new(depth: usize) -> Self {
        Self {
            depth,
            counters: ArcSwap::from_pointee(HashMap::default()),
            grow: Mutex::new(()),
            stamps: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one publish of `topic` at unix second `second` (the event's
    /// timestamp, so replayed history does not inflate the live rate).
    pub(crate) fn record(&self, topic: &Topic, second: i64) {
        let prefix = topic.prefix(self.depth);
        let counters = self.counters.load();
        match counters.get(prefix) {
            Some(c) => {
                c.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                drop(counters);
                self.add_prefix(prefix);
            }
        }
        self.tick(second);
    }

    fn add_prefix(&self, prefix: &str) {
        let _guard = self.grow.lock();
        let current = self.counters.load();
        if let Some(c) = current.get(prefix) {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let key: &str = if current.len() >= MAX_PREFIXES {
            OTHER_PREFIX
        } else {
            prefix
        };
        if let Some(c) = current.get(key) {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut next = HashMap::clone(&current);
        next.insert(Box::from(key), Arc::new(AtomicU64::new(1)));
        self.counters.store(Arc::new(next));
    }

    fn tick(&self, second: i64) {
        let Ok(sec) = u64::try_from(second) else {
            return;
        };
        let i = (sec % BUCKETS as u64) as usize;
        let stamp = self.stamps[i].load(Ordering::Acquire);
        if stamp != sec
            && self.stamps[i]
                .compare_exchange(stamp, sec, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.counts[i].store(0, Ordering::Release);
        }
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Events published per topic prefix, sorted by prefix.
    pub fn counts_by_prefix(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .counters
            .load()
            .iter()
            .map(|(k, c)| (k.to_string(), c.load(Ordering::Relaxed)))
            .collect();
        v.sort();
        v
    }

    /// Events published under one prefix.
    pub fn count(&self, prefix: &str) -> u64 {
        self.counters
            .load()
            .get(prefix)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Average publishes per second over the last `window_secs` complete
    /// seconds (1 ..= 60). The window is approximate at bucket boundaries.
    pub fn rate_per_sec(&self, window_secs: u64) -> f64 {
        let window = window_secs.clamp(1, 60);
        let now = now_second();
        let oldest = now.saturating_sub(window);
        let mut total = 0u64;
        for i in 0..BUCKETS {
            let stamp = self.stamps[i].load(Ordering::Acquire);
            if stamp != u64::MAX && stamp >= oldest && stamp < now {
                total += self.counts[i].load(Ordering::Relaxed);
            }
        }
        total as f64 / window as f64
    }

    /// Publishes counted in the current (incomplete) second.
    pub fn current_second(&self) -> u64 {
        let sec = now_second();
        let i = (sec % BUCKETS as u64) as usize;
        if self.stamps[i].load(Ordering::Acquire) == sec {
            self.counts[i].load(Ordering::Relaxed)
        } else {
            0
        }
    }
}

fn now_second() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl std::fmt::Debug for EventMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventMetrics")
            .field("prefix_depth", &self.depth)
            .field("prefixes", &self.counters.load().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_prefix_at_depth() {
        let m = EventMetrics::new(2);
        let now = now_second() as i64;
        for t in [
            "tool.calc.completed",
            "tool.calc.started",
            "tool.fs.completed",
            "agent",
        ] {
            m.record(&Topic::new(t).unwrap(), now);
        }
        assert_eq!(m.count("tool.calc"), 2);
        assert_eq!(m.count("tool.fs"), 1);
        assert_eq!(m.count("agent"), 1);
        assert_eq!(m.current_second(), 4);
    }

    #[test]
    fn prefixes_are_bounded() {
        let m = EventMetrics::new(1);
        for i in 0..(MAX_PREFIXES + 10) {
            m.record(&Topic::new(format!("p{i}.x")).unwrap(), 0);
        }
        assert_eq!(m.counts_by_prefix().len(), MAX_PREFIXES + 1);
        assert_eq!(m.count(OTHER_PREFIX), 10);
    }
}
