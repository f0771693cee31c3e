//! The error type shared by tools, agents and workflows.

use std::time::Duration;

use serde_json::{Value, json};

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong when a component ran.
///
/// Every variant carries the structured facts a caller needs to react (which
/// hook cancelled, which field was invalid, which limit was hit), and its
/// message says what was wrong and what is valid. Errors are `Clone` so that
/// hooks, caches and forked operations can hand them around.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input value was missing or malformed.
    #[error("invalid input for `{field}`: {message}")]
    InvalidInput {
        /// The offending field (dotted path), or a short name for the input.
        field: String,
        /// What was wrong and what is valid.
        message: String,
    },
    /// A named component does not exist.
    #[error("{kind} {name:?} not found{}", suggestion_suffix(.suggestion))]
    NotFound {
        /// Kind of component looked up (`"tool"`, `"agent"`, ...).
        kind: String,
        /// The name that was asked for.
        name: String,
        /// The closest valid name, if any.
        suggestion: Option<String>,
    },
    /// A hook cancelled the operation.
    #[error("cancelled by hook {hook:?}: {reason}")]
    Cancelled {
        /// The name of the hook that cancelled.
        hook: String,
        /// The reason it gave.
        reason: String,
    },
    /// A fail-closed hook failed, which aborts the operation.
    #[error("hook {hook:?} failed (fail-closed): {message}")]
    HookFailed {
        /// The hook's name.
        hook: String,
        /// The hook's error message.
        message: String,
    },
    /// The operation did not finish in time.
    #[error("{operation} timed out after {} ms", .after.as_millis())]
    Timeout {
        /// What timed out.
        operation: String,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// A security rule refused the operation.
    #[error("security violation: {message}")]
    SecurityViolation {
        /// The rule that fired and why.
        message: String,
    },
    /// A resource limit was exceeded.
    #[error("resource limit exceeded for {resource}: limit {limit}, requested {requested}")]
    ResourceLimitExceeded {
        /// The resource (`"input_bytes"`, `"memory"`, `"path"`, ...).
        resource: String,
        /// The configured limit.
        limit: u64,
        /// What the operation asked for.
        requested: u64,
    },
    /// A component ran and failed.
    #[error("{component} failed: {message}")]
    Execution {
        /// The component that failed (`"tool:calculator"`).
        component: String,
        /// What went wrong.
        message: String,
    },
    /// Something outside the process (network, provider, file system) failed.
    #[error("{service} error: {message}")]
    External {
        /// The service (`"openai"`, `"filesystem"`, ...).
        service: String,
        /// What went wrong.
        message: String,
        /// Whether retrying may help (rate limits, timeouts, 5xx).
        retryable: bool,
    },
    /// A storage operation failed.
    #[error("storage error: {message}")]
    Storage {
        /// What went wrong, naming the key or path.
        message: String,
    },
    /// Anything else.
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
    },
}

fn suggestion_suffix(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

/// The kind of an [`Error`], for matching and retry classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::InvalidInput`]
    InvalidInput,
    /// [`Error::NotFound`]
    NotFound,
    /// [`Error::Cancelled`]
    Cancelled,
    /// [`Error::HookFailed`]
    HookFailed,
    /// [`Error::Timeout`]
    Timeout,
    /// [`Error::SecurityViolation`]
    SecurityViolation,
    /// [`Error::ResourceLimitExceeded`]
    ResourceLimitExceeded,
    /// [`Error::Execution`]
    Execution,
    /// [`Error::External`]
    External,
    /// [`Error::Storage`]
    Storage,
    /// [`Error::Other`]
    Other,
}

