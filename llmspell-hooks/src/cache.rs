//! The cache behind `HookResult::Cache`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::notification::RemovalCause;
use serde::Serialize;
use serde_json::Value;

/// Where the guarded runner keeps outputs that hooks asked to cache.
pub trait HookCache: Send + Sync {
    /// The value under `key`, if present and not expired.
    fn get(&self, key: &str) -> Option<Value>;
    /// Stores `value` under `key` for `ttl`.
    fn put(&self, key: &str, value: Value, ttl: Duration);
    /// Removes `key`.
    fn invalidate(&self, key: &str);
    /// Hit, miss and eviction counters.
    fn stats(&self) -> CacheStats;
}

/// Cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Lookups that found a value.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Entries removed for size or expiry.
    pub evictions: u64,
    /// Entries held now (approximate).
    pub entries: u64,
}

#[derive(Clone)]
struct Entry {
    value: Value,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// An in-memory [`HookCache`] on `moka`: bounded by entry count, each entry
/// expiring after its own ttl.
#[derive(Clone)]
pub struct MemoryHookCache {
    cache: moka::sync::Cache<String, Entry>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
    evictions: Arc<AtomicU64>,
}

impl MemoryHookCache {
    /// A cache holding at most `max_entries` entries.
    pub fn new(max_entries: u64) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counter = evictions.clone();
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_entries)
            .expire_after(PerEntryTtl)
            .eviction_listener(move |_k, _v, cause| {
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self {
            cache,
            hits: Arc::new(AtomicU64::new(0)),
            misses: Arc::new(AtomicU64::new(0)),
            evictions,
        }
    }

    /// Runs moka's pending maintenance (expiry, eviction) now; useful in tests.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}

impl Default for MemoryHookCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl HookCache for MemoryHookCache {
    fn get(&self, key: &str) -> Option<Value> {
        match self.cache.get(key) {
            Some(e) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(e.value)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn put(&self, key: &str, value: Value, ttl: Duration) {
        self.cache.insert(key.to_owned(), Entry { value, ttl });
    }

    fn invalidate(&self, key: &str) {
        self.cache.invalidate(key);
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
        }
    }
}

impl std::fmt::Debug for MemoryHookCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryHookCache")
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_expire_after_their_own_ttl() {
        let c = MemoryHookCache::new(100);
        c.put("short", json!(1), Duration::from_millis(20));
        c.put("long", json!(2), Duration::from_secs(60));
        assert_eq!(c.get("short"), Some(json!(1)));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("short"), None);
        assert_eq!(c.get("long"), Some(json!(2)));
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (2, 1));
    }

    #[test]
    fn size_bound_evicts() {
        let c = MemoryHookCache::new(10);
        for i in 0..200 {
            c.put(&format!("k{i}"), json!(i), Duration::from_secs(60));
        }
        c.run_pending_tasks();
        assert!(c.stats().entries <= 10, "{:?}", c.stats());
        assert!(c.stats().evictions > 0);
    }
}
