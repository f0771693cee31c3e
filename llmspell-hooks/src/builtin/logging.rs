//! Structured logging of hook contexts through `tracing`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tracing::Level;

use super::redaction::{Redactor, RedactorBuilder};
use super::{PointPhase, invalid};
use crate::{Hook, HookContext, HookMetadata, HookResult, Priority};

/// The `tracing` target of the events [`LoggingHook`] writes.
const TARGET: &str = "llmspell::hooks::logging";

/// A context field [`LoggingHook`] can include in its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogField {
    /// `point`: the hook point's name.
    Point,
    /// `component`: `kind:name`.
    Component,
    /// `correlation_id`.
    CorrelationId,
    /// `parent_id` (when set).
    ParentId,
    /// `language`.
    Language,
    /// `data`: the input, output or error, as JSON text (filtered, redacted, truncated).
    Data,
    /// `metadata`: the string map as JSON text (redacted).
    Metadata,
    /// `elapsed_ms` (After and Error points).
    Elapsed,
    /// `attempt` (when greater than 1).
    Attempt,
}

impl LogField {
    /// Every field.
    pub const ALL: [LogField; 9] = [
        LogField::Point,
        LogField::Component,
        LogField::CorrelationId,
        LogField::ParentId,
        LogField::Language,
        LogField::Data,
        LogField::Metadata,
        LogField::Elapsed,
        LogField::Attempt,
    ];
}

/// Writes one structured `tracing` event per firing, with the context's
/// fields, after removing secrets.
///
/// Events go to target `llmspell::hooks::logging` with message
/// `"hook point"`; the level is [`level`](LoggingHookBuilder::level) (at
/// Error points [`error_level`](LoggingHookBuilder::error_level)). Secrets
/// are redacted from `data` and `metadata` *before* anything is formatted,
/// so no subscriber ever sees them. When no subscriber is interested in
/// the level, the hook does nothing but that check. It always returns
/// `Continue`.
///
/// ```
/// use llmspell_hooks::builtin::{LogField, LoggingHook};
/// use tracing::Level;
///
/// let hook = LoggingHook::builder()
///     .level(Level::DEBUG)
///     .fields([LogField::Point, LogField::Component, LogField::Data])
///     .data_keys(["path", "operation"])
///     .redact_key("session_cookie")
///     .build()?;
/// # let _ = hook;
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LoggingHook {
    level: Level,
    error_level: Level,
    fields: BTreeSet<LogField>,
    data_keys: Option<Vec<String>>,
    max_data_bytes: usize,
    redactor: Redactor,
    metadata: HookMetadata,
}

/// Builds a [`LoggingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct LoggingHookBuilder {
    level: Level,
    error_level: Level,
    fields: BTreeSet<LogField>,
    data_keys: Option<Vec<String>>,
    max_data_bytes: usize,
    redactor: RedactorBuilder,
    prebuilt: Option<Redactor>,
    name: String,
    priority: Priority,
}

impl Default for LoggingHookBuilder {
    fn default() -> Self {
        Self {
            level: Level::INFO,
            error_level: Level::WARN,
            fields: LogField::ALL.into_iter().collect(),
            data_keys: None,
            max_data_bytes: 4096,
            redactor: RedactorBuilder::default(),
            prebuilt: None,
            name: "builtin.logging".to_owned(),
            priority: Priority::NORMAL,
        }
    }
}

impl LoggingHookBuilder {
    /// The level of events at Before, After and other points. Default `INFO`.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// The level of events at Error points. Default `WARN`.
    pub fn error_level(mut self, level: Level) -> Self {
        self.error_level = level;
        self
    }

    /// The context fields to include. Default: all of [`LogField::ALL`].
    pub fn fields(mut self, fields: impl IntoIterator<Item = LogField>) -> Self {
        self.fields = fields.into_iter().collect();
        self
    }

    /// Only these top-level keys of an object `data` are logged (others are
    /// dropped before redaction). Default: every key.
    pub fn data_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.data_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// `data` text longer than this is cut (at a character boundary) and
    /// marked `…(truncated)`. Default 4096 bytes; at least 16.
    pub fn max_data_bytes(mut self, bytes: usize) -> Self {
        self.max_data_bytes = bytes;
        self
    }

    /// Adds a key to redact (in addition to `api_key`, `password`, `token`,
    /// `authorization`); matched without case, ignoring `_` and `-`.
    pub fn redact_key(mut self, key: impl Into<String>) -> Self {
        self.redactor = self.redactor.key(key);
        self
    }

