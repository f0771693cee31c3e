//! A per-hook circuit breaker in the resilience4j model.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use quanta::Instant;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a breaker decides.
///
/// The defaults stop calling a hook that fails or times out on every call
/// after 10 calls, and a hook that turns slow within 20 calls.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct BreakerConfig {
    /// How many recent calls the sliding window holds. Default 20.
    pub window_size: usize,
    /// Calls needed in the window before rates are judged. Default 10.
    pub minimum_calls: usize,
    /// Failure share of the window (0..=1) that opens the breaker. Default 0.5.
    pub failure_rate_threshold: f64,
    /// Slow-call share of the window (0..=1) that opens the breaker. Default 0.5.
    pub slow_call_rate_threshold: f64,
    /// First wait in the open state before probing. Default 1 s.
    pub open_wait: Duration,
    /// Each failed probe multiplies the wait by this. Default 2.
    pub backoff_multiplier: f64,
    /// The longest wait. Default 60 s.
    pub max_open_wait: Duration,
    /// Probe calls let through in the half-open state. Default 3.
    pub half_open_probes: usize,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window_size: 20,
            minimum_calls: 10,
            failure_rate_threshold: 0.5,
            slow_call_rate_threshold: 0.5,
            open_wait: Duration::from_secs(1),
            backoff_multiplier: 2.0,
            max_open_wait: Duration::from_secs(60),
            half_open_probes: 3,
        }
    }
}

impl BreakerConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, message: &str| {
            Err(Error::InvalidConfig {
                field,
                message: message.to_owned(),
            })
        };
        if self.window_size == 0 || self.window_size > 10_000 {
            return bad("breaker.window_size", "must be between 1 and 10000");
        }
        if self.minimum_calls == 0 || self.minimum_calls > self.window_size {
            return bad("breaker.minimum_calls", "must be between 1 and window_size");
        }
        let rate = |r: f64| r.is_finite() && r > 0.0 && r <= 1.0;
        if !rate(self.failure_rate_threshold) {
            return bad("breaker.failure_rate_threshold", "must be in (0, 1]");
        }
        if !rate(self.slow_call_rate_threshold) {
            return bad("breaker.slow_call_rate_threshold", "must be in (0, 1]");
        }
        if !(self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0) {
            return bad("breaker.backoff_multiplier", "must be at least 1");
        }
        if self.half_open_probes == 0 {
            return bad("breaker.half_open_probes", "must be at least 1");
        }
        if self.max_open_wait < self.open_wait {
            return bad("breaker.max_open_wait", "must be at least open_wait");
        }
        Ok(())
    }
}

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through and are recorded.
    Closed,
    /// Calls are skipped until the wait is over.
    Open,
    /// A limited number of probe calls go through.
    HalfOpen,
    /// Administratively off: every call goes through, nothing is recorded.
    Disabled,
    /// Administratively open: every call is skipped.
    ForcedOpen,
}

impl BreakerState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Disabled => "disabled",
            BreakerState::ForcedOpen => "forced_open",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => BreakerState::Closed,
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            3 => BreakerState::Disabled,
            _ => BreakerState::ForcedOpen,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
            BreakerState::Disabled => 3,
            BreakerState::ForcedOpen => 4,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state change, with why it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The new state.
    pub to: BreakerState,
    /// Why (`"failure rate 100% of the last 10 calls >= 50%"`).
    pub reason: String,
}

/// What happened on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// The call failed (error, panic, timeout, malformed result).
    pub failed: bool,
    /// The call took longer than its point's budget.
    pub slow: bool,
}

/// Whether a call may go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Call it and record the outcome.
    Allowed,
    /// Call it as a half-open probe and record the outcome.
    Probe,
    /// The breaker is open, or half-open with every probe in use: the hook
    /// cannot run now. A fail-open hook is skipped; a fail-closed one fails
    /// the operation ([`CircuitBreaker::rejection`] says why).
    Rejected,
    /// An administrator forced the breaker open: the hook is skipped
    /// whatever its fail mode (a decision, not a failure).
    Withheld,
}

