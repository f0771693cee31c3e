//! Per-key rate limits on `governor`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::invalid;
use crate::{Hook, HookContext, HookMetadata, HookResult, Priority};

/// The bucket of calls whose key cannot be determined (the metadata field is missing).
const MISSING_KEY: &str = "(none)";
/// How often (in checks) idle keys are pruned from the default limiter.
const PRUNE_EVERY: u64 = 4096;

/// A quota: a burst of calls that replenishes one call per interval.
///
/// ```
/// use std::time::Duration;
/// use llmspell_hooks::builtin::RateQuota;
/// let q = RateQuota::per_minute(60).burst(10);
/// assert_eq!(q.replenish_interval(), Duration::from_secs(1));
/// assert_eq!(q.max_burst(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    burst: u32,
    replenish: Duration,
}

impl RateQuota {
    /// `n` calls per second, all of which may come at once.
    pub fn per_second(n: u32) -> Self {
        Self::spread(n, Duration::from_secs(1))
    }

    /// `n` calls per minute, all of which may come at once.
    pub fn per_minute(n: u32) -> Self {
        Self::spread(n, Duration::from_secs(60))
    }

    /// `n` calls per hour, all of which may come at once.
    pub fn per_hour(n: u32) -> Self {
        Self::spread(n, Duration::from_secs(3600))
    }

    /// One call per `interval`, burst 1.
    pub fn with_period(interval: Duration) -> Self {
        Self {
            burst: 1,
            replenish: interval,
        }
    }

    /// Sets the burst: how many calls may come at once after a quiet time.
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// The largest burst.
    pub fn max_burst(&self) -> u32 {
        self.burst
    }

    /// The time one call's allowance takes to come back.
    pub fn replenish_interval(&self) -> Duration {
        self.replenish
    }

    fn spread(n: u32, period: Duration) -> Self {
        Self {
            burst: n,
            replenish: if n == 0 { Duration::ZERO } else { period / n },
        }
    }

    fn to_governor(self) -> crate::Result<Quota> {
        let burst = NonZeroU32::new(self.burst)
            .ok_or_else(|| invalid("quota", "a quota needs a burst of at least 1 call"))?;
        let quota = Quota::with_period(self.replenish)
            .ok_or_else(|| invalid("quota", "a quota needs a rate of at least 1 call"))?;
        Ok(quota.allow_burst(burst))
    }
}

/// Computes a rate-limit key from the context; `None` means the `(none)` bucket.
pub type RateKeyFn = Arc<dyn Fn(&HookContext) -> Option<String> + Send + Sync>;

/// What a [`RateLimitHook`] counts calls by.
#[derive(Clone)]
pub enum RateKey {
    /// The component's name: each tool, agent, … has its own quota.
    Component,
    /// A metadata field (`tenant`, `user`, …): each value has its own
    /// quota. Calls without the field share one bucket, `(none)`.
    Metadata(String),
    /// A function of the context; `None` puts the call in the `(none)` bucket.
    Fn(RateKeyFn),
}

impl std::fmt::Debug for RateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateKey::Component => f.write_str("Component"),
            RateKey::Metadata(m) => f.debug_tuple("Metadata").field(m).finish(),
            RateKey::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

/// What a [`RateLimitHook`] does with a call over its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitMode {
    /// Cancel it, naming the key and when to try again.
    Cancel,
    /// Return `Retry { delay: wait }` so the runner waits until the quota
    /// allows the call and runs the guarded sequence again; cancel instead
    /// once `max_attempts` attempts were made or when the wait would exceed
    /// `max_wait`.
    Retry {
        /// Attempts in total, the first included (the runner also caps this).
        max_attempts: u32,
        /// The longest wait worth retrying for.
        max_wait: Duration,
    },
}

struct Limiters {
    default_quota: RateQuota,
    default: Arc<DefaultKeyedRateLimiter<String>>,
    overrides: HashMap<String, (RateQuota, Arc<DefaultDirectRateLimiter>)>,
}