    /// Replaces the keys to redact, the defaults included.
    pub fn redact_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redactor = self.redactor.keys(keys);
        self
    }

    /// Adds a regex over key names; matching keys are redacted.
    pub fn redact_key_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.redactor = self.redactor.key_pattern(pattern);
        self
    }

    /// Adds a regex over string values; matching text is redacted.
    pub fn redact_value_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.redactor = self.redactor.value_pattern(pattern);
        self
    }

    /// Uses a ready-made redactor instead of the `redact_*` settings.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.prebuilt = Some(redactor);
        self
    }

    /// The hook's name. Default `builtin.logging`.
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
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an empty
    /// field list, an empty data key, `max_data_bytes` under 16, or a
    /// redaction setting that does not compile.
    pub fn build(self) -> crate::Result<LoggingHook> {
        if self.fields.is_empty() {
            return Err(invalid(
                "fields",
                "no fields selected; choose at least one LogField",
            ));
        }
        if let Some(keys) = &self.data_keys
            && keys.iter().any(String::is_empty)
        {
            return Err(invalid("data_keys", "a data key is empty"));
        }
        if self.max_data_bytes < 16 {
            return Err(invalid(
                "max_data_bytes",
                format!("{} is too small; use at least 16", self.max_data_bytes),
            ));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let redactor = match self.prebuilt {
            Some(r) => r,
            None => self.redactor.build()?,
        };
        Ok(LoggingHook {
            level: self.level,
            error_level: self.error_level,
            fields: self.fields,
            data_keys: self.data_keys,
            max_data_bytes: self.max_data_bytes,
            redactor,
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("structured logs of hook contexts, secrets redacted"),
        })
    }
}

/// The values of one event; `None` fields are not recorded.
struct Fields {
    point: Option<String>,
    component: Option<String>,
    correlation_id: Option<String>,
    parent_id: Option<String>,
    language: Option<&'static str>,
    data: Option<String>,
    metadata: Option<String>,
    elapsed_ms: Option<f64>,
    attempt: Option<u32>,
}

macro_rules! emit {
    ($level:expr, $f:expr) => {{
        let f: Fields = $f;
        tracing::event!(
            target: TARGET,
            $level,
            point = f.point.as_deref(),
            component = f.component.as_deref(),
            correlation_id = f.correlation_id.as_deref(),
            parent_id = f.parent_id.as_deref(),
            language = f.language,
            data = f.data.as_deref(),
            metadata = f.metadata.as_deref(),
            elapsed_ms = f.elapsed_ms,
            attempt = f.attempt,
            "hook point"
        );
    }};
}

impl LoggingHook {
    /// A builder with the defaults.
    pub fn builder() -> LoggingHookBuilder {
        LoggingHookBuilder::default()
    }

    /// The level used at `ctx`'s point.
    fn level_for(&self, ctx: &HookContext) -> Level {
        if PointPhase::of(&ctx.point) == PointPhase::Error {
            self.error_level
        } else {
            self.level
        }
    }

    fn has(&self, f: LogField) -> bool {
        self.fields.contains(&f)
    }

    /// The data as it will be logged: filtered, redacted, truncated. Data
    /// without secrets is not copied, and serialisation stops at the size
    /// limit, so a large payload costs no more than the limit.
    fn data_text(&self, data: &Value) -> String {
        let filtered;
        let value = match (&self.data_keys, data) {
            (Some(keys), Value::Object(map)) => {
                let mut kept = Map::new();
                for k in keys {
                    if let Some(v) = map.get(k) {
                        kept.insert(k.clone(), v.clone());
                    }
                }
                filtered = Value::Object(kept);
                &filtered
            }
            _ => data,
        };
        let redacted;
        let value = if self.redactor.finds_secret(value) {
            redacted = self.redactor.redact(value);
            &redacted
        } else {
            value
        };
        bounded_json(value, self.max_data_bytes)
    }

    fn fields(&self, ctx: &HookContext) -> Fields {
        let metadata = if self.has(LogField::Metadata) && !ctx.metadata.is_empty() {
            serde_json::to_string(&self.redactor.redact_map(&ctx.metadata)).ok()
        } else {
            None
        };
        let attempt = ctx.attempt;
        Fields {
            point: self
                .has(LogField::Point)
                .then(|| ctx.point.name().into_owned()),
            component: self
                .has(LogField::Component)
                .then(|| ctx.component.to_string()),
            correlation_id: self
                .has(LogField::CorrelationId)
                .then(|| ctx.correlation_id.to_string()),
            parent_id: ctx
                .parent_id
                .as_ref()
                .filter(|_| self.has(LogField::ParentId))
                .map(|p| p.to_string()),
            language: self.has(LogField::Language).then(|| ctx.language.as_str()),
            data: self.has(LogField::Data).then(|| self.data_text(&ctx.data)),
            metadata,
            elapsed_ms: ctx
                .elapsed
                .filter(|_| self.has(LogField::Elapsed))
                .map(|d| d.as_secs_f64() * 1000.0),
            attempt: (self.has(LogField::Attempt) && attempt > 1).then_some(attempt),
        }
    }

