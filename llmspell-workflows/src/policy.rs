//! What a step does when it fails: retry, then fail, continue, use a
//! default or roll back.

use std::time::Duration;

use llmspell_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest delay a retry policy may ask for between attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// How often and how patiently a step's own failures are retried.
///
/// Attempts count the first one: `max_attempts = 3` runs the step up to
/// three times. The wait before attempt `n + 1` is
/// `delay * multiplier^(n - 1)`, capped at `max_delay`. Cancellations and
/// fail-closed hook failures (`Cancelled`, `HookFailed`) are never retried;
/// with `transient_only`, only transient errors (timeouts, retryable
/// external failures, storage errors) are.
///
/// Serde form (every field optional):
/// `{ "max_attempts": 3, "delay_ms": 100, "multiplier": 2.0, "max_delay_ms": 10000,
///    "transient_only": false }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[must_use]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1: no retry).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    #[serde(rename = "delay_ms", with = "millis")]
    pub delay: Duration,
    /// Growth of the wait per attempt (≥ 1).
    pub multiplier: f64,
    /// The longest wait.
    #[serde(rename = "max_delay_ms", with = "millis")]
    pub max_delay: Duration,
    /// Retry only transient errors.
    pub transient_only: bool,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 1,
            delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(10),
            transient_only: false,
        }
    }
}

impl RetryPolicy {
    /// No retry: one attempt.
    pub fn none() -> Self {
        Self::default()
    }

    /// Up to `max_attempts` attempts with the default backoff (100 ms,
    /// doubling, at most 10 s).
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            ..Self::default()
        }
    }

    /// Sets the first wait and its growth per attempt.
    pub fn backoff(mut self, delay: Duration, multiplier: f64) -> Self {
        self.delay = delay;
        self.multiplier = multiplier;
        self
    }

    /// Caps the wait.
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Retries only transient errors.
    pub fn transient_only(mut self, on: bool) -> Self {
        self.transient_only = on;
        self
    }

    /// Checks the policy; `field` names it in the error.
    ///
    /// # Errors
    /// `InvalidInput` when `max_attempts` is 0, `multiplier` is not a
    /// finite number ≥ 1, or a delay exceeds [`MAX_RETRY_DELAY`].
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::invalid_input(
                format!("{field}.max_attempts"),
                "must be at least 1 (attempts count the first one)",
            ));
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(Error::invalid_input(
                format!("{field}.multiplier"),
                format!("{} is not a finite number ≥ 1", self.multiplier),
            ));
        }
        if self.delay > MAX_RETRY_DELAY || self.max_delay > MAX_RETRY_DELAY {
            return Err(Error::invalid_input(
                format!("{field}.delay_ms"),
                format!(
                    "retry delays are at most {} ms",
                    MAX_RETRY_DELAY.as_millis()
                ),
            ));
        }
        Ok(())
    }

    /// Whether `error`, met on attempt `attempt`, is retried.
    pub fn should_retry(&self, error: &Error, attempt: u32) -> bool {
        attempt < self.max_attempts
            && !matches!(error.kind(), ErrorKind::Cancelled | ErrorKind::HookFailed)
            && (!self.transient_only || error.is_transient())
    }

    /// The wait after failed attempt `attempt` (1 for the first).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.delay.as_secs_f64() * self.multiplier.powi(exp);
        if secs.is_finite() && secs < self.max_delay.as_secs_f64() {
            Duration::from_secs_f64(secs)
        } else {
            self.max_delay
        }
    }
}

/// What a step failure does once the step's retries are spent.
///
/// Cancellations and fail-closed hook failures always stop the workflow,
/// whatever the policy. Serde form: `"fail"`, `"continue"`, `"rollback"` or
/// `{ "default": <output> }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorPolicy {
    /// The workflow fails with the step's error (the default).
    #[default]
    Fail,
    /// The error is recorded in the result's `errors` (so `success` is
    /// false), no output is recorded for the step, and the workflow goes
    /// on with the next step.
    Continue,
    /// The value becomes the step's output (recorded as if the step had
    /// returned it) and the workflow goes on; the error is not counted in
    /// `errors`.
    Default(Value),
    /// The state writes made by the step list the failed step belongs to
    /// (a sequential workflow's steps, the selected branch, the current loop
    /// iteration's body, one parallel branch) are undone back to the state
    /// that list started from, the rest of the list is skipped, the error is
    /// recorded in `errors`, and the workflow goes on after the list.
    /// `WorkflowRollback` fires first; a hook there may cancel.
    Rollback,
}

impl ErrorPolicy {
    /// `"fail"`, `"continue"`, `"default"` or `"rollback"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorPolicy::Fail => "fail",
            ErrorPolicy::Continue => "continue",
            ErrorPolicy::Default(_) => "default",
            ErrorPolicy::Rollback => "rollback",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::attempts(5)
            .backoff(Duration::from_millis(10), 3.0)
            .max_delay(Duration::from_millis(50));
        assert_eq!(p.delay_after(1), Duration::from_millis(10));
        assert_eq!(p.delay_after(2), Duration::from_millis(30));
        assert_eq!(p.delay_after(3), Duration::from_millis(50));
        assert_eq!(p.delay_after(u32::MAX), Duration::from_millis(50));
    }

    #[test]
    fn cancellations_are_never_retried() {
        let p = RetryPolicy::attempts(3);
        let cancel = Error::Cancelled {
            hook: "h".into(),
            reason: "r".into(),
        };
        assert!(!p.should_retry(&cancel, 1));
        assert!(p.should_retry(&Error::other("x"), 2));
        assert!(!p.should_retry(&Error::other("x"), 3));
        assert!(!p.transient_only(true).should_retry(&Error::other("x"), 1));
    }

    #[test]
    fn validation_names_the_field() {
        let err = RetryPolicy::attempts(0)
            .validate("steps.a.retry")
            .unwrap_err();
        assert!(
            err.to_string().contains("steps.a.retry.max_attempts"),
            "{err}"
        );
        let err = RetryPolicy::attempts(2)
            .backoff(Duration::ZERO, 0.5)
            .validate("r")
            .unwrap_err();
        assert!(err.to_string().contains("multiplier"), "{err}");
    }

    #[test]
    fn serde_forms() {
        let p: RetryPolicy =
            serde_json::from_value(json!({ "max_attempts": 4, "delay_ms": 5 })).unwrap();
        assert_eq!((p.max_attempts, p.delay), (4, Duration::from_millis(5)));
        assert!(serde_json::from_value::<RetryPolicy>(json!({ "attempts": 4 })).is_err());
        let e: ErrorPolicy = serde_json::from_value(json!("continue")).unwrap();
        assert_eq!(e, ErrorPolicy::Continue);
        let e: ErrorPolicy = serde_json::from_value(json!({ "default": { "x": 1 } })).unwrap();
        assert_eq!(e, ErrorPolicy::Default(json!({ "x": 1 })));
        assert_eq!(
            serde_json::to_value(ErrorPolicy::Rollback).unwrap(),
            json!("rollback")
        );
    }
}
