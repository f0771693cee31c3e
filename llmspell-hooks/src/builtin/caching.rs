//! Serving repeated operations from a cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::canonical::canonical_json;
use super::{PointPhase, invalid};
use crate::{
    CacheStats, GuardedRunner, Hook, HookCache, HookContext, HookMetadata, HookResult,
    MemoryHookCache, Priority,
};

/// A custom cache key: the part after `<prefix><kind>:<name>:`; `None`
/// means "do not cache this call".
pub type CacheKeyFn = Arc<dyn Fn(&HookContext) -> Option<String> + Send + Sync>;

/// Makes repeated operations with the same input come from a cache.
///
/// At a Before point it returns `Cache { key, ttl }`; the
/// [`GuardedRunner`] then looks `key` up in *its* cache and, on a hit,
/// returns the stored output without running the operation (After hooks
/// still see it), or on a miss runs the operation and stores a successful
/// output for `ttl`. Failed operations are never stored.
///
/// **One cache for both.** The hook owns an `Arc<dyn HookCache>` (by default
/// a [`MemoryHookCache`] on moka, bounded by
/// [`max_entries`](CachingHookBuilder::max_entries)); give the same cache to
/// the runner with [`attach`](CachingHook::attach) (or
/// `runner.with_cache(hook.cache())`). A runner with another cache would
/// still skip operations on its own hits, but [`stats`](CachingHook::stats)
/// would not see them. To share a cache you already have, pass it with
/// [`cache`](CachingHookBuilder::cache).
///
/// **The key** is `<prefix><kind>:<name>:<sha256>` where the hash is over
/// the canonical JSON (keys sorted at every depth) of the input, plus the
/// metadata entries named by [`key_metadata`](CachingHookBuilder::key_metadata)
/// (include `tenant` when tenants must not share results). A
/// [`key_fn`](CachingHookBuilder::key_fn) replaces the hash part.
///
/// At other points it returns `Skipped`.
///
/// ```
/// use std::time::Duration;
/// use llmspell_hooks::builtin::CachingHook;
/// use llmspell_hooks::{GuardedRunner, HookExecutor, HookPoint, HookRegistry};
///
/// let registry = HookRegistry::new();
/// let cache = CachingHook::builder()
///     .ttl(Duration::from_secs(300))
///     .max_entries(50_000)
///     .key_metadata(["tenant"])
///     .build()?;
/// let runner = cache.attach(GuardedRunner::new(HookExecutor::new(registry.clone())));
/// let _h = registry.register(HookPoint::BeforeToolExecution, cache);
/// # let _ = runner;
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct CachingHook {
    cache: Arc<dyn HookCache>,
    ttl: Duration,
    ttl_for: HashMap<String, Duration>,
    prefix: String,
    key_metadata: Vec<String>,
    key_fn: Option<CacheKeyFn>,
    decisions: AtomicU64,
    metadata: HookMetadata,
}

/// Builds a [`CachingHook`].
#[must_use]
pub struct CachingHookBuilder {
    cache: Option<Arc<dyn HookCache>>,
    max_entries: u64,
    ttl: Duration,
    ttl_for: HashMap<String, Duration>,
    prefix: String,
    key_metadata: Vec<String>,
    key_fn: Option<CacheKeyFn>,
    name: String,
    priority: Priority,
}

impl Default for CachingHookBuilder {
    fn default() -> Self {
        Self {
            cache: None,
            max_entries: 10_000,
            ttl: Duration::from_secs(300),
            ttl_for: HashMap::new(),
            prefix: "hook-cache:".to_owned(),
            key_metadata: Vec::new(),
            key_fn: None,
            name: "builtin.caching".to_owned(),
            priority: Priority::LOW,
        }
    }
}