struct Inner {
    /// Ring of outcomes: bit 0 failed, bit 1 slow.
    window: Vec<u8>,
    next: usize,
    filled: usize,
    failures: usize,
    slow: usize,
    open_until: Option<Instant>,
    /// When the breaker last opened (wall clock, for messages) and why.
    opened: Option<(chrono::DateTime<chrono::Utc>, String)>,
    consecutive_opens: u32,
    probes_left: usize,
    probes_running: usize,
    probes_ok: usize,
}

/// A circuit breaker guarding one hook.
///
/// Closed: calls go through and land in a sliding window of the last
/// `window_size` calls; once it holds `minimum_calls`, a failure share or a
/// slow share at or above its threshold opens the breaker. Open: calls are
/// skipped until the wait (`open_wait`, times `backoff_multiplier` for every
/// consecutive reopening, at most `max_open_wait`) is over; then the breaker
/// is half-open and lets `half_open_probes` calls through. All probes fine:
/// closed again (window cleared, backoff reset). Any probe failing or slow:
/// open again with a longer wait. `Disabled` and `ForcedOpen` are set by an
/// administrator and stay until [`reset`](CircuitBreaker::reset).
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: AtomicU8,
    /// Closed with a full window of clean calls: recording another clean
    /// call changes nothing, so it skips the lock.
    clean: AtomicBool,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for invalid settings.
    pub fn new(config: BreakerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::with_valid(config))
    }

    pub(crate) fn with_valid(config: BreakerConfig) -> Self {
        let window = vec![0; config.window_size];
        Self {
            config,
            state: AtomicU8::new(BreakerState::Closed.to_u8()),
            clean: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                window,
                next: 0,
                filled: 0,
                failures: 0,
                slow: 0,
                open_until: None,
                opened: None,
                consecutive_opens: 0,
                probes_left: 0,
                probes_running: 0,
                probes_ok: 0,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn set_state(&self, s: BreakerState) {
        self.clean.store(false, Ordering::Release);
        self.state.store(s.to_u8(), Ordering::Release);
    }

    /// Asks to make a call now. May move Open → HalfOpen (returned as a
    /// transition) when the wait is over.
    pub fn try_acquire(&self) -> (Permit, Option<Transition>) {
        match self.state() {
            BreakerState::Closed | BreakerState::Disabled => return (Permit::Allowed, None),
            BreakerState::ForcedOpen => return (Permit::Withheld, None),
            BreakerState::Open | BreakerState::HalfOpen => {}
        }
        let mut inner = self.inner.lock();
        match self.state() {
            BreakerState::Closed | BreakerState::Disabled => (Permit::Allowed, None),
            BreakerState::ForcedOpen => (Permit::Withheld, None),
            BreakerState::Open => {
                let now = Instant::now();
                if inner.open_until.is_some_and(|until| now < until) {
                    return (Permit::Rejected, None);
                }
                inner.probes_left = self.config.half_open_probes - 1;
                inner.probes_running = 1;
                inner.probes_ok = 0;
                self.set_state(BreakerState::HalfOpen);
                let t = Transition {
                    to: BreakerState::HalfOpen,
                    reason: format!(
                        "open wait over; letting {} probe call(s) through",
                        self.config.half_open_probes
                    ),
                };
                (Permit::Probe, Some(t))
            }
            BreakerState::HalfOpen => {
                if inner.probes_left == 0 {
                    return (Permit::Rejected, None);
                }
                inner.probes_left -= 1;
                inner.probes_running += 1;
                (Permit::Probe, None)
            }
        }
    }

    /// Records the outcome of a call made under `permit`; returns the state
    /// change it caused, if any.
    pub fn record(&self, permit: Permit, outcome: CallOutcome) -> Option<Transition> {
        if permit == Permit::Allowed
            && !outcome.failed
            && !outcome.slow
            && self.clean.load(Ordering::Acquire)
        {
            return None;
        }
        match (permit, self.state()) {
            (Permit::Rejected | Permit::Withheld, _)
            | (_, BreakerState::Disabled | BreakerState::ForcedOpen) => None,
            (Permit::Probe, _) => self.record_probe(outcome),
            (Permit::Allowed, BreakerState::Closed) => self.record_closed(outcome),
            // A call let through before the breaker opened finished late.
            (Permit::Allowed, _) => None,
        }
    }

    fn record_closed(&self, outcome: CallOutcome) -> Option<Transition> {
        let mut inner = self.inner.lock();
        if self.state() != BreakerState::Closed {
            return None;
        }
        let bits = u8::from(outcome.failed) | (u8::from(outcome.slow) << 1);
        let i = inner.next;
        if inner.filled == self.config.window_size {
            let old = inner.window[i];
            inner.failures -= usize::from(old & 1);
            inner.slow -= usize::from(old >> 1 & 1);
        } else {
            inner.filled += 1;
        }
        inner.window[i] = bits;
        inner.failures += usize::from(outcome.failed);
        inner.slow += usize::from(outcome.slow);
        inner.next = (i + 1) % self.config.window_size;
        self.clean.store(
            inner.filled == self.config.window_size && inner.failures == 0 && inner.slow == 0,
            Ordering::Release,
        );
        if inner.filled < self.config.minimum_calls {
            return None;
        }
        let n = inner.filled as f64;
        let failure_rate = inner.failures as f64 / n;
        let slow_rate = inner.slow as f64 / n;
        let reason = if failure_rate >= self.config.failure_rate_threshold {
            format!(
                "failure rate {:.0}% of the last {} calls >= {:.0}%",
                failure_rate * 100.0,
                inner.filled,
                self.config.failure_rate_threshold * 100.0
            )
        } else if slow_rate >= self.config.slow_call_rate_threshold {
            format!(
                "slow call rate {:.0}% of the last {} calls >= {:.0}%",
                slow_rate * 100.0,
                inner.filled,
                self.config.slow_call_rate_threshold * 100.0
            )
        } else {
            return None;
        };
        Some(self.open(&mut inner, reason))
    }

    fn record_probe(&self, outcome: CallOutcome) -> Option<Transition> {
        let mut inner = self.inner.lock();
        if self.state() != BreakerState::HalfOpen {
            return None;
        }
        inner.probes_running = inner.probes_running.saturating_sub(1);
        if outcome.failed || outcome.slow {
            let what = if outcome.failed { "failed" } else { "was slow" };
            return Some(self.open(&mut inner, format!("a half-open probe call {what}")));
        }
        inner.probes_ok += 1;
        if inner.probes_ok >= self.config.half_open_probes {
            self.clear(&mut inner);
            self.set_state(BreakerState::Closed);
            return Some(Transition {
                to: BreakerState::Closed,
                reason: format!("{} probe call(s) succeeded", self.config.half_open_probes),
            });
        }
        None
    }

    fn open(&self, inner: &mut Inner, reason: String) -> Transition {
        let factor = self
            .config
            .backoff_multiplier
            .powi(inner.consecutive_opens.min(64) as i32);
        let wait = self
            .config
            .open_wait
            .mul_f64(factor)
            .min(self.config.max_open_wait);
        inner.consecutive_opens = inner.consecutive_opens.saturating_add(1);
        inner.open_until = Some(Instant::now() + wait);
        inner.opened = Some((llmspell_core::clock::now_utc(), reason.clone()));
        inner.probes_left = 0;
        inner.probes_running = 0;
        self.set_state(BreakerState::Open);
        Transition {
            to: BreakerState::Open,
            reason: format!("{reason}; probing again in {} ms", wait.as_millis()),
        }
    }

    fn clear(&self, inner: &mut Inner) {
        inner.window.iter_mut().for_each(|b| *b = 0);
        inner.next = 0;
        inner.filled = 0;
        inner.failures = 0;
        inner.slow = 0;
        inner.open_until = None;
        inner.opened = None;
        inner.consecutive_opens = 0;
        inner.probes_left = 0;
        inner.probes_running = 0;
        inner.probes_ok = 0;
    }

    /// Administrative: every call goes through, nothing is recorded.
    pub fn disable(&self) -> Transition {
        let _g = self.inner.lock();
        self.set_state(BreakerState::Disabled);
        Transition {
            to: BreakerState::Disabled,
            reason: "disabled by an administrator".to_owned(),
        }
    }

    /// Administrative: every call is skipped.
    pub fn force_open(&self) -> Transition {
        let _g = self.inner.lock();
        self.set_state(BreakerState::ForcedOpen);
        Transition {
            to: BreakerState::ForcedOpen,
            reason: "forced open by an administrator".to_owned(),
        }
    }

    /// Back to closed with an empty window and no backoff.
    pub fn reset(&self) -> Transition {
        let mut inner = self.inner.lock();
        self.clear(&mut inner);
        self.set_state(BreakerState::Closed);
        Transition {
            to: BreakerState::Closed,
            reason: "reset by an administrator".to_owned(),
        }
    }

    /// Why a call was refused just now, for the error a fail-closed hook's
    /// caller gets: `"breaker open since 2026-12-07T10:00:00Z (failure rate
    /// 100% of the last 10 calls >= 50%); next probe in 850 ms"`. Read on the
    /// failure path only.
    pub fn rejection(&self) -> String {
        let inner = self.inner.lock();
        let since = |what: &str| match &inner.opened {
            Some((at, why)) => format!(
                "breaker {what} since {} ({why})",
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            None => format!("breaker {what}"),
        };
        match self.state() {
            BreakerState::Open => {
                let left = inner.open_until.map_or(Duration::ZERO, |u| {
                    u.saturating_duration_since(Instant::now())
                });
                format!("{}; next probe in {} ms", since("open"), left.as_millis())
            }
            BreakerState::HalfOpen => format!(
                "{}; all {} probe call(s) are in use",
                since("half-open"),
                self.config.half_open_probes
            ),
            BreakerState::ForcedOpen => "breaker forced open by an administrator".to_owned(),
            BreakerState::Closed | BreakerState::Disabled => {
                "breaker closed again; the call was refused while it was open".to_owned()
            }
        }
    }

    /// When the open state ends, if open.
    pub fn open_remaining(&self) -> Option<Duration> {
        let inner = self.inner.lock();
        match (self.state(), inner.open_until) {
            (BreakerState::Open, Some(until)) => {
                Some(until.saturating_duration_since(Instant::now()))
            }
            _ => None,
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAIL: CallOutcome = CallOutcome {
        failed: true,
        slow: false,
    };
    const SLOW: CallOutcome = CallOutcome {
        failed: false,
        slow: true,
    };
    const OK: CallOutcome = CallOutcome {
        failed: false,
        slow: false,
    };

    fn quick() -> BreakerConfig {
        BreakerConfig {
            window_size: 10,
            minimum_calls: 5,
            open_wait: Duration::from_millis(20),
            max_open_wait: Duration::from_millis(200),
            half_open_probes: 2,
            ..BreakerConfig::default()
        }
    }

    fn call(b: &CircuitBreaker, outcome: CallOutcome) -> (Permit, Vec<Transition>) {
        let (permit, t1) = b.try_acquire();
        let t2 = if matches!(permit, Permit::Rejected | Permit::Withheld) {
            None
        } else {
            b.record(permit, outcome)
        };
        (permit, t1.into_iter().chain(t2).collect())
    }

    #[test]
    fn opens_on_failure_rate_once_minimum_calls_are_in() {
        let b = CircuitBreaker::new(quick()).unwrap();
        for _ in 0..4 {
            assert!(call(&b, FAIL).1.is_empty(), "not before minimum_calls");
        }
        let (_, t) = call(&b, FAIL);
        assert_eq!(t[0].to, BreakerState::Open);
        assert!(t[0].reason.contains("failure rate 100%"), "{}", t[0].reason);
        assert_eq!(call(&b, OK).0, Permit::Rejected);
        let why = b.rejection();
        assert!(
            why.starts_with("breaker open since 20")
                && why.contains("failure rate 100%")
                && why.contains("next probe in"),
            "{why}"
        );
    }

    #[test]
    fn opens_on_slow_call_rate() {
        let b = CircuitBreaker::new(quick()).unwrap();
        for _ in 0..10 {
            call(&b, OK);
        }
        let mut calls = 0;
        while b.state() == BreakerState::Closed {
            call(&b, SLOW);
            calls += 1;
        }
        assert_eq!(calls, 5, "half of a 10-call window");
    }

    #[test]
    fn mixed_outcomes_below_thresholds_stay_closed() {
        let b = CircuitBreaker::new(quick()).unwrap();
        for i in 0..100 {
            call(&b, if i % 3 == 0 { FAIL } else { OK });
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_probes_close_on_success_and_reopen_with_backoff_on_failure() {
        let b = CircuitBreaker::new(quick()).unwrap();
        for _ in 0..5 {
            call(&b, FAIL);
        }
        let first_wait = b.open_remaining().unwrap();
        std::thread::sleep(Duration::from_millis(25));
        let (permit, t) = call(&b, FAIL);
        assert_eq!(permit, Permit::Probe);
        assert_eq!(t[0].to, BreakerState::HalfOpen);
        assert_eq!(t[1].to, BreakerState::Open);
        let second_wait = b.open_remaining().unwrap();
        assert!(
            second_wait > first_wait,
            "backoff: {second_wait:?} after {first_wait:?}"
        );
        std::thread::sleep(Duration::from_millis(45));
        assert_eq!(call(&b, OK).0, Permit::Probe);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let (_, t) = call(&b, OK);
        assert_eq!(t[0].to, BreakerState::Closed);
        assert_eq!(call(&b, OK).0, Permit::Allowed);
    }

    #[test]
    fn half_open_lets_only_the_probe_budget_through() {
        let b = CircuitBreaker::new(quick()).unwrap();
        for _ in 0..5 {
            call(&b, FAIL);
        }
        std::thread::sleep(Duration::from_millis(25));
        let p1 = b.try_acquire().0;
        let p2 = b.try_acquire().0;
        let p3 = b.try_acquire().0;
        assert_eq!(
            (p1, p2, p3),
            (Permit::Probe, Permit::Probe, Permit::Rejected)
        );
        let why = b.rejection();
        assert!(
            why.starts_with("breaker half-open since") && why.contains("all 2 probe call(s)"),
            "{why}"
        );
    }

    #[test]
    fn admin_states() {
        let b = CircuitBreaker::new(quick()).unwrap();
        b.force_open();
        assert_eq!(call(&b, OK).0, Permit::Withheld);
        assert_eq!(b.rejection(), "breaker forced open by an administrator");
        b.disable();
        for _ in 0..50 {
            assert_eq!(call(&b, FAIL).0, Permit::Allowed);
        }
        assert_eq!(
            b.state(),
            BreakerState::Disabled,
            "disabled breakers never open"
        );
        b.reset();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        assert!(
            CircuitBreaker::new(BreakerConfig {
                window_size: 0,
                ..quick()
            })
            .is_err()
        );
        assert!(
            CircuitBreaker::new(BreakerConfig {
                minimum_calls: 11,
                ..quick()
            })
            .is_err()
        );
        let e = CircuitBreaker::new(BreakerConfig {
            failure_rate_threshold: 1.5,
            ..quick()
        })
        .unwrap_err();
        assert!(e.to_string().contains("failure_rate_threshold"), "{e}");
    }
}
