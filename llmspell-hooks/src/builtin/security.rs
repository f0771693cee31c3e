//! Audit log, input validation and violation events.

mod audit;
mod validation;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use llmspell_core::ComponentType;
use llmspell_events::{EventBus, Topic, UniversalEvent};
use llmspell_storage::StorageBackend;
use regex::{Regex, RegexSet};
use serde_json::json;

pub use audit::{AuditProblem, AuditRecord, AuditVerification};

use self::audit::{AuditLog, Draft, MIN_SEAL_KEY_BYTES, SealKey};
use self::validation::{Rules, Violation};
use super::canonical::canonical_sha256;
use super::redaction::Redactor;
use super::{PointPhase, invalid};
use crate::{Hook, HookContext, HookMetadata, HookResult, Priority};

/// The topic of the events published when a rule refuses an input.
pub const VIOLATION_TOPIC: &str = "security.violation";

/// The storage namespace the audit log is written to unless
/// [`audit_namespace`](SecurityHookBuilder::audit_namespace) names another.
pub const DEFAULT_AUDIT_NAMESPACE: &str = "audit";

/// Guards operations: validates inputs, keeps a tamper-evident audit log and
/// reports violations.
///
/// **Validation** (at every point except After and Error points, whose data
/// is an output or an error): the first broken rule cancels the operation
/// with `Cancel("security rule <rule>: <detail>")`. Rules, checked in this
/// order:
/// - `max_payload_size`: the input's compact JSON is longer than the limit;
/// - `denied_pattern:<name>`: a string anywhere in the input matches a
///   denied regex;
/// - `path_traversal` (on by default): a string has a `..` segment (split on
///   `/` and `\`, after decoding `%2e`, `%2f`, `%5c`);
/// - `absolute_path` (off by default): a string starts with `/`, `\` or a
///   drive letter.
///
/// The two path rules look at every string, or only at strings under the
/// keys named by [`path_fields`](SecurityHookBuilder::path_fields).
///
/// Before the input rules, `denied_component` refuses every operation of a
/// component named by [`deny_component`](SecurityHookBuilder::deny_component)
/// (a name or a glob, optionally of one kind: a tool, an agent, a workflow).
///
/// **Audit** (with [`audit`](SecurityHookBuilder::audit)): every firing
/// appends an [`AuditRecord`] (allowed or denied, with the rule) to the
/// backend under the audit namespace, each hash-chained to the one before,
/// and moves the log's head (the newest record's sequence number and hash)
/// in the same atomic batch. [`verify`](SecurityHook::verify) walks the
/// chain, names the first tampered, missing or unreadable record, and
/// compares the head with the end, which catches records removed from the
/// tail; [`AuditVerification`] says what that proves and what it cannot. A
/// storage failure, or a log whose head does not match its records, is a
/// hook failure: register the hook fail-closed
/// ([`FailMode::Closed`](crate::FailMode::Closed)) so nothing runs
/// unaudited.
///
/// **Events** (with [`bus`](SecurityHookBuilder::bus)): each violation is
/// published on `security.violation` with data `{ rule, detail, point,
/// component, correlation_id }`, the operation's correlation id and
/// language.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_hooks::builtin::SecurityHook;
/// use llmspell_storage::MemoryBackend;
///
/// let security = SecurityHook::builder()
///     .max_payload_bytes(64 * 1024)
///     .deny_absolute_paths(true)
///     .path_fields(["path", "file", "directory"])
///     .deny_pattern("shell", r"[;&|`]\s*rm\s")
///     .audit(Arc::new(MemoryBackend::new()))
///     .build()?;
/// # let _ = security;
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct SecurityHook {
    denied_components: Vec<(Option<ComponentType>, String, globset::GlobMatcher)>,
    rules: Rules,
    audit: Option<AuditLog>,
    audit_data: bool,
    redactor: Redactor,
    bus: Option<(EventBus, Topic)>,
    violations: AtomicU64,
    metadata: HookMetadata,
}

/// Builds a [`SecurityHook`].
#[must_use]
pub struct SecurityHookBuilder {
    max_payload_bytes: Option<usize>,
    path_traversal: bool,
    absolute_paths: bool,
    path_fields: Option<Vec<String>>,
    denied: Vec<(String, String)>,
    denied_components: Vec<(Option<ComponentType>, String)>,
    audit: Option<Arc<dyn StorageBackend>>,
    namespace: String,
    seal_key: Option<Vec<u8>>,
    audit_data: bool,
    redactor: Redactor,
    bus: Option<EventBus>,
    name: String,
    priority: Priority,
}

impl Default for SecurityHookBuilder {
    fn default() -> Self {
        Self {
            max_payload_bytes: None,
            path_traversal: true,
            absolute_paths: false,
            path_fields: None,
            denied: Vec::new(),
            denied_components: Vec::new(),
            audit: None,
            namespace: DEFAULT_AUDIT_NAMESPACE.to_owned(),
            seal_key: None,
            audit_data: false,
            redactor: Redactor::default(),
            bus: None,
            name: "builtin.security".to_owned(),
            priority: Priority::HIGHEST,
        }
    }
}

