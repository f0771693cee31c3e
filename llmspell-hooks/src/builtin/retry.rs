//! Re-running operations that failed transiently, with backoff.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::ErrorKind;
use rand::Rng as _;
use regex::Regex;
use serde_json::Value;

use super::{PointPhase, invalid};
use crate::{Hook, HookContext, HookMetadata, HookResult, Priority};

/// Exponential backoff with jitter.
///
/// The wait after failed attempt `n` (1 for the first) is
/// `min(base × multiplier^(n-1), max_delay)`, then scaled by a random
/// factor in `[1 - jitter, 1 + jitter)` and capped at `max_delay` again.
///
/// ```
/// use std::time::Duration;
/// use llmspell_hooks::builtin::Backoff;
/// let b = Backoff::new(Duration::from_millis(100), 2.0, Duration::from_secs(1), 0.0);
/// assert_eq!(b.nominal(1), Duration::from_millis(100));
/// assert_eq!(b.nominal(3), Duration::from_millis(400));
/// assert_eq!(b.nominal(10), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait.
    pub base: Duration,
    /// The growth per attempt (at least 1).
    pub multiplier: f64,
    /// The longest wait.
    pub max_delay: Duration,
    /// The random spread, a fraction in [0, 1].
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(
            Duration::from_millis(100),
            2.0,
            Duration::from_secs(10),
            0.2,
        )
    }
}

impl Backoff {
    /// A backoff with these settings (checked by [`RetryHookBuilder::build`]).
    pub fn new(base: Duration, multiplier: f64, max_delay: Duration, jitter: f64) -> Self {
        Self {
            base,
            multiplier,
            max_delay,
            jitter,
        }
    }

    /// The wait after failed attempt `attempt`, without jitter.
    pub fn nominal(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.base.as_secs_f64() * self.multiplier.powi(exp);
        let max = self.max_delay.as_secs_f64();
        if !secs.is_finite() || secs >= max {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// The wait after failed attempt `attempt`, with jitter drawn from `unit`
    /// (a number in [0, 1)).
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let nominal = self.nominal(attempt).as_secs_f64();
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * unit.clamp(0.0, 1.0);
        let secs = (nominal * factor).min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The wait after failed attempt `attempt`, with random jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let unit = if self.jitter > 0.0 {
            rand::rng().random::<f64>()
        } else {
            0.5
        };
        self.delay_with(attempt, unit)
    }

    fn check(&self) -> crate::Result<()> {
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(invalid(
                "backoff.multiplier",
                format!(
                    "{} is not a growth factor; use a finite number >= 1",
                    self.multiplier
                ),
            ));
        }
        if !(self.jitter.is_finite() && (0.0..=1.0).contains(&self.jitter)) {
            return Err(invalid(
                "backoff.jitter",
                format!("{} is not a fraction; use a number in [0, 1]", self.jitter),
            ));
        }
        if self.max_delay < self.base {
            return Err(invalid(
                "backoff.max_delay",
                format!(
                    "{} ms is below the base delay of {} ms",
                    self.max_delay.as_millis(),
                    self.base.as_millis()
                ),
            ));
        }
        Ok(())
    }
}

type Predicate = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// Decides from an error's JSON form (`{ kind, message, error, retryable?, … }`)
/// whether retrying may help.
///
/// An error is retryable when no *deny* pattern matches its text and
/// either its `kind` is one of the retryable kinds (an `external` error
/// also needs `retryable: true`, unless that requirement is turned off),
/// or a message pattern matches its text, or the custom predicate says so.
/// The text is the JSON `error` field (the full message), else `message`.
/// Default kinds: `timeout`, `external`, `storage`.
#[derive(Clone)]
pub struct RetryClassifier {
    kinds: HashSet<ErrorKind>,
    external_needs_flag: bool,
    patterns: Vec<Regex>,
    deny: Vec<Regex>,
    predicate: Option<Predicate>,
}

impl Default for RetryClassifier {
    fn default() -> Self {
        Self {
            kinds: [
                ErrorKind::Timeout,
                ErrorKind::External,
                ErrorKind::Provider,
                ErrorKind::Storage,
            ]
            .into_iter()
            .collect(),
            external_needs_flag: true,
            patterns: Vec::new(),
            deny: Vec::new(),
            predicate: None,
        }
    }
}

impl std::fmt::Debug for RetryClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryClassifier")
            .field("kinds", &self.kinds)
            .field("external_needs_flag", &self.external_needs_flag)
            .field("patterns", &self.patterns)
            .field("deny", &self.deny)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

