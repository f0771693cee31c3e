//! The built-in hooks by name, configured from JSON: the one way scripts
//! (`Hook.use`) and the configuration file turn them on.
//!
//! [`BuiltinHook::build`] takes a name (`"caching"`), the options as a JSON
//! object and the host's shared parts ([`BuiltinEnv`]); it returns the hook,
//! the points it applies to and how to read its figures. The options are
//! the hook's own (documented per hook in the built-in hooks reference) and
//! the placement options every configured hook takes ([`Placement`]).
//! Unknown names and keys are refused with the valid ones.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentType, ErrorKind};
use llmspell_events::EventBus;
use llmspell_storage::StorageBackend;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::Level;

use super::options;
use super::{
    Backoff, Budget, CachingHook, CostTrackingHook, DebuggingHook, LogField, LoggingHook,
    MetricsHook, ModelPrice, PricingTable, RateKey, RateLimitHook, RateLimitMode, RateQuota,
    RetryHook, SecurityHook, UnknownModelPolicy,
};
use crate::{
    CommandHook, CommandHookConfig, Error, FailMode, Hook, HookCache, HookHandle, HookOptions,
    HookPoint, HookRegistry, Priority, Registration, Result,
};

/// The names of the built-in hooks, as scripts and the configuration file
/// give them.
pub const BUILTIN_NAMES: [&str; 8] = [
    "logging",
    "metrics",
    "debugging",
    "security",
    "caching",
    "rate_limit",
    "retry",
    "cost_tracking",
];

/// What built-in hooks share with their host: the event bus (cost alerts,
/// security violations), the runner's cache (the caching hook's results),
/// and the store of the security hook's audit log.
#[derive(Clone, Default)]
pub struct BuiltinEnv {
    bus: Option<EventBus>,
    cache: Option<Arc<dyn HookCache>>,
    audit: Option<Arc<dyn StorageBackend>>,
}

impl BuiltinEnv {
    /// No bus, no shared cache, no audit store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes cost alerts and security violations on `bus`.
    #[must_use]
    pub fn with_bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Stores cached results in `cache`: the cache of the
    /// [`GuardedRunner`](crate::GuardedRunner) the hooks guard, which serves
    /// them.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn HookCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Keeps the security hook's audit log in `store`.
    #[must_use]
    pub fn with_audit_store(mut self, store: Arc<dyn StorageBackend>) -> Self {
        self.audit = Some(store);
        self
    }
}

impl std::fmt::Debug for BuiltinEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinEnv")
            .field("bus", &self.bus.is_some())
            .field("cache", &self.cache.is_some())
            .field("audit", &self.audit.is_some())
            .finish()
    }
}

/// A priority as configured: a level name or an integer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PriorityOption {
    /// `highest`, `high`, `normal`, `low`, `lowest`.
    Name(String),
    /// Any integer; higher runs first.
    Level(i32),
}

impl PriorityOption {
    /// The priority.
    ///
    /// # Errors
    /// [`Error::InvalidPriority`] for an unknown name.
    pub fn priority(&self) -> Result<Priority> {
        match self {
            PriorityOption::Name(n) => Priority::from_str(n),
            PriorityOption::Level(l) => Ok(Priority(*l)),
        }
    }
}

