//! What can go wrong between a runtime and NATS.

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the NATS link. Messages name the setting, subject or message
/// concerned and say what is valid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is invalid.
    #[error("invalid NATS setting `{field}`: {message}")]
    InvalidConfig {
        /// The setting (`prefix`, `bridge`, `stream.max_age_secs`, …).
        field: String,
        /// What was wrong and what is valid.
        message: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server URL.
        url: String,
        /// What the client reported.
        message: String,
    },
    /// A message from NATS is not a bridged event (or not a valid request
    /// or reply): it is dropped and counted, never delivered.
    #[error("malformed message on {subject:?}: {message}")]
    Malformed {
        /// The subject it came on.
        subject: String,
        /// What was wrong with it.
        message: String,
    },
    /// A JetStream operation failed (stream, consumer, publish
    /// acknowledgement).
    #[error("JetStream {operation} failed: {message}")]
    JetStream {
        /// What was being done (`create stream LLMSPELL`).
        operation: String,
        /// What the server or client reported.
        message: String,
    },
    /// A NATS operation failed (publish, subscribe, request, flush).
    #[error("NATS {operation} failed: {message}")]
    Nats {
        /// What was being done.
        operation: String,
        /// What the client reported.
        message: String,
    },
    /// The local event bus refused an event.
    #[error(transparent)]
    Events(#[from] llmspell_events::Error),
    /// The hook system refused something (a hook context that cannot be
    /// forwarded: a loop, the hop limit).
    #[error(transparent)]
    Hooks(#[from] llmspell_hooks::Error),
}

impl Error {
    /// An [`Error::InvalidConfig`].
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`Error::JetStream`].
    pub(crate) fn jetstream(operation: impl Into<String>, message: impl ToString) -> Self {
        Error::JetStream {
            operation: operation.into(),
            message: message.to_string(),
        }
    }

    /// An [`Error::Nats`].
    pub(crate) fn nats(operation: impl Into<String>, message: impl ToString) -> Self {
        Error::Nats {
            operation: operation.into(),
            message: message.to_string(),
        }
    }

    /// An [`Error::Malformed`].
    pub(crate) fn malformed(subject: &str, message: impl Into<String>) -> Self {
        Error::Malformed {
            subject: subject.to_owned(),
            message: message.into(),
        }
    }
}