impl ErrorKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::HookFailed => "hook_failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::SecurityViolation => "security_violation",
            ErrorKind::ResourceLimitExceeded => "resource_limit_exceeded",
            ErrorKind::Execution => "execution",
            ErrorKind::External => "external",
            ErrorKind::Storage => "storage",
            ErrorKind::Other => "other",
        }
    }
}

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Execution`] for `component`.
    pub fn execution(component: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Execution {
            component: component.into(),
            message: message.into(),
        }
    }

    /// An [`Error::NotFound`] with no suggestion.
    pub fn not_found(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind: kind.into(),
            name: name.into(),
            suggestion: None,
        }
    }

    /// An [`Error::Other`].
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
        }
    }

    /// This error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Cancelled { .. } => ErrorKind::Cancelled,
            Error::HookFailed { .. } => ErrorKind::HookFailed,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::SecurityViolation { .. } => ErrorKind::SecurityViolation,
            Error::ResourceLimitExceeded { .. } => ErrorKind::ResourceLimitExceeded,
            Error::Execution { .. } => ErrorKind::Execution,
            Error::External { .. } => ErrorKind::External,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Other { .. } => ErrorKind::Other,
        }
    }

    /// Whether retrying the same operation may succeed: timeouts, retryable
    /// external failures and storage errors.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Storage { .. } => true,
            Error::External { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// The JSON form hooks see at Error points:
    /// `{ "kind", "message", "error", ...structured fields }` where `error`
    /// is the full text and `message` the detail (the part a hook would
    /// reword; the full text when the variant has no separate detail).
    pub fn to_json(&self) -> Value {
        let message = match self {
            Error::InvalidInput { message, .. }
            | Error::HookFailed { message, .. }
            | Error::SecurityViolation { message }
            | Error::Execution { message, .. }
            | Error::External { message, .. }
            | Error::Storage { message }
            | Error::Other { message } => message.clone(),
            _ => self.to_string(),
        };
        let mut v = json!({
            "kind": self.kind().as_str(),
            "message": message,
            "error": self.to_string(),
        });
        let extra = match self {
            Error::InvalidInput { field, .. } => json!({ "field": field }),
            Error::NotFound { kind, name, .. } => json!({ "component_kind": kind, "name": name }),
            Error::Cancelled { hook, reason } => json!({ "hook": hook, "reason": reason }),
            Error::HookFailed { hook, .. } => json!({ "hook": hook }),
            Error::Timeout { operation, after } => {
                json!({ "operation": operation, "after_ms": after.as_millis() as u64 })
            }
            Error::ResourceLimitExceeded {
                resource,
                limit,
                requested,
            } => json!({ "resource": resource, "limit": limit, "requested": requested }),
            Error::Execution { component, .. } => json!({ "component": component }),
            Error::External {
                service, retryable, ..
            } => json!({ "service": service, "retryable": retryable }),
            _ => Value::Null,
        };
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
        }
        v
    }
}

impl Error {
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
            "hook_failed" => Error::HookFailed {
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
            "execution" => Error::Execution {
                component: or("component", "component"),
                message,
            },
            "external" => Error::External {
                service: or("service", "external"),
                message,
                retryable: value
                    .get("retryable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "storage" => Error::Storage { message },
            _ => Error::Other { message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_kind_and_fields() {
        let errors = [
            Error::invalid_input("expression", "expected a string"),
            Error::Cancelled {
                hook: "guard".into(),
                reason: "no".into(),
            },
            Error::External {
                service: "openai".into(),
                message: "429".into(),
                retryable: true,
            },
            Error::execution("tool:calculator", "division by zero"),
        ];
        for e in errors {
            assert_eq!(Error::from_json(&e.to_json()), e);
        }
        let edited = serde_json::json!({"kind": "execution", "component": "tool:x", "message": "friendlier"});
        assert_eq!(
            Error::from_json(&edited).to_string(),
            "tool:x failed: friendlier"
        );
        assert_eq!(
            Error::from_json(&serde_json::json!("plain")).to_string(),
            "plain"
        );
    }

    #[test]
    fn messages_say_what_was_wrong() {
        let e = Error::Cancelled {
            hook: "guard".into(),
            reason: "budget spent".into(),
        };
        assert_eq!(e.to_string(), "cancelled by hook \"guard\": budget spent");
        let e = Error::NotFound {
            kind: "tool".into(),
            name: "calculater".into(),
            suggestion: Some("calculator".into()),
        };
        assert_eq!(
            e.to_string(),
            "tool \"calculater\" not found; did you mean \"calculator\"?"
        );
        let e = Error::Timeout {
            operation: "tool:sleep".into(),
            after: Duration::from_millis(250),
        };
        assert_eq!(e.to_string(), "tool:sleep timed out after 250 ms");
    }

    #[test]
    fn json_form_carries_kind_and_fields() {
        let e = Error::invalid_input("expression", "expected a string");
        let v = e.to_json();
        assert_eq!(v["kind"], "invalid_input");
        assert_eq!(v["field"], "expression");
        assert_eq!(v["message"], "expected a string");
        assert_eq!(
            v["error"],
            "invalid input for `expression`: expected a string"
        );
    }

    #[test]
    fn transient_classification() {
        assert!(
            Error::Timeout {
                operation: "x".into(),
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(!Error::invalid_input("a", "b").is_transient());
        assert!(
            Error::External {
                service: "openai".into(),
                message: "429".into(),
                retryable: true
            }
            .is_transient()
        );
    }
}