/// Where and how a configured hook is registered: the options every
/// built-in, command and script hook takes besides its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// The points (default: the hook's own, see each hook).
    pub points: Option<Vec<String>>,
    /// Only operations of this component: a name or a glob (`web_*`).
    pub component: Option<String>,
    /// The priority (default: the hook's own).
    pub priority: Option<PriorityOption>,
    /// Tags for listings.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `"open"` (skip the hook when it cannot run) or `"closed"` (cancel
    /// the operation). Default: the hook's own.
    pub fail: Option<FailMode>,
    /// The hook's time limit per call, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// The hook's name (default: the hook's own).
    pub name: Option<String>,
    /// Names of hooks at the same points it runs after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Names of hooks at the same points it runs before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// Whether `after` and `before` may name hooks not registered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl Placement {
    /// The points: the configured ones, or `default` when none are.
    ///
    /// # Errors
    /// An unknown point name (with the closest one), or an empty list.
    pub fn points_or(&self, default: &[HookPoint]) -> Result<Vec<HookPoint>> {
        match &self.points {
            None => Ok(default.to_vec()),
            Some(names) if names.is_empty() => Err(Error::InvalidConfig {
                field: "points",
                message: "the list of points is empty".into(),
            }),
            Some(names) => names.iter().map(|n| HookPoint::from_str(n)).collect(),
        }
    }

    /// The registration options, over the hook's default fail mode.
    ///
    /// # Errors
    /// An unknown priority name, a timeout that is not a positive number,
    /// or a component glob that does not parse.
    pub fn hook_options(&self, default_fail: FailMode) -> Result<HookOptions> {
        let mut o = HookOptions::new().fail_mode(self.fail.unwrap_or(default_fail));
        if let Some(p) = &self.priority {
            o = o.priority(p.priority()?);
        }
        if let Some(c) = &self.component {
            o = o.component(c.clone());
        }
        for t in &self.tags {
            o = o.tag(t.clone());
        }
        if let Some(ms) = self.timeout_ms {
            if !(ms.is_finite() && ms > 0.0) {
                return Err(Error::InvalidConfig {
                    field: "timeout_ms",
                    message: format!("must be a positive number of milliseconds, got {ms}"),
                });
            }
            o = o.timeout(Duration::from_secs_f64(ms / 1000.0));
        }
        if let Some(n) = &self.name {
            o = o.name(n.clone());
        }
        for name in &self.after {
            o = o.after(name.clone());
        }
        for name in &self.before {
            o = o.before(name.clone());
        }
        o = o.optional_dependencies(self.optional);
        o.validate()?;
        Ok(o)
    }
}

/// The concrete hook behind a [`BuiltinHook`], for its report.
#[derive(Clone)]
enum Concrete {
    Logging,
    Metrics(Arc<MetricsHook>),
    Debugging(Arc<DebuggingHook>),
    Security(Arc<SecurityHook>),
    Caching(Arc<CachingHook>),
    RateLimit(Arc<RateLimitHook>),
    Retry(Arc<RetryHook>),
    Cost(Arc<CostTrackingHook>),
}

/// A built-in hook built by name from JSON options, with where it applies.
#[derive(Clone)]
pub struct BuiltinHook {
    kind: &'static str,
    hook: Arc<dyn Hook>,
    concrete: Concrete,
    placement: Placement,
    points: Vec<HookPoint>,
    default_fail: FailMode,
    /// Points registered fail-closed whatever the placement says (the cost
    /// guard's `BeforeLlmCall`).
    always_closed: Vec<HookPoint>,
}

impl std::fmt::Debug for BuiltinHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinHook")
            .field("kind", &self.kind)
            .field("points", &self.points)
            .field("placement", &self.placement)
            .finish()
    }
}

const OPERATIONS_BEFORE: [HookPoint; 4] = [
    HookPoint::BeforeToolExecution,
    HookPoint::BeforeAgentExecution,
    HookPoint::BeforeWorkflowStart,
    HookPoint::BeforeLlmCall,
];
const OPERATIONS_AFTER: [HookPoint; 8] = [
    HookPoint::AfterToolExecution,
    HookPoint::ToolError,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentError,
    HookPoint::AfterWorkflowComplete,
    HookPoint::WorkflowError,
    HookPoint::AfterLlmCall,
    HookPoint::LlmError,
];