impl SecurityHookBuilder {
    /// Refuses inputs whose compact JSON is longer than `bytes`. Default: no limit.
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = Some(bytes);
        self
    }

    /// Refuses strings with a `..` path segment. Default on.
    pub fn deny_path_traversal(mut self, on: bool) -> Self {
        self.path_traversal = on;
        self
    }

    /// Refuses absolute paths. Default off.
    pub fn deny_absolute_paths(mut self, on: bool) -> Self {
        self.absolute_paths = on;
        self
    }

    /// The path rules look only at strings under these keys (at any depth).
    /// Default: every string.
    pub fn path_fields<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.path_fields = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Refuses inputs with a string matching `pattern` (a regex); the rule
    /// is reported as `denied_pattern:<name>`.
    pub fn deny_pattern(mut self, name: impl Into<String>, pattern: impl Into<String>) -> Self {
        self.denied.push((name.into(), pattern.into()));
        self
    }

    /// Refuses every operation of the components named `name` (a name or a
    /// glob such as `process_*`), of kind `kind` or of any kind; the rule is
    /// reported as `denied_component`.
    pub fn deny_component(mut self, kind: Option<ComponentType>, name: impl Into<String>) -> Self {
        self.denied_components.push((kind, name.into()));
        self
    }

    /// Writes the audit log to `backend` (under the audit namespace).
    pub fn audit(mut self, backend: Arc<dyn StorageBackend>) -> Self {
        self.audit = Some(backend);
        self
    }

    /// The audit namespace. Default [`DEFAULT_AUDIT_NAMESPACE`] (`audit`);
    /// no `/`.
    pub fn audit_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Seals the audit log's head with HMAC-SHA256 under `key` (at least 16
    /// bytes; keep it outside the store), and checks the seal when
    /// verifying and before the first append. A head cannot then be forged
    /// by someone who can write the store but does not hold the key. Start
    /// a new log (namespace or store) when turning this on: a log whose head
    /// is not sealed under `key` is refused. Default: no seal.
    pub fn audit_seal_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.seal_key = Some(key.into());
        self
    }

    /// Stores the (redacted) data in each record, not only its hash.
    /// Default off.
    pub fn audit_data(mut self, on: bool) -> Self {
        self.audit_data = on;
        self
    }

    /// The redactor for stored data. Default [`Redactor::default`].
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Publishes violations on `bus`.
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// The hook's name. Default `builtin.security`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `HIGHEST`: inputs are checked before
    /// other hooks see them.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a payload
    /// limit of 0, an empty or duplicate pattern name, a pattern that does
    /// not compile, an empty path field list, an invalid namespace, or a
    /// seal key that is shorter than 16 bytes or set without an audit
    /// backend.
    pub fn build(self) -> crate::Result<SecurityHook> {
        if self.max_payload_bytes == Some(0) {
            return Err(invalid("max_payload_bytes", "must be at least 1"));
        }
        if self.path_fields.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("path_fields", "the list is empty"));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let mut names = Vec::with_capacity(self.denied.len());
        let mut each = Vec::with_capacity(self.denied.len());
        for (name, pattern) in &self.denied {
            if name.is_empty() || names.contains(name) {
                return Err(invalid(
                    "deny_pattern",
                    format!("pattern names must be unique and non-empty, got {name:?}"),
                ));
            }
            let re = Regex::new(pattern)
                .map_err(|e| invalid("deny_pattern", format!("{name} = {pattern:?}: {e}")))?;
            names.push(name.clone());
            each.push(re);
        }
        let denied = if each.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(each.iter().map(Regex::as_str))
                    .map_err(|e| invalid("deny_pattern", e.to_string()))?,
            )
        };
        let mut denied_components = Vec::with_capacity(self.denied_components.len());
        for (kind, name) in self.denied_components {
            let glob = globset::Glob::new(&name)
                .map_err(|e| invalid("deny_component", format!("{name:?}: {e}")))?;
            denied_components.push((kind, name, glob.compile_matcher()));
        }
        let seal = match &self.seal_key {
            Some(key) => Some(SealKey::new(key).ok_or_else(|| {
                invalid(
                    "audit_seal_key",
                    format!(
                        "the key must be at least {MIN_SEAL_KEY_BYTES} bytes, got {}",
                        key.len()
                    ),
                )
            })?),
            None => None,
        };
        let audit = match (self.audit, seal) {
            (Some(backend), seal) => Some(AuditLog::new(backend, &self.namespace, seal)?),
            (None, Some(_)) => {
                return Err(invalid(
                    "audit_seal_key",
                    "a seal key needs an audit backend (set `audit`)",
                ));
            }
            (None, None) => None,
        };
        let bus = match self.bus {
            Some(bus) => Some((
                bus,
                Topic::new(VIOLATION_TOPIC).map_err(|e| invalid("bus", e.to_string()))?,
            )),
            None => None,
        };
        Ok(SecurityHook {
            denied_components,
            rules: Rules {
                max_payload_bytes: self.max_payload_bytes,
                path_traversal: self.path_traversal,
                absolute_paths: self.absolute_paths,
                path_fields: self.path_fields,
                denied_names: names,
                denied,
                denied_each: each,
            },
            audit,
            audit_data: self.audit_data,
            redactor: self.redactor,
            bus,
            violations: AtomicU64::new(0),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_tag("security")
                .with_description("input validation, hash-chained audit log, violation events"),
        })
    }
}

