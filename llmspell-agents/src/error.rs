//! The errors of the agent layer.

use std::fmt;

use crate::AgentState;

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with an agent.
///
/// Lifecycle mistakes (an invalid transition, invoking a paused agent, a
/// hook vetoing a transition, a cancelled invocation) have their own
/// variants carrying the states involved; whatever the agent's work or its
/// hooks reported is [`Error::Operation`], unchanged. Every variant converts
/// into [`llmspell_core::Error`] (see its `From` impl) so that agents can run
/// as `llmspell_core::Agent`s inside workflows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transition is not in the lifecycle table.
    #[error(
        "agent {agent:?} cannot {operation}: {from} → {to} is not a valid transition \
         (from {from} the agent can go to {})",
        StateList(allowed)
    )]
    InvalidTransition {
        /// The agent.
        agent: String,
        /// What was asked (`"pause"`, `"resume"`, `"initialize"`, ...).
        operation: &'static str,
        /// The agent's state when asked.
        from: AgentState,
        /// The state the operation would have entered.
        to: AgentState,
        /// The states reachable from `from`.
        allowed: &'static [AgentState],
    },
    /// The agent is in a state that does not take work.
    #[error("agent {agent:?} cannot {operation} while {state}: {hint}")]
    NotInvocable {
        /// The agent.
        agent: String,
        /// What was asked (`"invoke"`, `"invoke a tool"`).
        operation: &'static str,
        /// The agent's state.
        state: AgentState,
        /// What to do instead.
        hint: &'static str,
    },
    /// A hook cancelled a lifecycle transition; the agent stayed in `from`.
    #[error("agent {agent:?}: {from} → {to} vetoed by hook {hook:?}: {reason}")]
    Vetoed {
        /// The agent.
        agent: String,
        /// The state the agent stayed in.
        from: AgentState,
        /// The state it would have entered.
        to: AgentState,
        /// The hook that cancelled.
        hook: String,
        /// The reason it gave.
        reason: String,
    },
    /// The invocation was cancelled through a cancellation token
    /// ([`LifecycleAgent::cancel`](crate::LifecycleAgent::cancel), the
    /// caller's token, or termination of the agent).
    #[error("agent {agent:?}: invocation cancelled ({reason})")]
    Cancelled {
        /// The agent.
        agent: String,
        /// Who cancelled.
        reason: String,
    },
    /// An agent configuration is invalid.
    #[error("invalid agent config `{field}`: {message}")]
    InvalidConfig {
        /// The offending field.
        field: String,
        /// What was wrong and what is valid.
        message: String,
    },
    /// No agent has this name.
    #[error("agent {name:?} not found{}", suggestion.as_ref().map(|s| format!("; did you mean {s:?}?")).unwrap_or_default())]
    NotFound {
        /// The name asked for.
        name: String,
        /// The closest registered name, if any.
        suggestion: Option<String>,
    },
    /// The name is taken by a live agent.
    #[error("an agent named {name:?} is already registered (terminate and remove it first)")]
    AlreadyRegistered {
        /// The name.
        name: String,
    },
    /// The agent's work, a tool, a provider or a hook failed (or a hook
    /// cancelled the invocation): the underlying error, unchanged.
    #[error(transparent)]
    Operation(#[from] llmspell_core::Error),
}

struct StateList(&'static [AgentState]);

impl fmt::Display for StateList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("nowhere; it is final");
        }
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

impl Error {
    /// Whether the invocation was cancelled, by a token ([`Error::Cancelled`])
    /// or by a hook (`Operation(Cancelled { .. })`).
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            Error::Cancelled { .. } | Error::Operation(llmspell_core::Error::Cancelled { .. })
        )
    }

    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The hook name [`Error::Cancelled`] reports when it becomes a
/// [`llmspell_core::Error::Cancelled`].
pub const CANCELLATION_TOKEN: &str = "cancellation_token";

impl From<Error> for llmspell_core::Error {
    /// - `Operation(e)` → `e`;
    /// - `Cancelled` → `Cancelled { hook: "cancellation_token", reason }`;
    /// - `Vetoed` → `Cancelled { hook, reason }` (the reason names the transition);
    /// - `InvalidTransition`, `NotInvocable` → `Execution { component: "agent:<name>" }`;
    /// - `InvalidConfig` → `InvalidInput { field: "config.<field>" }`;
    /// - `NotFound` → `NotFound { kind: "agent" }`;
    /// - `AlreadyRegistered` → `InvalidInput { field: "name" }`.
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Operation(e) => e,
            Error::Cancelled { .. } => llmspell_core::Error::Cancelled {
                hook: CANCELLATION_TOKEN.to_owned(),
                reason: text,
            },
            Error::Vetoed {
                agent,
                from,
                to,
                hook,
                reason,
            } => llmspell_core::Error::Cancelled {
                hook,
                reason: format!("agent {agent:?} {from} → {to}: {reason}"),
            },
            Error::InvalidTransition { agent, .. } | Error::NotInvocable { agent, .. } => {
                llmspell_core::Error::Execution {
                    component: format!("agent:{agent}"),
                    message: text,
                }
            }
            Error::InvalidConfig { field, message } => {
                llmspell_core::Error::invalid_input(format!("config.{field}"), message)
            }
            Error::NotFound { name, suggestion } => llmspell_core::Error::NotFound {
                kind: "agent".to_owned(),
                name,
                suggestion,
            },
            Error::AlreadyRegistered { .. } => llmspell_core::Error::invalid_input("name", text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_transition_names_from_to_and_targets() {
        let e = Error::InvalidTransition {
            agent: "helper".into(),
            operation: "pause",
            from: AgentState::Terminated,
            to: AgentState::Paused,
            allowed: AgentState::Terminated.targets(),
        };
        assert_eq!(
            e.to_string(),
            "agent \"helper\" cannot pause: Terminated → Paused is not a valid transition \
             (from Terminated the agent can go to nowhere; it is final)"
        );
        let e = Error::InvalidTransition {
            agent: "helper".into(),
            operation: "resume",
            from: AgentState::Ready,
            to: AgentState::Ready,
            allowed: AgentState::Ready.targets(),
        };
        assert!(
            e.to_string()
                .ends_with("can go to Running, Paused, Terminating)"),
            "{e}"
        );
    }

    #[test]
    fn converts_into_core_errors_of_the_closest_kind() {
        let core: llmspell_core::Error = Error::Cancelled {
            agent: "a".into(),
            reason: "cancelled by the caller".into(),
        }
        .into();
        assert_eq!(core.kind(), llmspell_core::ErrorKind::Cancelled);
        let core: llmspell_core::Error = Error::NotInvocable {
            agent: "a".into(),
            operation: "invoke",
            state: AgentState::Paused,
            hint: "resume it first",
        }
        .into();
        assert_eq!(
            core.to_string(),
            "agent:a failed: agent \"a\" cannot invoke while Paused: resume it first"
        );
        let inner = llmspell_core::Error::invalid_input("text", "expected a string");
        let back: llmspell_core::Error = Error::Operation(inner.clone()).into();
        assert_eq!(back, inner);
        assert!(
            Error::Operation(llmspell_core::Error::Cancelled {
                hook: "h".into(),
                reason: "r".into()
            })
            .is_cancelled()
        );
    }
}