impl BuiltinHook {
    /// Builds the built-in hook `name` from `options` (a JSON object of the
    /// hook's own options and the [`Placement`] options, or null).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown name or option (naming the
    /// valid ones and the closest match), a value of the wrong type, a bad
    /// setting (as the hook's builder checks it), or an option that needs
    /// something `env` lacks (`audit` without an audit store).
    pub fn build(name: &str, options: &Value, env: &BuiltinEnv) -> Result<Self> {
        let Some(kind) = BUILTIN_NAMES.iter().find(|n| **n == name).copied() else {
            let hint = llmspell_core::suggest::did_you_mean(name, BUILTIN_NAMES);
            return Err(Error::InvalidConfig {
                field: "name",
                message: format!(
                    "unknown built-in hook `{name}`{hint}; valid: {}",
                    BUILTIN_NAMES.join(", ")
                ),
            });
        };
        let what = format!("the {kind} hook");
        let also = llmspell_core::params::keys::<Placement>();
        let (placement, own) = options::split(&what, options, also)?;
        let placement: Placement = options::read(&what, &placement, &[])?;
        let mut always_closed = Vec::new();
        let (hook, concrete, points, default_fail): (Arc<dyn Hook>, _, Vec<HookPoint>, _) =
            match kind {
                "logging" => {
                    let o: LoggingOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build()?);
                    let all: Vec<HookPoint> = OPERATIONS_BEFORE
                        .into_iter()
                        .chain(OPERATIONS_AFTER)
                        .collect();
                    (hook, Concrete::Logging, all, FailMode::Open)
                }
                "metrics" => {
                    let o: MetricsOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build()?);
                    let points = OPERATIONS_AFTER.to_vec();
                    (
                        hook.clone(),
                        Concrete::Metrics(hook),
                        points,
                        FailMode::Open,
                    )
                }
                "debugging" => {
                    let o: DebuggingOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build()?);
                    let all: Vec<HookPoint> = OPERATIONS_BEFORE
                        .into_iter()
                        .chain(OPERATIONS_AFTER)
                        .collect();
                    (hook.clone(), Concrete::Debugging(hook), all, FailMode::Open)
                }
                "security" => {
                    let o: SecurityOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build(env)?);
                    let points = OPERATIONS_BEFORE.to_vec();
                    (
                        hook.clone(),
                        Concrete::Security(hook),
                        points,
                        FailMode::Closed,
                    )
                }
                "caching" => {
                    let o: CachingOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build(env)?);
                    let points = vec![HookPoint::BeforeToolExecution];
                    (
                        hook.clone(),
                        Concrete::Caching(hook),
                        points,
                        FailMode::Open,
                    )
                }
                "rate_limit" => {
                    let o: RateLimitOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build()?);
                    let points = vec![HookPoint::BeforeToolExecution, HookPoint::BeforeLlmCall];
                    (
                        hook.clone(),
                        Concrete::RateLimit(hook),
                        points,
                        FailMode::Open,
                    )
                }
                "retry" => {
                    let o: RetryOptions = options::read(&what, &own, also)?;
                    let hook = Arc::new(o.build()?);
                    let points = vec![HookPoint::ToolError, HookPoint::LlmError];
                    (hook.clone(), Concrete::Retry(hook), points, FailMode::Open)
                }
                _ => {
                    let o: CostOptions = options::read(&what, &own, also)?;
                    let guard = o.guard.unwrap_or(true);
                    let hook = Arc::new(o.build(env)?);
                    let mut points = vec![HookPoint::AfterLlmCall];
                    if guard {
                        points.extend([HookPoint::BeforeLlmCall, HookPoint::LlmError]);
                        always_closed.push(HookPoint::BeforeLlmCall);
                    }
                    (hook.clone(), Concrete::Cost(hook), points, FailMode::Open)
                }
            };
        let points = placement.points_or(&points)?;
        // Check the placement now, so installing cannot fail on it later.
        let _checked = placement.hook_options(default_fail)?;
        Ok(Self {
            kind,
            hook,
            concrete,
            placement,
            points,
            default_fail,
            always_closed,
        })
    }

    /// The built-in's name (`"caching"`).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The hook.
    pub fn hook(&self) -> Arc<dyn Hook> {
        self.hook.clone()
    }

    /// The points it applies to.
    pub fn points(&self) -> &[HookPoint] {
        &self.points
    }

    /// The placement options it was built with.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Registers the hook at each of its points, with its placement.
    ///
    /// # Errors
    /// As [`HookRegistry::register_all`]; nothing is registered then.
    pub fn install(&self, registry: &HookRegistry) -> Result<Vec<HookHandle>> {
        registry.register_all(self.registrations()?)
    }

    /// What [`install`](Self::install) registers: the hook at each point,
    /// with its options (for a loader of its own, such as
    /// [`SelectiveHookRegistry`](crate::SelectiveHookRegistry)).
    ///
    /// # Errors
    /// As [`Placement::hook_options`].
    pub fn registrations(&self) -> Result<Vec<Registration>> {
        let options = self.placement.hook_options(self.default_fail)?;
        Ok(self
            .points
            .iter()
            .map(|p| {
                let mut o = options.clone();
                if self.always_closed.contains(p) {
                    o = o.fail_mode(FailMode::Closed);
                }
                (p.clone(), self.hook.clone(), o)
            })
            .collect())
    }

    /// The hook's own figures as JSON: cache hits and misses, cost so far,
    /// calls limited, retries, violations and the audit chain's state,
    /// captured contexts, metric series.
    pub async fn report(&self) -> Value {
        let mut report = match &self.concrete {
            Concrete::Logging => json!({}),
            Concrete::Metrics(h) => json!({
                "series": h.snapshot(),
                "prometheus": h.export_prometheus(),
            }),
            Concrete::Debugging(h) => json!({
                "captured": h.len(),
                "capacity": h.capacity(),
                "dropped": h.dropped(),
                "recent": h.recent(h.capacity()),
            }),
            Concrete::Security(h) => {
                let audit = match h.verify().await {
                    Ok(v) => serde_json::to_value(&v).unwrap_or(Value::Null),
                    Err(Error::InvalidConfig { .. }) => Value::Null,
                    Err(e) => json!({ "error": e.to_string() }),
                };
                json!({ "violations": h.violations(), "audit": audit })
            }
            Concrete::Caching(h) => {
                let stats = h.stats();
                json!({
                    "hits": stats.hits,
                    "misses": stats.misses,
                    "evictions": stats.evictions,
                    "entries": stats.entries,
                    "decisions": h.decisions(),
                })
            }
            Concrete::RateLimit(h) => json!({ "limited": h.limited() }),
            Concrete::Retry(h) => json!({ "retries": h.retries(), "gave_up": h.gave_up() }),
            Concrete::Cost(h) => serde_json::to_value(h.report()).unwrap_or(Value::Null),
        };
        if let Value::Object(map) = &mut report {
            map.insert("hook".into(), json!(self.kind));
            map.insert(
                "points".into(),
                self.points.iter().map(|p| json!(p.to_string())).collect(),
            );
        }
        report
    }
}