impl CachingHookBuilder {
    /// Uses this cache (share it with the runner). Default: a new
    /// [`MemoryHookCache`] of [`max_entries`](Self::max_entries).
    pub fn cache(mut self, cache: Arc<dyn HookCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The size bound of the cache the builder creates. Default 10,000;
    /// at least 1. Ignored with [`cache`](Self::cache).
    pub fn max_entries(mut self, max: u64) -> Self {
        self.max_entries = max;
        self
    }

    /// How long an output stays valid. Default 5 minutes; more than zero.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// A different ttl for the component named `name`.
    pub fn ttl_for(mut self, name: impl Into<String>, ttl: Duration) -> Self {
        self.ttl_for.insert(name.into(), ttl);
        self
    }

    /// The start of every key (keeps them apart from other users of a
    /// shared cache). Default `hook-cache:`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Metadata entries that are part of the key (`tenant`, `user`, …).
    pub fn key_metadata<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.key_metadata = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Computes the key's last part from the context; `None` skips caching
    /// for that call.
    pub fn key_fn(
        mut self,
        f: impl Fn(&HookContext) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.key_fn = Some(Arc::new(f));
        self
    }

    /// The hook's name. Default `builtin.caching`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `LOW`: validation, rate limits and
    /// budget guards at higher priorities run first.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a zero ttl,
    /// `max_entries` of 0, or an empty metadata key or name.
    pub fn build(self) -> crate::Result<CachingHook> {
        if self.ttl.is_zero() {
            return Err(invalid("ttl", "must be more than zero"));
        }
        if let Some((name, _)) = self.ttl_for.iter().find(|(_, t)| t.is_zero()) {
            return Err(invalid(
                "ttl_for",
                format!("the ttl of {name:?} must be more than zero"),
            ));
        }
        if self.cache.is_none() && self.max_entries == 0 {
            return Err(invalid("max_entries", "must be at least 1"));
        }
        if self.key_metadata.iter().any(String::is_empty) {
            return Err(invalid("key_metadata", "a metadata key is empty"));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let cache = self
            .cache
            .unwrap_or_else(|| Arc::new(MemoryHookCache::new(self.max_entries)));
        Ok(CachingHook {
            cache,
            ttl: self.ttl,
            ttl_for: self.ttl_for,
            prefix: self.prefix,
            key_metadata: self.key_metadata,
            key_fn: self.key_fn,
            decisions: AtomicU64::new(0),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("serves repeated operations from a cache"),
        })
    }
}

impl CachingHook {
    /// A builder with the defaults.
    pub fn builder() -> CachingHookBuilder {
        CachingHookBuilder::default()
    }

    /// The cache the runner must use for this hook's results.
    pub fn cache(&self) -> Arc<dyn HookCache> {
        self.cache.clone()
    }

    /// `runner` using this hook's cache.
    pub fn attach(&self, runner: GuardedRunner) -> GuardedRunner {
        runner.with_cache(self.cache())
    }

    /// The key this hook would use for `ctx`, or `None` if the key function
    /// declines it.
    pub fn key_for(&self, ctx: &HookContext) -> Option<String> {
        let mut key = format!(
            "{}{}:{}:",
            self.prefix, ctx.component.kind, ctx.component.name
        );
        match &self.key_fn {
            Some(f) => key.push_str(&f(ctx)?),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(canonical_json(&ctx.data).as_bytes());
                if !self.key_metadata.is_empty() {
                    let mut m = Map::new();
                    for k in &self.key_metadata {
                        if let Some(v) = ctx.metadata.get(k) {
                            m.insert(k.clone(), Value::String(v.clone()));
                        }
                    }
                    hasher.update(b"\n");
                    hasher.update(canonical_json(&Value::Object(m)).as_bytes());
                }
                key.push_str(&hex::encode(hasher.finalize()));
            }
        }
        Some(key)
    }

    /// The ttl used for `component`.
    pub fn ttl_of(&self, component: &str) -> Duration {
        self.ttl_for.get(component).copied().unwrap_or(self.ttl)
    }

    /// Drops the cached output for `ctx`'s key; returns the key.
    pub fn invalidate(&self, ctx: &HookContext) -> Option<String> {
        let key = self.key_for(ctx)?;
        self.cache.invalidate(&key);
        Some(key)
    }

    /// Hits, misses, evictions and entries of the shared cache.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// How many `Cache` results the hook returned.
    pub fn decisions(&self) -> u64 {
        self.decisions.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for CachingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingHook")
            .field("ttl", &self.ttl)
            .field("prefix", &self.prefix)
            .field("stats", &self.stats())
            .finish()
    }
}

#[async_trait]
impl Hook for CachingHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        if PointPhase::of(&ctx.point) != PointPhase::Before {
            return Ok(HookResult::Skipped(
                "caching applies at Before points".to_owned(),
            ));
        }
        let Some(key) = self.key_for(ctx) else {
            return Ok(HookResult::Skipped(
                "the key function declined this call".to_owned(),
            ));
        };
        self.decisions.fetch_add(1, Ordering::Relaxed);
        Ok(HookResult::Cache {
            key,
            ttl: self.ttl_of(&ctx.component.name),
        })
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HookPoint;
    use llmspell_core::ComponentId;
    use serde_json::json;

    #[test]
    fn keys_ignore_key_order_but_not_values_component_or_tenant() {
        let h = CachingHook::builder()
            .key_metadata(["tenant"])
            .build()
            .unwrap();
        let c = |name: &str, data: Value, tenant: &str| {
            HookContext::new(
                HookPoint::BeforeToolExecution,
                ComponentId::tool(name),
                data,
            )
            .with_metadata("tenant", tenant)
        };
        let a: Value = serde_json::from_str(r#"{"x":1,"y":{"b":2,"a":1}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":{"a":1,"b":2},"x":1}"#).unwrap();
        let k = h.key_for(&c("t", a.clone(), "acme")).unwrap();
        assert!(k.starts_with("hook-cache:tool:t:"), "{k}");
        assert_eq!(k, h.key_for(&c("t", b, "acme")).unwrap());
        assert_ne!(k, h.key_for(&c("t", json!({"x": 2}), "acme")).unwrap());
        assert_ne!(k, h.key_for(&c("u", a.clone(), "acme")).unwrap());
        assert_ne!(k, h.key_for(&c("t", a, "globex")).unwrap());
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(CachingHook::builder().ttl(Duration::ZERO).build().is_err());
        assert!(CachingHook::builder().max_entries(0).build().is_err());
        assert!(CachingHook::builder().key_metadata([""]).build().is_err());
    }
}
