//! The built-in hooks, each proven by its effect on operations run through
//! the guarded runner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;

mod caching_skips_repeated_operations;
mod cost_tracking_and_budget_guard;
mod debugging_keeps_a_bounded_trace;
mod guards_hold_after_their_breaker_opens;
mod logging_never_writes_secrets;
mod metrics_count_and_export;
mod rate_limit_cancels_or_delays;
mod retry_reruns_transient_failures;
mod security_validates_and_audits;