/// A command hook as configured: one table of the command's options
/// (`argv`, `timeout_ms`, `env`, `set_env`, `cwd`, `max_stdout_bytes`,
/// `max_stderr_bytes`) and the placement options. `timeout_ms` is the
/// command's: the registration's own limit is one second more, so the
/// command's timeout (which kills its process group) decides.
///
/// # Errors
/// [`Error::InvalidConfig`] for an unknown key (naming the valid ones and
/// the closest match), a wrong value or an invalid command setting.
pub fn command_hook(options: &Value) -> Result<(CommandHook, Placement)> {
    let what = "a command hook";
    let placement_keys: Vec<&str> = llmspell_core::params::keys::<Placement>()
        .iter()
        .copied()
        .filter(|k| *k != "timeout_ms")
        .collect();
    let (placement, own) = options::split(what, options, &placement_keys)?;
    let mut placement: Placement = options::read(what, &placement, &[])?;
    let own_keys = llmspell_core::params::keys::<CommandHookConfig>();
    options::check_keys(what, &own, own_keys, &placement_keys)?;
    let config: CommandHookConfig =
        llmspell_core::params::parse(&own).map_err(|e| Error::InvalidConfig {
            field: "options",
            message: format!("{what}: {e}"),
        })?;
    placement.timeout_ms = Some(config.timeout_ms as f64 + 1000.0);
    Ok((CommandHook::new(config)?, placement))
}

fn millis(field: &'static str, ms: f64) -> Result<Duration> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(Error::InvalidConfig {
            field,
            message: format!("must be a number of milliseconds (0 or more), got {ms}"),
        })
    }
}

fn level(field: &'static str, name: &str) -> Result<Level> {
    Level::from_str(name).map_err(|_| Error::InvalidConfig {
        field,
        message: format!("unknown level {name:?}; valid: trace, debug, info, warn, error"),
    })
}

/// The options of the logging hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoggingOptions {
    level: Option<String>,
    error_level: Option<String>,
    fields: Option<Vec<String>>,
    data_keys: Option<Vec<String>>,
    max_data_bytes: Option<usize>,
    redact_keys: Option<Vec<String>>,
    redact_key_pattern: Option<String>,
    redact_value_pattern: Option<String>,
}

impl LoggingOptions {
    fn build(self) -> Result<LoggingHook> {
        let mut b = LoggingHook::builder();
        if let Some(l) = &self.level {
            b = b.level(level("level", l)?);
        }
        if let Some(l) = &self.error_level {
            b = b.error_level(level("error_level", l)?);
        }
        if let Some(fields) = &self.fields {
            let fields = fields
                .iter()
                .map(|f| log_field(f))
                .collect::<Result<Vec<_>>>()?;
            b = b.fields(fields);
        }
        if let Some(keys) = self.data_keys {
            b = b.data_keys(keys);
        }
        if let Some(n) = self.max_data_bytes {
            b = b.max_data_bytes(n);
        }
        if let Some(keys) = self.redact_keys {
            b = b.redact_keys(keys);
        }
        if let Some(p) = self.redact_key_pattern {
            b = b.redact_key_pattern(p);
        }
        if let Some(p) = self.redact_value_pattern {
            b = b.redact_value_pattern(p);
        }
        b.build()
    }
}

