//! The llmspell hook system.
//!
//! Hooks are code that runs at named points ([`HookPoint`]) in the life of
//! agents, tools and workflows and can change what happens there
//! ([`HookResult`]).
//!
//! - [`Hook`]: the async trait; [`hook_fn`] / [`sync_hook_fn`] adapt closures;
//!   [`ActionSet`]: the actions a hook declares it may return.
//! - [`HookRegistry`]: per-point, priority-ordered copy-on-write snapshots;
//!   [`SelectiveHookRegistry`] loads hooks by feature flag.
//! - [`HookExecutor`]: runs a point's hooks, each behind its own
//!   [`CircuitBreaker`], with timeouts, fail modes and a
//!   [`PerformanceMonitor`].
//! - [`GuardedRunner`]: runs an operation between its Before, After and
//!   Error points and honours every result; tools, agents and workflows all
//!   go through it.
//! - [`CompositeHook`]: Sequential, Parallel, FirstMatch and Voting.
//! - [`builtin`]: ready-made hooks: [`LoggingHook`], [`MetricsHook`],
//!   [`DebuggingHook`], [`SecurityHook`], [`CachingHook`], [`RateLimitHook`],
//!   [`RetryHook`], [`CostTrackingHook`].
//! - [`HookExecutor::fire`] / [`Fired`]: firing a point outside the guarded
//!   runner (state, session, event and performance points) and reading the
//!   decision.
//! - [`CommandHook`]: a hook that runs an external program (any language)
//!   with a JSON decision protocol; [`CommandHookConfig`]: its settings.
//! - [`HookAdapter`] / [`JsonHookAdapter`]: the one result parser every
//!   script engine uses; [`ReplayableHook`] / [`HookRecorder`]: recorded
//!   executions; [`DistributedHookContext`]: a context that crosses
//!   machines (the NATS bridge's contract).
//! - [`TELEMETRY_TARGET`]: each guarded operation and each hook firing is a
//!   tracing span under this target, parented by correlation ids, for an
//!   OpenTelemetry exporter; nothing is built while no subscriber wants it.
//!
//! # Example
//!
//! ```
//! use llmspell_hooks::{HookContext, HookExecutor, HookPoint, HookRegistry, HookResult, hook_fn};
//! use llmspell_core::ComponentId;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let registry = HookRegistry::new();
//! let guard = registry.register(
//!     HookPoint::BeforeToolExecution,
//!     hook_fn(|ctx| async move {
//!         if ctx.data["path"].as_str().is_some_and(|p| p.contains("..")) {
//!             return Ok(HookResult::Cancel("path traversal".into()));
//!         }
//!         Ok(HookResult::Continue)
//!     }),
//! );
//! let executor = HookExecutor::new(registry);
//! let mut ctx = HookContext::new(
//!     HookPoint::BeforeToolExecution,
//!     ComponentId::tool("file_operations"),
//!     json!({ "path": "../etc/passwd" }),
//! );
//! let outcome = executor.execute_point(&mut ctx).await?;
//! assert_eq!(*outcome.result(), HookResult::Cancel("path traversal".into()));
//! # drop(guard);
//! # Ok::<(), llmspell_core::Error>(())
//! # }).unwrap();
//! ```

mod actions;
mod adapter;
mod breaker;
pub mod builtin;
mod cache;
mod command;
mod composite;
mod context;
mod dependencies;
mod distributed;
mod emit;
mod error;
mod executor;
mod fire;
mod hook;
mod hook_list;
mod monitor;
mod point;
mod priority;
mod registry;
mod replay;
mod result;
mod runner;
mod selective;
mod telemetry;
mod timeout;
pub mod trace;

pub use actions::ActionSet;
pub use adapter::{HookAdapter, JsonHookAdapter};
pub use breaker::{BreakerConfig, BreakerState, CallOutcome, CircuitBreaker, Permit, Transition};
pub use builtin::{
    CachingHook, CostTrackingHook, DebuggingHook, LoggingHook, MetricsHook, RateLimitHook,
    RetryHook, SecurityHook,
};
pub use cache::{CacheStats, HookCache, MemoryHookCache};
pub use command::{CommandHook, CommandHookConfig};
pub use composite::{CompositeHook, Composition, precedence};
pub use context::HookContext;
pub use distributed::{DistributedHookContext, PropagationFlags};
pub use emit::EmitHooks;
pub use error::{Error, Result};
pub use executor::{
    Decision, ExecutorConfig, HookExecutor, HookExecutorBuilder, PointOutcome, SKIPPED_TOPIC,
};
pub use fire::Fired;
pub use hook::{FnHook, Hook, HookMetadata, SyncFnHook, hook_fn, sync_hook_fn};
pub use monitor::{HookPerformance, LatencySnapshot, PerformanceMonitor};
pub use point::{CUSTOM_PREFIX, HookGroup, HookPoint};
pub use priority::Priority;
pub use registry::{
    BreakerControl, FailMode, HookFilter, HookHandle, HookId, HookInfo, HookOptions, HookRegistry,
    Registration,
};
pub use replay::{
    HookExecutionRecord, HookRecorder, RecordedResult, ReplayOutcome, ReplayReport, ReplayableHook,
};
pub use result::{
    DEFAULT_CACHE_TTL, DEFAULT_RETRY_ATTEMPTS, ForkOperation, HookAction, HookResult,
};
pub use runner::{
    BudgetPolicy, ComponentBudget, ComponentHookStats, ForkReport, GuardOutcome, GuardPoints,
    GuardSpec, GuardedRunner, OperationCall, RunnerConfig,
};
pub use selective::{HookFactory, SelectiveHookRegistry};
pub use telemetry::TELEMETRY_TARGET;
pub use timeout::{Elapsed, LazyTimeout};
pub use trace::{TRACE_TOPIC, Trace, TraceAnalysis, TraceRecorder};

/// The hooks guide's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/user-guide/hooks-guide.md")]
pub struct HooksGuide;

/// The hook development guide's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/developer-guide/hook-development-guide.md")]
pub struct HookDevelopmentGuide;
