//! Errors of the script runtime.

use std::fmt;

/// A script failed: its file and line when known, and the message.
///
/// Displays as `file:line: message` (or `file: message` without a line), the
/// form `llmspell run` prints for uncaught errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The script file (as given to the runtime), if known.
    pub file: Option<String>,
    /// The line, if known.
    pub line: Option<u32>,
    /// What went wrong.
    pub message: String,
}

impl ScriptError {
    /// An error with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// Splits `"file:line: message"` as Lua and JavaScript engines format
    /// positions; anything else is kept as the message.
    pub fn parse(text: &str, default_file: Option<&str>) -> Self {
        let text = text.trim();
        split_position(text).unwrap_or_else(|| Self {
            file: default_file.map(str::to_owned),
            line: None,
            message: text.to_owned(),
        })
    }
}

/// `"a/b.lua:12: boom"` → the error with its position.
fn split_position(text: &str) -> Option<ScriptError> {
    let first = text.lines().next()?;
    let mut parts = first.splitn(3, ':');
    let file = parts.next()?.trim();
    let line = parts.next()?.trim().parse::<u32>().ok()?;
    let message = parts.next()?.trim();
    if file.is_empty() || file.contains(char::is_whitespace) {
        return None;
    }
    let mut full = message.to_owned();
    for extra in text.lines().skip(1) {
        full.push('\n');
        full.push_str(extra);
    }
    Some(ScriptError {
        file: Some(file.to_owned()),
        line: Some(line),
        message: full,
    })
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

/// What went wrong building or running the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A script failed.
    #[error("{0}")]
    Script(ScriptError),
    /// A script file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// The file's extension names no supported language.
    #[error("{path}: unknown script language (use .lua or .js)")]
    UnknownLanguage {
        /// The path.
        path: String,
    },
    /// A setting is invalid.
    #[error("invalid {field}: {message}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is valid.
        message: String,
    },
    /// Storage could not be opened.
    #[error(transparent)]
    Storage(#[from] llmspell_storage::Error),
    /// A component failed.
    #[error(transparent)]
    Core(#[from] llmspell_core::Error),
    /// An engine stopped.
    #[error("the {0} engine stopped")]
    EngineStopped(String),
}

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_split_out() {
        let e = ScriptError::parse("examples/a.lua:12: boom", None);
        assert_eq!(e.to_string(), "examples/a.lua:12: boom");
        assert_eq!(
            (e.file.as_deref(), e.line),
            (Some("examples/a.lua"), Some(12))
        );
        let e = ScriptError::parse("something broke", Some("b.js"));
        assert_eq!(e.to_string(), "b.js: something broke");
    }
}