impl RetryClassifier {
    /// Whether the error (JSON form) is worth retrying.
    pub fn is_retryable(&self, error: &Value) -> bool {
        let text = error
            .get("error")
            .or_else(|| error.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if self.deny.iter().any(|p| p.is_match(text)) {
            return false;
        }
        let kind = error
            .get("kind")
            .and_then(Value::as_str)
            .and_then(ErrorKind::from_name);
        if let Some(kind) = kind
            && self.kinds.contains(&kind)
        {
            let flagged = error.get("retryable").and_then(Value::as_bool) == Some(true);
            let flag_needed = matches!(kind, ErrorKind::External | ErrorKind::Provider)
                && self.external_needs_flag;
            if !flag_needed || flagged {
                return true;
            }
        }
        self.patterns.iter().any(|p| p.is_match(text))
            || self.predicate.as_ref().is_some_and(|p| p(error))
    }
}

/// Retries failed operations whose error is retryable, with exponential
/// backoff and jitter, up to a number of attempts.
///
/// Register it at Error points (`ToolError`, `AgentError`, `LlmError`,
/// `WorkflowError`). For a retryable error of attempt `n` below
/// `max_attempts` it returns `Retry { delay: backoff(n), max_attempts }`:
/// the [`GuardedRunner`](crate::GuardedRunner) waits, then runs the Before
/// hooks (with `attempt = n + 1`) and the operation again. A
/// non-retryable error, or the last attempt's, is left to stand
/// (`Skipped`). The runner also caps attempts at its own
/// `RunnerConfig::max_attempts` (10 by default). At other points it returns
/// `Skipped`.
///
/// ```
/// use std::time::Duration;
/// use llmspell_core::ErrorKind;
/// use llmspell_hooks::builtin::{Backoff, RetryHook};
///
/// let retry = RetryHook::builder()
///     .max_attempts(4)
///     .backoff(Backoff::new(Duration::from_millis(200), 2.0, Duration::from_secs(5), 0.1))
///     .retry_on(ErrorKind::Execution)
///     .retry_on_message("(?i)connection reset|503")
///     .never_on_message("(?i)invalid api key")
///     .build()?;
/// # let _ = retry;
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
#[derive(Debug)]
pub struct RetryHook {
    max_attempts: u32,
    backoff: Backoff,
    classifier: RetryClassifier,
    retries: AtomicU64,
    gave_up: AtomicU64,
    metadata: HookMetadata,
}

/// Builds a [`RetryHook`].
#[must_use]
pub struct RetryHookBuilder {
    max_attempts: u32,
    backoff: Backoff,
    kinds: Option<HashSet<ErrorKind>>,
    extra_kinds: Vec<ErrorKind>,
    external_needs_flag: bool,
    patterns: Vec<String>,
    deny: Vec<String>,
    predicate: Option<Predicate>,
    name: String,
    priority: Priority,
}

impl Default for RetryHookBuilder {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Backoff::default(),
            kinds: None,
            extra_kinds: Vec::new(),
            external_needs_flag: true,
            patterns: Vec::new(),
            deny: Vec::new(),
            predicate: None,
            name: "builtin.retry".to_owned(),
            priority: Priority::NORMAL,
        }
    }
}

impl std::fmt::Debug for RetryHookBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryHookBuilder")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl RetryHookBuilder {
    /// Attempts in total, the first included. Default 3; at least 1.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The backoff. Default: 100 ms, ×2, at most 10 s, jitter 0.2.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Replaces the retryable kinds (default `timeout`, `external`, `storage`).
    pub fn retry_kinds(mut self, kinds: impl IntoIterator<Item = ErrorKind>) -> Self {
        self.kinds = Some(kinds.into_iter().collect());
        self
    }

    /// Adds a retryable kind.
    pub fn retry_on(mut self, kind: ErrorKind) -> Self {
        self.extra_kinds.push(kind);
        self
    }

    /// Whether an `external` error needs `retryable: true` to be retried.
    /// Default true.
    pub fn external_requires_retryable(mut self, on: bool) -> Self {
        self.external_needs_flag = on;
        self
    }

    /// Adds a regex; errors whose text matches are retryable.
    pub fn retry_on_message(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }

    /// Adds a regex; errors whose text matches are never retried.
    pub fn never_on_message(mut self, pattern: impl Into<String>) -> Self {
        self.deny.push(pattern.into());
        self
    }

    /// Adds a predicate over the error's JSON; `true` makes it retryable.
    pub fn classify(mut self, f: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Some(Arc::new(f));
        self
    }

    /// The hook's name. Default `builtin.retry`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `NORMAL`.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for
    /// `max_attempts` of 0, an invalid backoff, or a pattern that does not
    /// compile.
    pub fn build(self) -> crate::Result<RetryHook> {
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        self.backoff.check()?;
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let compile = |field: &'static str, ps: &[String]| -> crate::Result<Vec<Regex>> {
            ps.iter()
                .map(|p| Regex::new(p).map_err(|e| invalid(field, format!("{p:?}: {e}"))))
                .collect()
        };
        let mut kinds = self
            .kinds
            .unwrap_or_else(|| RetryClassifier::default().kinds);
        kinds.extend(self.extra_kinds);
        Ok(RetryHook {
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            classifier: RetryClassifier {
                kinds,
                external_needs_flag: self.external_needs_flag,
                patterns: compile("retry_on_message", &self.patterns)?,
                deny: compile("never_on_message", &self.deny)?,
                predicate: self.predicate,
            },
            retries: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("retries transient failures with backoff"),
        })
    }
}

