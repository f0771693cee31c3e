//! The error type shared by tools, agents and workflows.

mod json;
mod source;

use std::time::Duration;

pub use source::ErrorSource;

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
    /// Something outside the process (network, file system, a program)
    /// failed.
    #[error("{service} error: {message}")]
    External {
        /// The service (`"filesystem"`, `"process"`, `"http"`, ...).
        service: String,
        /// What went wrong.
        message: String,
        /// Whether retrying may help (timeouts, 5xx, a busy resource).
        retryable: bool,
        /// The library error behind it, reachable through
        /// [`source`](std::error::Error::source).
        #[source]
        source: Option<ErrorSource>,
    },
    /// An LLM provider (OpenAI, Anthropic, Ollama, ...) failed or refused a
    /// request.
    #[error("{provider} error: {message}")]
    Provider {
        /// The provider (`"openai"`, `"anthropic"`, ...).
        provider: String,
        /// What went wrong, with the provider's own message.
        message: String,
        /// Whether retrying may help (rate limits, timeouts, 5xx).
        retryable: bool,
        /// The library error behind it.
        #[source]
        source: Option<ErrorSource>,
    },
    /// A storage operation failed.
    #[error("storage error: {message}")]
    Storage {
        /// What went wrong, naming the key or path.
        message: String,
        /// The library error behind it.
        #[source]
        source: Option<ErrorSource>,
    },
    /// Anything else.
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
        /// The library error behind it.
        #[source]
        source: Option<ErrorSource>,
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
    /// [`Error::Provider`]
    Provider,
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
            ErrorKind::Provider => "provider",
            ErrorKind::Storage => "storage",
            ErrorKind::Other => "other",
        }
    }

    /// The kind a name stands for: the names of [`as_str`](Self::as_str)
    /// and those of [`Error::kind_name`] (`tool_failed` and the other
    /// `*_failed` are `Execution`, `resource_limit` is
    /// `ResourceLimitExceeded`).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Some(match name {
            "invalid_input" => ErrorKind::InvalidInput,
            "not_found" => ErrorKind::NotFound,
            "cancelled" => ErrorKind::Cancelled,
            "hook_failed" => ErrorKind::HookFailed,
            "timeout" => ErrorKind::Timeout,
            "security_violation" => ErrorKind::SecurityViolation,
            "resource_limit" | "resource_limit_exceeded" => ErrorKind::ResourceLimitExceeded,
            "execution" | "tool_failed" | "agent_failed" | "workflow_failed" => {
                ErrorKind::Execution
            }
            "external" => ErrorKind::External,
            "provider" => ErrorKind::Provider,
            "storage" => ErrorKind::Storage,
            "other" => ErrorKind::Other,
            _ => return None,
        })
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
            source: None,
        }
    }

    /// An [`Error::External`].
    pub fn external(
        service: impl Into<String>,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        Error::External {
            service: service.into(),
            message: message.into(),
            retryable,
            source: None,
        }
    }

    /// An [`Error::Provider`].
    pub fn provider(
        provider: impl Into<String>,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        Error::Provider {
            provider: provider.into(),
            message: message.into(),
            retryable,
            source: None,
        }
    }

    /// An [`Error::Storage`].
    pub fn storage(message: impl Into<String>) -> Self {
        Error::Storage {
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `cause` as this error's [`source`](std::error::Error::source)
    /// (for the variants that wrap a library error: `External`, `Provider`,
    /// `Storage`, `Other`; the others are returned unchanged).
    ///
    /// ```
    /// use std::error::Error as _;
    /// use llmspell_core::Error;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    /// let e = Error::external("filesystem", "cannot open notes.txt", false).caused_by(io);
    /// assert_eq!(e.source().map(ToString::to_string).as_deref(), Some("no such file"));
    /// ```
    #[must_use]
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        match &mut self {
            Error::External { source, .. }
            | Error::Provider { source, .. }
            | Error::Storage { source, .. }
            | Error::Other { source, .. } => *source = Some(ErrorSource::new(cause)),
            _ => {}
        }
        self
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
            Error::Provider { .. } => ErrorKind::Provider,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Other { .. } => ErrorKind::Other,
        }
    }

    /// Whether retrying the same operation may succeed: timeouts, retryable
    /// external failures and storage errors.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Storage { .. } => true,
            Error::External { retryable, .. } | Error::Provider { retryable, .. } => *retryable,
            _ => false,
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
            Error::provider("openai", "429", true),
            Error::external("filesystem", "disk full", false),
            Error::execution("tool:calculator", "division by zero"),
            Error::ResourceLimitExceeded {
                resource: "input_bytes".into(),
                limit: 10,
                requested: 11,
            },
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
        assert!(Error::provider("openai", "429", true).is_transient());
        assert!(!Error::external("filesystem", "denied", false).is_transient());
    }

    #[test]
    fn kinds_are_named_for_scripts() {
        assert_eq!(
            Error::execution("tool:calculator", "x").kind_name(),
            "tool_failed"
        );
        assert_eq!(
            Error::execution("agent:writer", "x").kind_name(),
            "agent_failed"
        );
        assert_eq!(
            Error::execution("workflow:etl", "x").kind_name(),
            "workflow_failed"
        );
        let limit = Error::ResourceLimitExceeded {
            resource: "memory".into(),
            limit: 1,
            requested: 2,
        };
        assert_eq!(limit.kind_name(), "resource_limit");
        assert_eq!(limit.to_json()["kind"], "resource_limit");
        assert_eq!(
            Error::provider("openai", "429", true).kind_name(),
            "provider"
        );
    }

    #[test]
    fn a_wrapped_library_error_stays_reachable_through_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::storage("cannot write key k").caused_by(io);
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("denied")
        );
        let copy = e.clone();
        assert_eq!(copy, e, "errors stay Clone and comparable");
        assert!(
            Error::invalid_input("a", "b")
                .caused_by(std::fmt::Error)
                .source()
                .is_none(),
            "variants without a cause are unchanged"
        );
    }
}