fn log_field(name: &str) -> Result<LogField> {
    Ok(match name {
        "point" => LogField::Point,
        "component" => LogField::Component,
        "correlation_id" => LogField::CorrelationId,
        "parent_id" => LogField::ParentId,
        "language" => LogField::Language,
        "data" => LogField::Data,
        "metadata" => LogField::Metadata,
        "elapsed" => LogField::Elapsed,
        "attempt" => LogField::Attempt,
        other => {
            return Err(Error::InvalidConfig {
                field: "fields",
                message: format!(
                    "unknown field {other:?}; valid: point, component, correlation_id, \
                     parent_id, language, data, metadata, elapsed, attempt"
                ),
            });
        }
    })
}

/// The options of the metrics hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsOptions {
    namespace: Option<String>,
    const_labels: Option<BTreeMap<String, String>>,
    quantiles: Option<Vec<f64>>,
    max_series: Option<usize>,
}

impl MetricsOptions {
    fn build(self) -> Result<MetricsHook> {
        let mut b = MetricsHook::builder();
        if let Some(n) = self.namespace {
            b = b.namespace(n);
        }
        for (k, v) in self.const_labels.into_iter().flatten() {
            b = b.const_label(k, v);
        }
        if let Some(q) = self.quantiles {
            b = b.quantiles(q);
        }
        if let Some(m) = self.max_series {
            b = b.max_series(m);
        }
        b.build()
    }
}

/// The options of the debugging hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DebuggingOptions {
    capacity: Option<usize>,
    capture_data: Option<bool>,
    max_data_bytes: Option<usize>,
}

impl DebuggingOptions {
    fn build(self) -> Result<DebuggingHook> {
        let mut b = DebuggingHook::builder();
        if let Some(c) = self.capacity {
            b = b.capacity(c);
        }
        if let Some(c) = self.capture_data {
            b = b.capture_data(c);
        }
        if let Some(n) = self.max_data_bytes {
            b = b.max_data_bytes(n);
        }
        b.build()
    }
}

/// One entry of the security hook's `deny` list: the components it refuses.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyRule {
    tool: Option<String>,
    agent: Option<String>,
    workflow: Option<String>,
    component: Option<String>,
}

/// The options of the security hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityOptions {
    deny: Option<Vec<DenyRule>>,
    max_payload_bytes: Option<usize>,
    deny_path_traversal: Option<bool>,
    deny_absolute_paths: Option<bool>,
    path_fields: Option<Vec<String>>,
    deny_patterns: Option<BTreeMap<String, String>>,
    audit: Option<bool>,
    audit_namespace: Option<String>,
    audit_data: Option<bool>,
    audit_seal_key_env: Option<String>,
}

impl SecurityOptions {
    fn build(self, env: &BuiltinEnv) -> Result<SecurityHook> {
        let mut b = SecurityHook::builder();
        for rule in self.deny.into_iter().flatten() {
            let given = [
                ("tool", rule.tool),
                ("agent", rule.agent),
                ("workflow", rule.workflow),
                ("component", rule.component),
            ];
            let mut set = given.into_iter().filter_map(|(k, v)| v.map(|v| (k, v)));
            let (Some((kind, name)), None) = (set.next(), set.next()) else {
                return Err(Error::InvalidConfig {
                    field: "deny",
                    message: "each deny rule names one of tool, agent, workflow or component \
                              (a name or a glob)"
                        .into(),
                });
            };
            let kind = match kind {
                "tool" => Some(ComponentType::Tool),
                "agent" => Some(ComponentType::Agent),
                "workflow" => Some(ComponentType::Workflow),
                _ => None,
            };
            b = b.deny_component(kind, name);
        }
        if let Some(n) = self.max_payload_bytes {
            b = b.max_payload_bytes(n);
        }
        if let Some(on) = self.deny_path_traversal {
            b = b.deny_path_traversal(on);
        }
        if let Some(on) = self.deny_absolute_paths {
            b = b.deny_absolute_paths(on);
        }
        if let Some(f) = self.path_fields {
            b = b.path_fields(f);
        }
        for (name, pattern) in self.deny_patterns.into_iter().flatten() {
            b = b.deny_pattern(name, pattern);
        }
        if self.audit.unwrap_or(false) {
            let store = env.audit.clone().ok_or_else(|| Error::InvalidConfig {
                field: "audit",
                message: "the audit log needs a store, and this runtime has none configured".into(),
            })?;
            b = b.audit(store);
        }
        if let Some(ns) = self.audit_namespace {
            b = b.audit_namespace(ns);
        }
        if let Some(on) = self.audit_data {
            b = b.audit_data(on);
        }
        if let Some(var) = self.audit_seal_key_env {
            let key = std::env::var(&var).map_err(|_| Error::InvalidConfig {
                field: "audit_seal_key_env",
                message: format!(
                    "the environment variable {var:?} that should hold the audit seal key is not set"
                ),
            })?;
            b = b.audit_seal_key(key.into_bytes());
        }
        if let Some(bus) = &env.bus {
            b = b.bus(bus.clone());
        }
        b.build()
    }
}

