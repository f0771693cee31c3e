//! Hook-system errors.

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong configuring or calling the hook system. (Failures of the
/// guarded operations themselves are [`llmspell_core::Error`]s.)
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hook point name is not known.
    #[error(
        "unknown hook point {name:?}; {}valid: a built-in point name (`llmspell hooks points` lists them; Hook.points() in scripts) or custom:<name>",
        suggestion.as_ref().map(|s| format!("did you mean {s:?}? ")).unwrap_or_default()
    )]
    UnknownHookPoint {
        /// The name as given.
        name: String,
        /// The closest valid name.
        suggestion: Option<String>,
    },
    /// A custom hook point name is malformed.
    #[error("invalid hook point {name:?}: {message}")]
    InvalidHookPoint {
        /// The name as given.
        name: String,
        /// What is valid.
        message: String,
    },
    /// A priority is not a known name or an integer.
    #[error("invalid priority {value:?}; valid: highest, high, normal, low, lowest or an integer")]
    InvalidPriority {
        /// The value as given.
        value: String,
    },
    /// A hook returned something that is not a hook result.
    #[error("invalid hook result: {message}")]
    InvalidResult {
        /// What was wrong and the valid shapes.
        message: String,
    },
    /// A setting is invalid.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What was wrong and what is valid.
        message: String,
    },
    /// Storage failed (hook execution records).
    #[error("hook storage: {0}")]
    Storage(#[from] llmspell_storage::Error),
    /// Persisted trace spans could not be read (the event store failed, or
    /// a stored span does not decode).
    #[error("trace history: {message}")]
    TraceHistory {
        /// What failed, naming the event or key.
        message: String,
    },
    /// An audit log's head does not match its records, so appending would
    /// overwrite or bury the evidence; nothing was written.
    #[error(
        "the audit log cannot be continued: {problem}; verify it and start a new log (another audit namespace or store)"
    )]
    AuditBroken {
        /// What the first append found.
        problem: crate::builtin::AuditProblem,
    },
}

impl From<Error> for llmspell_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::UnknownHookPoint { ref name, .. } | Error::InvalidHookPoint { ref name, .. } => {
                llmspell_core::Error::invalid_input(format!("hook point {name:?}"), e.to_string())
            }
            Error::InvalidPriority { .. } => {
                llmspell_core::Error::invalid_input("priority", e.to_string())
            }
            Error::InvalidResult { .. } => {
                llmspell_core::Error::invalid_input("hook result", e.to_string())
            }
            Error::InvalidConfig { field, .. } => {
                llmspell_core::Error::invalid_input(field, e.to_string())
            }
            Error::Storage(s) => s.into(),
            Error::TraceHistory { .. } => llmspell_core::Error::other(e.to_string()),
            // Not a storage error: retrying cannot help.
            Error::AuditBroken { .. } => llmspell_core::Error::SecurityViolation {
                message: e.to_string(),
            },
        }
    }
}
