//! The error of a host call, as scripts receive it.

use std::fmt;

use serde_json::{Map, Value, json};

/// Why a host call (`Tool.invoke`, `Event.publish`, `Hook.register`, ...)
/// or a script callback failed: the message a script prints and, when a
/// component failed, the typed [`llmspell_core::Error`] behind it.
///
/// Engines hand it to scripts as a value they can branch on: in Lua a table
/// `{ kind, message, ...fields }` whose `tostring` is the message, in
/// JavaScript an `Error` with `.kind` and the same fields. The kinds are
/// those of [`llmspell_core::Error::kind_name`]; an argument a script got
/// wrong is `invalid_input`.
#[derive(Debug, Clone)]
pub struct HostError {
    message: String,
    kind: &'static str,
    error: Option<llmspell_core::Error>,
}

impl HostError {
    /// A script gave a wrong argument or option (kind `invalid_input`).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_input", message)
    }

    /// An error of `kind` (one of the names of
    /// [`llmspell_core::Error::kind_name`]) with no component behind it.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind,
            error: None,
        }
    }

    /// The error a component reported, shown as `message`.
    pub fn typed(error: llmspell_core::Error, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: error.kind_name(),
            error: Some(error),
        }
    }

    /// The error a script raised in its JSON form (`{ kind, message,
    /// ...fields }`, as [`to_json`](Self::to_json) gives it): a script that
    /// re-raises an error it caught keeps its kind.
    pub fn from_json(value: &Value) -> Self {
        let message = match value.get("message").and_then(Value::as_str) {
            Some(m) => m.to_owned(),
            None => value.to_string(),
        };
        let error = llmspell_core::Error::from_json(value);
        Self::typed(error, message)
    }

    /// What scripts branch on: `invalid_input`, `not_found`, `cancelled`,
    /// `hook_failed`, `timeout`, `security_violation`, `resource_limit`,
    /// `tool_failed`, `agent_failed`, `workflow_failed`, `execution`,
    /// `provider`, `external`, `storage` or `other`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The message (what [`Display`](fmt::Display) shows).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The component's error behind this one, if any.
    pub fn error(&self) -> Option<&llmspell_core::Error> {
        self.error.as_ref()
    }

    /// The structured fields scripts see beside `kind` and `message`
    /// (`hook` and `reason`, `field`, `resource`, `limit`, ...; see
    /// [`llmspell_core::Error::fields`]).
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        self.error
            .as_ref()
            .map(llmspell_core::Error::fields)
            .unwrap_or_default()
    }

    /// The same error with its message prefixed by `what` (`"Tool.list:
    /// ..."`), naming the call that failed.
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// A script function of `component` (`"tool:notes"`, `"hook:audit"`)
    /// failed with this error: the component's
    /// [`Execution`](llmspell_core::Error::Execution) error, with this
    /// message.
    pub fn failed_in(self, component: impl Into<String>) -> llmspell_core::Error {
        llmspell_core::Error::execution(component, self.message)
    }

    /// `{ "kind", "message", ...fields }`.
    pub fn to_json(&self) -> Value {
        let mut v = Map::new();
        v.insert("kind".into(), json!(self.kind));
        v.insert("message".into(), json!(self.message));
        for (k, val) in self.fields() {
            v.insert(k.into(), val);
        }
        Value::Object(v)
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for HostError {
    fn from(message: String) -> Self {
        Self::invalid(message)
    }
}

impl From<&str> for HostError {
    fn from(message: &str) -> Self {
        Self::invalid(message)
    }
}

impl From<llmspell_core::Error> for HostError {
    fn from(e: llmspell_core::Error) -> Self {
        let message = e.to_string();
        Self::typed(e, message)
    }
}

/// The errors of the crates the host calls: their own message, their kind
/// and fields through the [`llmspell_core::Error`] they convert into.
macro_rules! from_crate_error {
    ($($t:ty),*) => {$(
        impl From<$t> for HostError {
            fn from(e: $t) -> Self {
                let message = e.to_string();
                Self::typed(e.into(), message)
            }
        }
    )*};
}

from_crate_error!(
    llmspell_events::Error,
    llmspell_hooks::Error,
    llmspell_agents::Error,
    llmspell_storage::Error
);

impl From<HostError> for llmspell_core::Error {
    /// The component's error, or for an argument error an
    /// [`InvalidInput`](llmspell_core::Error::InvalidInput) with the message.
    fn from(e: HostError) -> Self {
        match e.error {
            Some(error) => error,
            None => llmspell_core::Error::from_json(&json!({
                "kind": e.kind,
                "message": e.message,
                "field": "argument",
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_error_keeps_its_kind_and_fields() {
        let e = HostError::from(llmspell_core::Error::Cancelled {
            hook: "guard".into(),
            reason: "over budget".into(),
        });
        assert_eq!(e.kind(), "cancelled");
        assert_eq!(e.message(), "cancelled by hook \"guard\": over budget");
        let v = e.to_json();
        assert_eq!(v["hook"], "guard");
        assert_eq!(v["reason"], "over budget");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn an_argument_error_is_invalid_input_and_context_names_the_call() {
        let e = HostError::from("`name` (a string) is required").context("Tool.register");
        assert_eq!(e.kind(), "invalid_input");
        assert_eq!(
            e.to_string(),
            "Tool.register: `name` (a string) is required"
        );
        assert!(e.fields().is_empty());
    }

    #[test]
    fn a_crate_error_keeps_its_own_message() {
        let e = HostError::from(
            "no.such.point"
                .parse::<llmspell_hooks::HookPoint>()
                .unwrap_err(),
        );
        assert_eq!(e.kind(), "invalid_input");
        assert!(e.message().starts_with("unknown hook point"), "{e}");
    }

    #[test]
    fn a_re_raised_error_keeps_its_kind() {
        let first = HostError::from(llmspell_core::Error::not_found("tool", "nope"));
        let again = HostError::from_json(&first.to_json());
        assert_eq!(again.kind(), "not_found");
        assert_eq!(again.message(), first.message());
        assert_eq!(again.to_json()["name"], "nope");
    }
}