    /// Writes the event for `ctx` if a subscriber wants its level.
    fn log(&self, ctx: &HookContext) {
        match self.level_for(ctx) {
            Level::ERROR => {
                if tracing::enabled!(target: TARGET, Level::ERROR) {
                    emit!(Level::ERROR, self.fields(ctx));
                }
            }
            Level::WARN => {
                if tracing::enabled!(target: TARGET, Level::WARN) {
                    emit!(Level::WARN, self.fields(ctx));
                }
            }
            Level::INFO => {
                if tracing::enabled!(target: TARGET, Level::INFO) {
                    emit!(Level::INFO, self.fields(ctx));
                }
            }
            Level::DEBUG => {
                if tracing::enabled!(target: TARGET, Level::DEBUG) {
                    emit!(Level::DEBUG, self.fields(ctx));
                }
            }
            Level::TRACE => {
                if tracing::enabled!(target: TARGET, Level::TRACE) {
                    emit!(Level::TRACE, self.fields(ctx));
                }
            }
        }
    }
}

/// `value` as compact JSON, cut at `limit` bytes (on a character boundary)
/// with `…(truncated)` appended when longer; serialisation stops there.
fn bounded_json(value: &Value, limit: usize) -> String {
    /// Keeps up to `limit` bytes, then refuses more.
    struct Bounded {
        buf: Vec<u8>,
        limit: usize,
        truncated: bool,
    }
    impl std::io::Write for Bounded {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let room = self.limit - self.buf.len();
            if bytes.len() > room {
                self.buf.extend_from_slice(&bytes[..room]);
                self.truncated = true;
                return Err(std::io::Error::other("the log limit is reached"));
            }
            self.buf.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded {
        buf: Vec::new(),
        limit,
        truncated: false,
    };
    // The only error is the one `Bounded` raises at the limit.
    let _ = serde_json::to_writer(&mut out, value);
    let mut text = match String::from_utf8(out.buf) {
        Ok(text) => text,
        // Cut inside a character: keep the whole characters before it.
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    if out.truncated {
        text.push_str("…(truncated)");
    }
    text
}

#[async_trait]
impl Hook for LoggingHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        self.log(ctx);
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_filtered_redacted_and_truncated() {
        let hook = LoggingHook::builder()
            .data_keys(["keep", "password"])
            .max_data_bytes(40)
            .build()
            .unwrap();
        let text = hook.data_text(&json!({ "keep": 1, "drop": 2, "password": "hunter2" }));
        assert_eq!(text, r#"{"keep":1,"password":"[REDACTED]"}"#);
        let long = hook.data_text(&json!({ "keep": "é".repeat(100) }));
        assert!(long.ends_with("…(truncated)"), "{long}");
        assert!(long.len() <= 40 + "…(truncated)".len());
    }

    #[test]
    fn data_at_the_limit_is_whole_and_nested_secrets_are_redacted() {
        let hook = LoggingHook::builder().max_data_bytes(16).build().unwrap();
        assert_eq!(
            hook.data_text(&json!({ "a": "bcdefghi" })),
            r#"{"a":"bcdefghi"}"#
        );
        assert_eq!(
            hook.data_text(&json!({ "a": "bcdefghij" })),
            r#"{"a":"bcdefghij"…(truncated)"#
        );
        let hook = LoggingHook::builder().build().unwrap();
        let data = json!({ "calls": [{ "api_key": "sk-1" }], "note": "kept" });
        assert_eq!(
            hook.data_text(&data),
            r#"{"calls":[{"api_key":"[REDACTED]"}],"note":"kept"}"#
        );
        assert_eq!(
            data["calls"][0]["api_key"], "sk-1",
            "the context is untouched"
        );
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(LoggingHook::builder().fields([]).build().is_err());
        assert!(LoggingHook::builder().max_data_bytes(3).build().is_err());
        assert!(LoggingHook::builder().data_keys([""]).build().is_err());
        assert!(
            LoggingHook::builder()
                .redact_key_pattern("[")
                .build()
                .is_err()
        );
    }
}
