//! Flow control: bounded subscriber queues, overflow policies, water marks,
//! backpressure notices and the publish rate limit.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use llmspell_core::Language;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, SubscriptionId};

/// What a full subscription queue does with a new event.
///
/// Every subscription has a bounded queue; the policy is chosen per
/// subscription, so one stalled subscriber never stalls the others (except
/// with `Block`, whose purpose is to slow publishers down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Discard the oldest queued event to make room (the default: a slow
    /// consumer sees the most recent events).
    #[default]
    DropOldest,
    /// Discard the new event.
    DropNewest,
    /// Make `publish` wait up to `timeout` for room; after that the event is
    /// not queued there and `publish` returns [`Error::BlockTimeout`].
    Block {
        /// The longest `publish` waits for this subscription.
        timeout: Duration,
    },
    /// Refuse: `publish` returns [`Error::SubscriberFull`] naming the
    /// subscription (subscribers with room still get the event).
    Reject,
}

impl OverflowPolicy {
    /// The default `Block` timeout: 1 second.
    pub const DEFAULT_BLOCK_TIMEOUT: Duration = Duration::from_secs(1);

    /// The script-facing name.
    pub fn as_str(&self) -> &'static str {
        match self {
            OverflowPolicy::DropOldest => "drop_oldest",
            OverflowPolicy::DropNewest => "drop_newest",
            OverflowPolicy::Block { .. } => "block",
            OverflowPolicy::Reject => "reject",
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverflowPolicy {
    type Err = Error;

    /// Parses `drop_oldest`, `drop_newest`, `block` (default timeout) or `reject`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "drop_oldest" => Ok(OverflowPolicy::DropOldest),
            "drop_newest" => Ok(OverflowPolicy::DropNewest),
            "block" => Ok(OverflowPolicy::Block {
                timeout: Self::DEFAULT_BLOCK_TIMEOUT,
            }),
            "reject" => Ok(OverflowPolicy::Reject),
            other => Err(Error::InvalidConfig {
                field: "overflow",
                message: format!(
                    "unknown overflow policy {other:?}; valid: drop_oldest, drop_newest, block, reject"
                ),
            }),
        }
    }
}

/// How a subscription's queue behaves.
#[derive(Debug, Clone)]
#[must_use]
pub struct SubscriptionOptions {
    /// Queue capacity in events (1 ..= 1,048,576). Default 1024.
    pub capacity: usize,
    /// What happens when the queue is full. Default `DropOldest`.
    pub overflow: OverflowPolicy,
    /// Fraction of capacity at which a `Warning` notice is raised. Default 0.8.
    pub high_water: f64,
    /// Fraction of capacity at or below which `Recovered` is raised after a
    /// warning. Default 0.5.
    pub low_water: f64,
    /// The language of the subscriber (for listings).
    pub language: Language,
    /// A label for listings and notices.
    pub name: Option<String>,
    /// Internal subscriptions (persistence) are hidden from script listings.
    pub internal: bool,
}

impl SubscriptionOptions {
    /// The largest accepted capacity.
    pub const MAX_CAPACITY: usize = 1 << 20;

    /// Defaults: capacity 1024, `DropOldest`, water marks 0.8 / 0.5.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the overflow policy.
    pub fn overflow(mut self, overflow: OverflowPolicy) -> Self {
        self.overflow = overflow;
        self
    }

    /// Sets the water marks as fractions of capacity.
    pub fn water_marks(mut self, high: f64, low: f64) -> Self {
        self.high_water = high;
        self.low_water = low;
        self
    }