/// Limits how often operations run, per key, with `governor`'s GCRA
/// limiters: a default quota for every key (one keyed limiter) and per-key
/// overrides, all changeable at runtime.
///
/// Register it at Before points. Within quota it returns `Continue`; over
/// quota, in [`RateLimitMode::Cancel`] it returns `Cancel`, in
/// [`RateLimitMode::Retry`] it returns `Retry { delay, max_attempts }` with
/// the wait `governor` computed, so the [`GuardedRunner`](crate::GuardedRunner)
/// sleeps and re-runs the Before hooks (this one included) and then the
/// operation.
///
/// Changing a key's quota ([`set_quota`](RateLimitHook::set_quota)) starts
/// that key afresh; changing the default quota starts every key without an
/// override afresh. Idle keys are pruned from the default limiter every
/// 4096 checks, so memory follows the keys active within one replenish
/// period.
///
/// ```
/// use std::time::Duration;
/// use llmspell_hooks::builtin::{RateKey, RateLimitHook, RateLimitMode, RateQuota};
///
/// let limiter = RateLimitHook::builder()
///     .key(RateKey::Metadata("tenant".into()))
///     .default_quota(RateQuota::per_minute(60).burst(10))
///     .quota_for("enterprise", RateQuota::per_second(100))
///     .mode(RateLimitMode::Retry { max_attempts: 5, max_wait: Duration::from_secs(2) })
///     .build()?;
/// limiter.set_quota("trial", RateQuota::per_hour(20))?;
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct RateLimitHook {
    key: RateKey,
    mode: RateLimitMode,
    limiters: ArcSwap<Limiters>,
    checks: AtomicU64,
    limited: AtomicU64,
    metadata: HookMetadata,
}

/// Builds a [`RateLimitHook`].
#[derive(Debug)]
#[must_use]
pub struct RateLimitHookBuilder {
    key: RateKey,
    mode: RateLimitMode,
    default_quota: RateQuota,
    overrides: Vec<(String, RateQuota)>,
    name: String,
    priority: Priority,
}

impl Default for RateLimitHookBuilder {
    fn default() -> Self {
        Self {
            key: RateKey::Component,
            mode: RateLimitMode::Cancel,
            default_quota: RateQuota::per_second(10),
            overrides: Vec::new(),
            name: "builtin.rate_limit".to_owned(),
            priority: Priority::HIGH,
        }
    }
}

impl RateLimitHookBuilder {
    /// What calls are counted by. Default [`RateKey::Component`].
    pub fn key(mut self, key: RateKey) -> Self {
        self.key = key;
        self
    }

    /// What happens over quota. Default [`RateLimitMode::Cancel`].
    pub fn mode(mut self, mode: RateLimitMode) -> Self {
        self.mode = mode;
        self
    }

    /// The quota of every key without its own. Default 10 per second.
    pub fn default_quota(mut self, quota: RateQuota) -> Self {
        self.default_quota = quota;
        self
    }

    /// The quota of one key.
    pub fn quota_for(mut self, key: impl Into<String>, quota: RateQuota) -> Self {
        self.overrides.push((key.into(), quota));
        self
    }

    /// The hook's name. Default `builtin.rate_limit`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `HIGH`: limited calls are refused
    /// before cheaper hooks (caching) decide.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a quota with
    /// a zero burst or rate, an empty metadata field, or a retry mode with
    /// `max_attempts` under 2 or a zero `max_wait`.
    pub fn build(self) -> crate::Result<RateLimitHook> {
        if let RateKey::Metadata(field) = &self.key
            && field.is_empty()
        {
            return Err(invalid("key", "the metadata field is empty"));
        }
        if let RateLimitMode::Retry {
            max_attempts,
            max_wait,
        } = self.mode
        {
            if max_attempts < 2 {
                return Err(invalid(
                    "mode",
                    format!("retry mode needs max_attempts of at least 2, got {max_attempts}"),
                ));
            }
            if max_wait.is_zero() {
                return Err(invalid("mode", "retry mode needs a max_wait above zero"));
            }
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let default = Arc::new(RateLimiter::keyed(self.default_quota.to_governor()?));
        let mut overrides = HashMap::new();
        for (k, q) in self.overrides {
            let limiter = Arc::new(RateLimiter::direct(q.to_governor()?));
            overrides.insert(k, (q, limiter));
        }
        Ok(RateLimitHook {
            key: self.key,
            mode: self.mode,
            limiters: ArcSwap::from_pointee(Limiters {
                default_quota: self.default_quota,
                default,
                overrides,
            }),
            checks: AtomicU64::new(0),
            limited: AtomicU64::new(0),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("per-key rate limits"),
        })
    }
}

impl RateLimitHook {
    /// A builder with the defaults.
    pub fn builder() -> RateLimitHookBuilder {
        RateLimitHookBuilder::default()
    }