impl RetryHook {
    /// A builder with the defaults.
    pub fn builder() -> RetryHookBuilder {
        RetryHookBuilder::default()
    }

    /// The classifier.
    pub fn classifier(&self) -> &RetryClassifier {
        &self.classifier
    }

    /// The backoff.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Retries asked for so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Retryable errors left to stand because the attempts ran out.
    pub fn gave_up(&self) -> u64 {
        self.gave_up.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Hook for RetryHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        if PointPhase::of(&ctx.point) != PointPhase::Error {
            return Ok(HookResult::Skipped(
                "retry applies at Error points".to_owned(),
            ));
        }
        if !self.classifier.is_retryable(&ctx.data) {
            return Ok(HookResult::Skipped("the error is not retryable".to_owned()));
        }
        let attempt = ctx.attempt;
        if attempt >= self.max_attempts {
            self.gave_up.fetch_add(1, Ordering::Relaxed);
            return Ok(HookResult::Skipped(format!(
                "gave up after {attempt} attempt(s)"
            )));
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        Ok(HookResult::Retry {
            delay: self.backoff.delay(attempt),
            max_attempts: self.max_attempts,
        })
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_core::Error;

    #[test]
    fn backoff_grows_is_capped_and_jitters_within_its_band() {
        let b = Backoff::new(
            Duration::from_millis(100),
            3.0,
            Duration::from_millis(500),
            0.5,
        );
        assert_eq!(b.nominal(1), Duration::from_millis(100));
        assert_eq!(b.nominal(2), Duration::from_millis(300));
        assert_eq!(b.nominal(3), Duration::from_millis(500));
        assert_eq!(b.nominal(u32::MAX), Duration::from_millis(500));
        assert_eq!(b.delay_with(1, 0.0), Duration::from_millis(50));
        assert!((b.delay_with(2, 0.9).as_secs_f64() - 0.42).abs() < 1e-9);
        assert_eq!(
            b.delay_with(3, 0.99),
            Duration::from_millis(500),
            "capped after jitter"
        );
        for _ in 0..100 {
            let d = b.delay(1);
            assert!(
                d >= Duration::from_millis(50) && d < Duration::from_millis(150),
                "{d:?}"
            );
        }
    }

    #[test]
    fn default_classifier() {
        let c = RetryClassifier::default();
        let external = |retryable| Error::External {
            service: "openai".into(),
            message: "429".into(),
            retryable,
            source: None,
        };
        assert!(c.is_retryable(&external(true).to_json()));
        assert!(!c.is_retryable(&external(false).to_json()));
        assert!(
            c.is_retryable(
                &Error::Storage {
                    message: "io".into(),
                    source: None
                }
                .to_json()
            )
        );
        assert!(!c.is_retryable(&Error::execution("tool:x", "boom").to_json()));
        assert!(!c.is_retryable(&Error::invalid_input("x", "bad").to_json()));
    }

    #[test]
    fn bad_settings_are_rejected() {
        let bad = |b: Backoff| RetryHook::builder().backoff(b).build().is_err();
        let ms = Duration::from_millis;
        assert!(bad(Backoff::new(ms(10), 0.5, ms(100), 0.0)));
        assert!(bad(Backoff::new(ms(10), 2.0, ms(100), 1.5)));
        assert!(bad(Backoff::new(ms(10), f64::NAN, ms(100), 0.0)));
        assert!(bad(Backoff::new(ms(100), 2.0, ms(10), 0.0)));
        assert!(RetryHook::builder().max_attempts(0).build().is_err());
        assert!(RetryHook::builder().retry_on_message("(").build().is_err());
    }
}