    /// Sets the subscriber's language.
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Sets a label.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Marks the subscription internal.
    pub fn internal(mut self) -> Self {
        self.internal = true;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        if self.capacity == 0 || self.capacity > Self::MAX_CAPACITY {
            return Err(Error::InvalidConfig {
                field: "capacity",
                message: format!(
                    "capacity must be between 1 and {}, got {}",
                    Self::MAX_CAPACITY,
                    self.capacity
                ),
            });
        }
        let ok = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !ok(self.high_water) || !ok(self.low_water) || self.low_water >= self.high_water {
            return Err(Error::InvalidConfig {
                field: "water_marks",
                message: format!(
                    "need 0 <= low < high <= 1 (fractions of capacity), got high {} low {}",
                    self.high_water, self.low_water
                ),
            });
        }
        if let OverflowPolicy::Block { timeout } = self.overflow
            && timeout.is_zero()
        {
            return Err(Error::InvalidConfig {
                field: "overflow",
                message: "a block timeout must be greater than zero".to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) fn high_mark(&self) -> usize {
        ((self.capacity as f64 * self.high_water).ceil() as usize).clamp(1, self.capacity)
    }

    pub(crate) fn low_mark(&self) -> usize {
        (self.capacity as f64 * self.low_water).floor() as usize
    }
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            capacity: 1024,
            overflow: OverflowPolicy::DropOldest,
            high_water: 0.8,
            low_water: 0.5,
            language: Language::Native,
            name: None,
            internal: false,
        }
    }
}

/// How full a subscription's queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackpressureLevel {
    /// Below the high water mark.
    Normal,
    /// At or above the high water mark.
    Warning,
    /// Full.
    Critical,
}

/// A backpressure transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackpressureKind {
    /// The queue reached its high water mark.
    Warning,
    /// The queue is full.
    Critical,
    /// The queue started dropping or refusing events (once per episode).
    Dropped,
    /// The queue drained to its low water mark after a warning.
    Recovered,
}

/// A backpressure notification, observable by publishers through
/// [`EventBus::backpressure`](crate::EventBus::backpressure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackpressureNotice {
    /// The subscription concerned.
    pub subscription: SubscriptionId,
    /// Its pattern.
    pub pattern: Arc<str>,
    /// What happened.
    pub kind: BackpressureKind,
    /// Events queued at the time.
    pub queued: usize,
    /// The queue's capacity.
    pub capacity: usize,
    /// Events dropped by this subscription so far.
    pub dropped: u64,
}

/// What publish does when the rate limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitMode {
    /// Wait for a token (`publish`); `try_publish` still fails fast.
    Wait,
    /// Fail with [`Error::RateLimited`].
    Reject,
}

/// A token-bucket limit on publishing (on `governor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RateLimit {
    /// Sustained events per second.
    pub per_second: u32,
    /// Bucket size: events that may be published at once.
    pub burst: u32,
    /// What happens at the limit.
    pub mode: RateLimitMode,
}

impl RateLimit {
    /// `per_second` sustained with a burst of the same size, waiting at the limit.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            burst: per_second,
            mode: RateLimitMode::Wait,
        }
    }

    /// Sets the burst size.
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: RateLimitMode) -> Self {
        self.mode = mode;
        self
    }

    pub(crate) fn build(&self) -> Result<DefaultDirectRateLimiter> {
        let nz = |v: u32, field: &'static str| {
            NonZeroU32::new(v).ok_or_else(|| Error::InvalidConfig {
                field,
                message: "must be at least 1".to_owned(),
            })
        };
        let quota = Quota::per_second(nz(self.per_second, "rate_limit.per_second")?)
            .allow_burst(nz(self.burst, "rate_limit.burst")?);
        Ok(RateLimiter::direct(quota))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_parse() {
        for name in ["drop_oldest", "drop_newest", "block", "reject"] {
            assert_eq!(name.parse::<OverflowPolicy>().unwrap().as_str(), name);
        }
        let e = "drop".parse::<OverflowPolicy>().unwrap_err().to_string();
        assert!(e.contains("drop_oldest, drop_newest, block, reject"), "{e}");
    }

    #[test]
    fn options_validate() {
        assert!(SubscriptionOptions::new().validate().is_ok());
        let e = SubscriptionOptions::new()
            .capacity(0)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("capacity"), "{e}");
        assert!(
            SubscriptionOptions::new()
                .water_marks(0.5, 0.6)
                .validate()
                .is_err()
        );
        let o = SubscriptionOptions::new().capacity(10);
        assert_eq!((o.high_mark(), o.low_mark()), (8, 5));
    }
}