    /// The key `ctx` is counted under.
    pub fn key_of(&self, ctx: &HookContext) -> String {
        let key = match &self.key {
            RateKey::Component => Some(ctx.component.name.to_string()),
            RateKey::Metadata(field) => ctx.metadata.get(field).cloned(),
            RateKey::Fn(f) => f(ctx),
        };
        key.unwrap_or_else(|| MISSING_KEY.to_owned())
    }

    /// Takes one call's allowance for `key`: `Ok` if within quota, otherwise
    /// `Err(wait)` with the time until a call would be allowed.
    ///
    /// # Errors
    /// The wait, when `key` is over its quota.
    pub fn try_acquire(&self, key: &str) -> Result<(), Duration> {
        let limiters = self.limiters.load();
        let checks = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        let outcome = match limiters.overrides.get(key) {
            Some((_, limiter)) => limiter
                .check()
                .map_err(|nu| nu.wait_time_from(limiter.clock().now())),
            None => {
                if checks.is_multiple_of(PRUNE_EVERY) {
                    limiters.default.retain_recent();
                }
                limiters
                    .default
                    .check_key(&key.to_owned())
                    .map_err(|nu| nu.wait_time_from(limiters.default.clock().now()))
            }
        };
        if outcome.is_err() {
            self.limited.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    /// Sets the quota of `key` (it starts afresh).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a zero burst or rate.
    pub fn set_quota(&self, key: impl Into<String>, quota: RateQuota) -> crate::Result<()> {
        let governed = quota.to_governor()?;
        let key = key.into();
        self.limiters.rcu(|cur| {
            let mut overrides = cur.overrides.clone();
            overrides.insert(
                key.clone(),
                (quota, Arc::new(RateLimiter::direct(governed))),
            );
            Limiters {
                default_quota: cur.default_quota,
                default: cur.default.clone(),
                overrides,
            }
        });
        Ok(())
    }

    /// Removes `key`'s own quota (it falls back to the default); returns
    /// whether it had one.
    pub fn remove_quota(&self, key: &str) -> bool {
        let mut had = false;
        self.limiters.rcu(|cur| {
            let mut overrides = cur.overrides.clone();
            had = overrides.remove(key).is_some();
            Limiters {
                default_quota: cur.default_quota,
                default: cur.default.clone(),
                overrides,
            }
        });
        had
    }

    /// Sets the default quota (every key without its own starts afresh).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a zero burst or rate.
    pub fn set_default_quota(&self, quota: RateQuota) -> crate::Result<()> {
        let governed = quota.to_governor()?;
        self.limiters.rcu(|cur| Limiters {
            default_quota: quota,
            default: Arc::new(RateLimiter::keyed(governed)),
            overrides: cur.overrides.clone(),
        });
        Ok(())
    }

    /// The quota that applies to `key`.
    pub fn quota_of(&self, key: &str) -> RateQuota {
        let l = self.limiters.load();
        l.overrides.get(key).map_or(l.default_quota, |(q, _)| *q)
    }

    /// Calls refused or delayed so far.
    pub fn limited(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for RateLimitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = self.limiters.load();
        f.debug_struct("RateLimitHook")
            .field("key", &self.key)
            .field("mode", &self.mode)
            .field("default_quota", &l.default_quota)
            .field("overrides", &l.overrides.len())
            .finish()
    }
}

#[async_trait]
impl Hook for RateLimitHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let key = self.key_of(ctx);
        let Err(wait) = self.try_acquire(&key) else {
            return Ok(HookResult::Continue);
        };
        let quota = self.quota_of(&key);
        let over = format!(
            "rate limit exceeded for {key:?} (burst {}, one call per {} ms)",
            quota.max_burst(),
            quota.replenish_interval().as_millis()
        );
        match self.mode {
            RateLimitMode::Cancel => Ok(HookResult::Cancel(format!(
                "{over}; retry in {} ms",
                wait.as_millis().max(1)
            ))),
            RateLimitMode::Retry {
                max_attempts,
                max_wait,
            } => {
                if wait > max_wait {
                    return Ok(HookResult::Cancel(format!(
                        "{over}; the wait of {} ms exceeds max_wait {} ms",
                        wait.as_millis(),
                        max_wait.as_millis()
                    )));
                }
                if ctx.attempt >= max_attempts {
                    return Ok(HookResult::Cancel(format!(
                        "{over}; still limited after {max_attempts} attempts"
                    )));
                }
                Ok(HookResult::Retry {
                    delay: wait,
                    max_attempts,
                })
            }
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
