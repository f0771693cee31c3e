//! The built-in hooks: ready-made, configurable [`Hook`](crate::Hook)s for
//! the jobs most applications need.
//!
//! | hook | register at | what it does | decides |
//! |---|---|---|---|
//! | [`LoggingHook`] | any | structured `tracing` events, with field filters and redaction | never (`Continue`) |
//! | [`MetricsHook`] | any (After/Error for latency) | counts, errors, latency percentiles; Prometheus text | never |
//! | [`DebuggingHook`] | any | a bounded ring buffer of captured contexts | never |
//! | [`SecurityHook`] | Before points (and any other to audit) | hash-chained audit log, input validation, violation events | `Cancel` |
//! | [`CachingHook`] | Before points | keys the input; the runner serves or stores the output | `Cache` |
//! | [`RateLimitHook`] | Before points | per-key `governor` quotas | `Retry` or `Cancel` |
//! | [`RetryHook`] | Error points | exponential backoff with jitter for retryable errors | `Retry` |
//! | [`CostTrackingHook`] | `AfterLlmCall` (+ `BeforeLlmCall` for the guard) | token costs, budgets, alerts, budget guard | `Cancel` (guard) |
//!
//! [`BuiltinHook::build`] makes any of them by name from JSON options (the
//! way scripts' `Hook.use` and the configuration file turn them on), with
//! default points and a JSON report of the hook's figures.
//!
//! Every hook is built with a builder whose `build()` checks the settings
//! and returns [`Error::InvalidConfig`](crate::Error::InvalidConfig) for bad
//! ones. The hooks only *decide*; the [`GuardedRunner`](crate::GuardedRunner)
//! acts on their results (skips a cached operation, waits and re-runs a
//! retried one), so they behave the same for tools, agents and workflows.
//! `docs/user-guide/builtin-hooks-reference.md` documents every option.
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_hooks::builtin::{LoggingHook, MetricsHook};
//! use llmspell_hooks::{HookPoint, HookRegistry};
//!
//! let registry = HookRegistry::new();
//! let metrics = Arc::new(MetricsHook::builder().build()?);
//! let logging = LoggingHook::builder().build()?;
//! let _m = registry.register(HookPoint::AfterToolExecution, metrics.clone());
//! let _l = registry.register(HookPoint::BeforeToolExecution, logging);
//! # Ok::<(), llmspell_hooks::Error>(())
//! ```

mod caching;
mod canonical;
mod catalog;
mod cost;
mod debugging;
mod logging;
mod metrics;
mod options;
mod phase;
mod rate_limit;
mod redaction;
mod retry;
mod security;

pub use caching::{CacheKeyFn, CachingHook, CachingHookBuilder};
pub use canonical::{canonical_json, canonical_sha256};
pub use catalog::{
    BUILTIN_NAMES, BuiltinEnv, BuiltinHook, Placement, PriorityOption, command_hook,
};
pub use cost::{
    BUDGET_ALERT_TOPIC, Budget, BudgetStatus, CostReport, CostTotals, CostTrackingHook,
    CostTrackingHookBuilder, ModelPrice, PricingTable, UnknownModelPolicy,
};
pub use debugging::{CapturedContext, DebuggingHook, DebuggingHookBuilder};
pub use logging::{LogField, LoggingHook, LoggingHookBuilder};
pub use metrics::{LatencyStats, MetricsHook, MetricsHookBuilder, MetricsSnapshot, SeriesSnapshot};
pub use phase::PointPhase;
pub use rate_limit::{
    RateKey, RateKeyFn, RateLimitHook, RateLimitHookBuilder, RateLimitMode, RateQuota,
};
pub use redaction::{REDACTED, Redactor, RedactorBuilder};
pub use retry::{Backoff, RetryClassifier, RetryHook, RetryHookBuilder};
pub use security::{
    AuditProblem, AuditRecord, AuditVerification, DEFAULT_AUDIT_NAMESPACE, SecurityHook,
    SecurityHookBuilder, VIOLATION_TOPIC,
};

/// An [`Error::InvalidConfig`](crate::Error::InvalidConfig) for `field`.
pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> crate::Error {
    crate::Error::InvalidConfig {
        field,
        message: message.into(),
    }
}

/// The built-in hooks reference's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/user-guide/builtin-hooks-reference.md")]
pub struct BuiltinHooksReference;