/// The options of the caching hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachingOptions {
    ttl_ms: Option<f64>,
    ttl_ms_for: Option<BTreeMap<String, f64>>,
    max_entries: Option<u64>,
    key_prefix: Option<String>,
    key_metadata: Option<Vec<String>>,
}

impl CachingOptions {
    fn build(self, env: &BuiltinEnv) -> Result<CachingHook> {
        let mut b = CachingHook::builder();
        if let Some(cache) = &env.cache {
            b = b.cache(cache.clone());
        }
        if let Some(ms) = self.ttl_ms {
            b = b.ttl(millis("ttl_ms", ms)?);
        }
        for (name, ms) in self.ttl_ms_for.into_iter().flatten() {
            b = b.ttl_for(name, millis("ttl_ms_for", ms)?);
        }
        if let Some(m) = self.max_entries {
            b = b.max_entries(m);
        }
        if let Some(p) = self.key_prefix {
            b = b.key_prefix(p);
        }
        if let Some(k) = self.key_metadata {
            b = b.key_metadata(k);
        }
        b.build()
    }
}

/// A quota as configured: exactly one rate, and an optional burst.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaOptions {
    per_second: Option<u32>,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    burst: Option<u32>,
}

impl QuotaOptions {
    /// The quota, or `None` when no rate is given.
    fn quota(&self, field: &'static str) -> Result<Option<RateQuota>> {
        let rates = [self.per_second, self.per_minute, self.per_hour];
        let quota = match rates {
            [None, None, None] => return Ok(None),
            [Some(n), None, None] => RateQuota::per_second(n),
            [None, Some(n), None] => RateQuota::per_minute(n),
            [None, None, Some(n)] => RateQuota::per_hour(n),
            _ => {
                return Err(Error::InvalidConfig {
                    field,
                    message: "give one of per_second, per_minute or per_hour".into(),
                });
            }
        };
        Ok(Some(match self.burst {
            Some(b) => quota.burst(b),
            None => quota,
        }))
    }
}

/// The options of the rate limit hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitOptions {
    per_second: Option<u32>,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    burst: Option<u32>,
    key: Option<String>,
    mode: Option<String>,
    max_attempts: Option<u32>,
    max_wait_ms: Option<f64>,
    quotas: Option<BTreeMap<String, QuotaOptions>>,
}

impl RateLimitOptions {
    fn build(self) -> Result<RateLimitHook> {
        let mut b = RateLimitHook::builder();
        let default = QuotaOptions {
            per_second: self.per_second,
            per_minute: self.per_minute,
            per_hour: self.per_hour,
            burst: self.burst,
        };
        if let Some(q) = default.quota("per_second")? {
            b = b.default_quota(q);
        }
        match self.key.as_deref() {
            None | Some("component") => {}
            Some(k) => match k.strip_prefix("metadata:") {
                Some(field) if !field.is_empty() => b = b.key(RateKey::Metadata(field.into())),
                _ => {
                    return Err(Error::InvalidConfig {
                        field: "key",
                        message: format!(
                            "unknown key {k:?}; valid: \"component\" or \"metadata:<field>\""
                        ),
                    });
                }
            },
        }
        let retry_only = self.max_attempts.is_some() || self.max_wait_ms.is_some();
        match self.mode.as_deref() {
            None | Some("retry") => {
                if self.mode.is_some() || retry_only {
                    b = b.mode(RateLimitMode::Retry {
                        max_attempts: self.max_attempts.unwrap_or(3),
                        max_wait: millis("max_wait_ms", self.max_wait_ms.unwrap_or(5000.0))?,
                    });
                }
            }
            Some("cancel") if !retry_only => b = b.mode(RateLimitMode::Cancel),
            Some("cancel") => {
                return Err(Error::InvalidConfig {
                    field: "mode",
                    message: "max_attempts and max_wait_ms apply to mode \"retry\" only".into(),
                });
            }
            Some(other) => {
                return Err(Error::InvalidConfig {
                    field: "mode",
                    message: format!("unknown mode {other:?}; valid: \"cancel\", \"retry\""),
                });
            }
        }
        for (key, q) in self.quotas.into_iter().flatten() {
            let Some(quota) = q.quota("quotas")? else {
                return Err(Error::InvalidConfig {
                    field: "quotas",
                    message: format!("the quota of {key:?} gives no rate"),
                });
            };
            b = b.quota_for(key, quota);
        }
        b.build()
    }
}