impl SecurityHook {
    /// A builder with the defaults.
    pub fn builder() -> SecurityHookBuilder {
        SecurityHookBuilder::default()
    }

    /// Inputs refused so far.
    pub fn violations(&self) -> u64 {
        self.violations.load(Ordering::Relaxed)
    }

    /// Walks the audit chain, compares the head with its end, and reports
    /// the first problem: a tampered, missing or unreadable record, records
    /// missing from the tail, or a missing or mismatched head (see
    /// [`AuditVerification`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when no audit
    /// backend is configured; storage errors.
    pub async fn verify(&self) -> crate::Result<AuditVerification> {
        let log = self.audit_log()?;
        Ok(log.verify().await?)
    }

    /// Every audit record, oldest first.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and a decode error naming the key of an
    /// unreadable record.
    pub async fn audit_records(&self) -> crate::Result<Vec<AuditRecord>> {
        let log = self.audit_log()?;
        Ok(log.records().await?)
    }

    /// The `denied_component` violation of `ctx`'s component, if denied.
    fn denied(&self, ctx: &HookContext) -> Option<Violation> {
        let c = &ctx.component;
        self.denied_components
            .iter()
            .find(|(kind, _, glob)| kind.is_none_or(|k| k == c.kind) && glob.is_match(&*c.name))
            .map(|(_, name, _)| Violation {
                rule: "denied_component".to_owned(),
                detail: format!("{} {} is denied (rule {name:?})", c.kind.as_str(), c.name),
            })
    }

    fn audit_log(&self) -> crate::Result<&AuditLog> {
        self.audit
            .as_ref()
            .ok_or_else(|| invalid("audit", "no audit backend is configured"))
    }

    async fn report(&self, ctx: &HookContext, v: &Violation) {
        self.violations.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(rule = %v.rule, detail = %v.detail, component = %ctx.component, correlation_id = %ctx.correlation_id, "security violation");
        let Some((bus, topic)) = &self.bus else {
            return;
        };
        let ev = UniversalEvent::new(
            topic.clone(),
            json!({
                "rule": v.rule,
                "detail": v.detail,
                "point": ctx.point.name(),
                "component": ctx.component.to_string(),
                "component_type": ctx.component.kind.as_str(),
                "component_name": &*ctx.component.name,
                "correlation_id": ctx.correlation_id.to_string(),
            }),
        )
        .with_origin(ctx.language, &ctx.correlation_id, ctx.parent_id.as_ref())
        .with_source(ctx.component.to_string());
        if let Err(e) = bus.publish(ev).await {
            tracing::warn!(error = %e, "security violation event not delivered everywhere");
        }
    }
}

impl std::fmt::Debug for SecurityHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHook")
            .field("rules", &self.rules)
            .field("audit", &self.audit.is_some())
            .field("violations", &self.violations())
            .finish()
    }
}

#[async_trait]
impl Hook for SecurityHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let phase = PointPhase::of(&ctx.point);
        let violation = if matches!(phase, PointPhase::After | PointPhase::Error) {
            None
        } else {
            self.denied(ctx).or_else(|| {
                (!self.rules.is_empty())
                    .then(|| self.rules.check(&ctx.data))
                    .flatten()
            })
        };
        if let Some(log) = &self.audit {
            let draft = Draft {
                point: ctx.point.name().into_owned(),
                component: ctx.component.to_string(),
                correlation_id: ctx.correlation_id.clone(),
                parent_id: ctx.parent_id.clone(),
                language: ctx.language.as_str().to_owned(),
                attempt: ctx.attempt,
                decision: if violation.is_some() {
                    "denied"
                } else {
                    "allowed"
                },
                rule: violation.as_ref().map(|v| v.rule.clone()),
                detail: violation.as_ref().map(|v| v.detail.clone()),
                data_sha256: canonical_sha256(&ctx.data),
                data: self.audit_data.then(|| self.redactor.redact(&ctx.data)),
            };
            log.append(draft).await?;
        }
        match violation {
            Some(v) => {
                self.report(ctx, &v).await;
                Ok(HookResult::Cancel(format!(
                    "security rule {}: {}",
                    v.rule, v.detail
                )))
            }
            None => Ok(HookResult::Continue),
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
