//! The JSON form of an [`Error`]: what hooks see at Error points, what
//! lifecycle events carry, and the kinds scripts branch on.

use std::time::Duration;

use serde_json::{Value, json};

use super::Error;

impl Error {
    /// The kind as scripts and JSON forms name it: `invalid_input`,
    /// `not_found`, `cancelled`, `hook_failed`, `timeout`,
    /// `security_violation`, `resource_limit`, `tool_failed`,
    /// `agent_failed`, `workflow_failed`, `execution` (another component),
    /// `provider`, `external`, `storage` or `other`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::NotFound { .. } => "not_found",
            Error::Cancelled { .. } => "cancelled",
            Error::HookFailed { .. } => "hook_failed",
            Error::Timeout { .. } => "timeout",
            Error::SecurityViolation { .. } => "security_violation",
            Error::ResourceLimitExceeded { .. } => "resource_limit",
            Error::Execution { component, .. } => match component.split_once(':') {
                Some(("tool", _)) => "tool_failed",
                Some(("agent", _)) => "agent_failed",
                Some(("workflow", _)) => "workflow_failed",
                Some(("hook", _)) => "hook_failed",
                _ => "execution",
            },
            Error::Provider { .. } => "provider",
            Error::External { .. } => "external",
            Error::Storage { .. } => "storage",
            Error::Other { .. } => "other",
        }
    }

    /// The detail of the error: the part a hook would reword (the full text
    /// when the variant has no separate detail).
    pub fn detail(&self) -> String {
        match self {
            Error::InvalidInput { message, .. }
            | Error::HookFailed { message, .. }
            | Error::SecurityViolation { message }
            | Error::Execution { message, .. }
            | Error::External { message, .. }
            | Error::Provider { message, .. }
            | Error::Storage { message, .. }
            | Error::Other { message, .. } => message.clone(),
            _ => self.to_string(),
        }
    }

    /// The structured fields of the error, by the names scripts see:
    /// `field`; `component_kind` and `name`; `hook` and `reason`;
    /// `operation` and `after_ms`; `resource`, `limit` and `requested`;
    /// `component`; `service` or `provider`, and `retryable`.
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        match self {
            Error::InvalidInput { field, .. } => vec![("field", json!(field))],
            Error::NotFound { kind, name, .. } => {
                vec![("component_kind", json!(kind)), ("name", json!(name))]
            }
            Error::Cancelled { hook, reason } => {
                vec![("hook", json!(hook)), ("reason", json!(reason))]
            }
            Error::HookFailed { hook, .. } => vec![("hook", json!(hook))],
            Error::Timeout { operation, after } => vec![
                ("operation", json!(operation)),
                ("after_ms", json!(after.as_millis() as u64)),
            ],
            Error::ResourceLimitExceeded {
                resource,
                limit,
                requested,
            } => vec![
                ("resource", json!(resource)),
                ("limit", json!(limit)),
                ("requested", json!(requested)),
            ],
            Error::Execution { component, .. } => vec![("component", json!(component))],
            Error::External {
                service, retryable, ..
            } => vec![("service", json!(service)), ("retryable", json!(retryable))],
            Error::Provider {
                provider,
                retryable,
                ..
            } => vec![
                ("provider", json!(provider)),
                ("retryable", json!(retryable)),
            ],
            _ => Vec::new(),
        }
    }

    /// The JSON form hooks see at Error points:
    /// `{ "kind", "message", "error", ...structured fields }` where `kind` is
    /// [`kind_name`](Self::kind_name), `error` is the full text and `message`
    /// the [`detail`](Self::detail).
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::Map::new();
        v.insert("kind".into(), json!(self.kind_name()));
        v.insert("message".into(), json!(self.detail()));
        v.insert("error".into(), json!(self.to_string()));
        for (k, val) in self.fields() {
            v.insert(k.into(), val);
        }
        Value::Object(v)
    }

    /// Rebuilds an error from its JSON form (as produced by [`Error::to_json`],
    /// possibly edited by a hook): the `kind` selects the variant, `message`
    /// and the structured fields fill it. Unknown kinds become
    /// [`Error::Other`]; a bare string becomes its message.
    pub fn from_json(value: &Value) -> Error {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let message = match value {
            Value::String(s) => return Error::other(s.clone()),
            _ => text("message").unwrap_or_else(|| value.to_string()),
        };
        let kind = text("kind").unwrap_or_default();
        let or = |key: &str, default: &str| text(key).unwrap_or_else(|| default.to_owned());
        let retryable = value
            .get("retryable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match kind.as_str() {
            "invalid_input" => Error::InvalidInput {
                field: or("field", "input"),
                message,
            },
            "not_found" => Error::NotFound {
                kind: or("component_kind", "component"),
                name: or("name", ""),
                suggestion: None,
            },
            "cancelled" => Error::Cancelled {
                hook: or("hook", "unknown"),
                reason: or("reason", &message),
            },
            "hook_failed" if value.get("component").is_none() => Error::HookFailed {
                hook: or("hook", "unknown"),
                message,
            },
            "timeout" => Error::Timeout {
                operation: or("operation", "operation"),
                after: Duration::from_millis(
                    value.get("after_ms").and_then(Value::as_u64).unwrap_or(0),
                ),
            },
            "security_violation" => Error::SecurityViolation { message },
            "resource_limit" | "resource_limit_exceeded" => Error::ResourceLimitExceeded {
                resource: or("resource", "resource"),
                limit: value.get("limit").and_then(Value::as_u64).unwrap_or(0),
                requested: value.get("requested").and_then(Value::as_u64).unwrap_or(0),
            },
            "execution" | "tool_failed" | "agent_failed" | "workflow_failed" | "hook_failed" => {
                Error::Execution {
                    component: or("component", "component"),
                    message,
                }
            }
            "provider" => Error::provider(or("provider", "provider"), message, retryable),
            "external" => Error::external(or("service", "external"), message, retryable),
            "storage" => Error::storage(message),
            _ => Error::other(message),
        }
    }
}