/// The options of the retry hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryOptions {
    max_attempts: Option<u32>,
    backoff_ms: Option<f64>,
    multiplier: Option<f64>,
    max_delay_ms: Option<f64>,
    jitter: Option<f64>,
    retry_on: Option<Vec<String>>,
    retry_on_message: Option<Vec<String>>,
    never_on_message: Option<Vec<String>>,
}

impl RetryOptions {
    fn build(self) -> Result<RetryHook> {
        let mut b = RetryHook::builder();
        if let Some(n) = self.max_attempts {
            b = b.max_attempts(n);
        }
        let d = Backoff::default();
        b = b.backoff(Backoff::new(
            self.backoff_ms
                .map(|ms| millis("backoff_ms", ms))
                .transpose()?
                .unwrap_or(d.base),
            self.multiplier.unwrap_or(d.multiplier),
            self.max_delay_ms
                .map(|ms| millis("max_delay_ms", ms))
                .transpose()?
                .unwrap_or(d.max_delay),
            self.jitter.unwrap_or(d.jitter),
        ));
        if let Some(kinds) = self.retry_on {
            let kinds = kinds
                .iter()
                .map(|k| {
                    ErrorKind::from_name(k).ok_or_else(|| Error::InvalidConfig {
                        field: "retry_on",
                        message: format!(
                            "unknown error kind {k:?}; valid: timeout, external, provider, \
                             storage, execution, resource_limit_exceeded, other, ..."
                        ),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            b = b.retry_kinds(kinds);
        }
        for p in self.retry_on_message.into_iter().flatten() {
            b = b.retry_on_message(p);
        }
        for p in self.never_on_message.into_iter().flatten() {
            b = b.never_on_message(p);
        }
        b.build()
    }
}

/// A model's price as configured: per million tokens, as providers publish
/// them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceOptions {
    input: f64,
    output: f64,
}

/// The options of the cost tracking hook.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CostOptions {
    budget_usd: Option<f64>,
    component_budgets_usd: Option<BTreeMap<String, f64>>,
    thresholds: Option<Vec<f64>>,
    pricing: Option<BTreeMap<String, PriceOptions>>,
    guard: Option<bool>,
    unknown_model: Option<String>,
    chars_per_token: Option<f64>,
    default_max_tokens: Option<u64>,
}

impl CostOptions {
    fn build(self, env: &BuiltinEnv) -> Result<CostTrackingHook> {
        let mut b = CostTrackingHook::builder();
        let budget = |limit: f64| match &self.thresholds {
            Some(t) => Budget::new(limit).thresholds(t.clone()),
            None => Budget::new(limit),
        };
        if let Some(limit) = self.budget_usd {
            b = b.total_budget(budget(limit));
        }
        for (name, limit) in self.component_budgets_usd.iter().flatten() {
            b = b.component_budget(name.clone(), budget(*limit));
        }
        if let Some(prices) = &self.pricing {
            let mut table = PricingTable::with_defaults();
            for (spec, price) in prices {
                let Some((provider, model)) = spec.split_once('/') else {
                    return Err(Error::InvalidConfig {
                        field: "pricing",
                        message: format!(
                            "price key {spec:?} must be \"provider/model\" (\"openai/gpt-4o-mini\")"
                        ),
                    });
                };
                table.set(
                    provider,
                    model,
                    ModelPrice::new(price.input / 1000.0, price.output / 1000.0),
                );
            }
            b = b.pricing(table);
        }
        if let Some(g) = self.guard {
            b = b.guard(g);
        }
        match self.unknown_model.as_deref() {
            None => {}
            Some("allow") => b = b.unknown_model(UnknownModelPolicy::Allow),
            Some("deny") => b = b.unknown_model(UnknownModelPolicy::Deny),
            Some(other) => {
                return Err(Error::InvalidConfig {
                    field: "unknown_model",
                    message: format!("unknown policy {other:?}; valid: \"allow\", \"deny\""),
                });
            }
        }
        if let Some(c) = self.chars_per_token {
            b = b.chars_per_token(c);
        }
        if let Some(t) = self.default_max_tokens {
            b = b.default_max_tokens(t);
        }
        if let Some(bus) = &env.bus {
            b = b.bus(bus.clone());
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_builds_with_no_options() {
        let env = BuiltinEnv::new();
        for name in BUILTIN_NAMES {
            let b = BuiltinHook::build(name, &Value::Null, &env).unwrap();
            assert_eq!(b.kind(), name);
            assert!(!b.points().is_empty(), "{name}");
        }
    }

    #[test]
    fn unknown_names_and_options_are_named() {
        let env = BuiltinEnv::new();
        let e = BuiltinHook::build("cache", &Value::Null, &env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`cache`") && e.contains("did you mean `caching`"),
            "{e}"
        );
        assert!(e.contains("rate_limit, retry, cost_tracking"), "{e}");
        let e = BuiltinHook::build("caching", &json!({ "ttl": 5 }), &env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`ttl`") && e.contains("did you mean `ttl_ms`"),
            "{e}"
        );
        assert!(
            e.contains("ttl_ms, ttl_ms_for") && e.contains("points"),
            "{e}"
        );
        let e = BuiltinHook::build("caching", &json!({ "ttl_ms": "soon" }), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ttl_ms`"), "{e}");
        let e = BuiltinHook::build("retry", &json!({ "points": ["ToolEror"] }), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ToolError"), "{e}");
        let e = BuiltinHook::build("security", &json!({ "audit": true }), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("audit") && e.contains("store"), "{e}");
        let e = BuiltinHook::build(
            "rate_limit",
            &json!({ "per_second": 1, "per_hour": 2 }),
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one of per_second"), "{e}");
    }

    #[test]
    fn the_cost_guard_is_always_fail_closed() {
        let registry = HookRegistry::new();
        let cost = BuiltinHook::build(
            "cost_tracking",
            &json!({ "budget_usd": 1.0, "fail": "open" }),
            &BuiltinEnv::new(),
        )
        .unwrap();
        let _h = cost.install(&registry).unwrap();
        let listed = registry.list(&crate::HookFilter::new());
        assert_eq!(listed.len(), 3);
        for h in listed {
            let closed = h.point == HookPoint::BeforeLlmCall;
            assert_eq!(h.fail_mode == FailMode::Closed, closed, "{}", h.point);
        }
    }

    #[tokio::test]
    async fn security_deny_rules_refuse_components_by_kind_and_glob() {
        use llmspell_core::ComponentId;
        let registry = HookRegistry::new();
        let security = BuiltinHook::build(
            "security",
            &json!({ "deny": [{ "tool": "process_*" }] }),
            &BuiltinEnv::new(),
        )
        .unwrap();
        let _h = security.install(&registry).unwrap();
        let executor = crate::HookExecutor::new(registry);
        let fire = |c: ComponentId| {
            let executor = executor.clone();
            async move {
                let mut ctx = crate::HookContext::new(HookPoint::BeforeToolExecution, c, json!({}));
                executor
                    .execute_point(&mut ctx)
                    .await
                    .unwrap()
                    .result()
                    .clone()
            }
        };
        let refused = fire(ComponentId::tool("process_executor")).await;
        let crate::HookResult::Cancel(reason) = refused else {
            panic!("not refused: {refused:?}")
        };
        assert!(reason.contains("denied_component") && reason.contains("process_executor"));
        assert_eq!(
            fire(ComponentId::tool("calculator")).await,
            crate::HookResult::Continue
        );
        assert_eq!(
            fire(ComponentId::agent("process_agent")).await,
            crate::HookResult::Continue,
            "a tool rule does not refuse an agent"
        );
        let report = security.report().await;
        assert_eq!(report["violations"], 1);
        assert_eq!(report["hook"], "security");
    }

    #[test]
    fn command_hooks_read_their_options_and_placement_from_one_table() {
        let (hook, placement) = command_hook(&json!({
            "argv": ["python3", "policy.py"],
            "timeout_ms": 2000,
            "points": ["BeforeToolExecution"],
            "component": "web_*",
            "fail": "closed",
        }))
        .unwrap();
        assert_eq!(hook.config().argv, ["python3", "policy.py"]);
        assert_eq!(placement.timeout_ms, Some(3000.0));
        assert_eq!(placement.fail, Some(FailMode::Closed));
        let e = command_hook(&json!({ "argv": ["x"], "timout_ms": 1 }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `timeout_ms`"), "{e}");
        let e = command_hook(&json!({ "points": ["BeforeToolExecution"] }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("argv"), "{e}");
    }
}
