//! The agent lifecycle: nine states and the transitions between them.
//!
//! | from | may go to | how |
//! |---|---|---|
//! | `Uninitialized` | `Initializing`, `Terminating` | `initialize()` (also the first `invoke`), `terminate()` |
//! | `Initializing` | `Ready`, `Error` | the behaviour's initialisation succeeds or fails |
//! | `Ready` | `Running`, `Paused`, `Terminating` | `invoke()`, `pause()`, `terminate()` |
//! | `Running` | `Ready`, `Paused`, `Error`, `Terminating` | the last invocation ends (or is cancelled), `pause()`, an invocation fails, `terminate()` |
//! | `Paused` | `Running`, `Ready`, `Terminating` | `resume()` (to `Running` when invocations are still in flight), `terminate()` |
//! | `Error` | `Recovering`, `Terminating` | `recover()` (also the next `invoke` when auto-recovery is on), `terminate()` |
//! | `Recovering` | `Ready`, `Error` | the behaviour's recovery succeeds or fails |
//! | `Terminating` | `Terminated` | the behaviour's shutdown ends |
//! | `Terminated` | (none) | final |
//!
//! Anything else is refused with [`Error::InvalidTransition`](crate::Error::InvalidTransition),
//! which names both states and the allowed targets. The hook point fired
//! for each transition is listed on [`AgentState`] and in
//! `docs/user-guide/agents.md`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Where an agent is in its life.
///
/// Serialises as the variant name (`"Ready"`), the form scripts see from
/// `agent:state()`. The hook points fired on entering each state:
///
/// | transition | hook point |
/// |---|---|
/// | `Uninitialized → Initializing` | `BeforeAgentInit` (a `Cancel` vetoes it) |
/// | `Initializing → Ready` | `AfterAgentInit` |
/// | `Ready → Running` (and back) | `BeforeAgentExecution` / `AfterAgentExecution`, through the guarded runner |
/// | `Running → Error`, `Initializing → Error`, `Recovering → Error` | `AgentError` |
/// | `Ready/Running → Paused` | `AgentPaused` (a `Cancel` vetoes it) |
/// | `Paused → Ready/Running` | `AgentResumed` (a `Cancel` vetoes it) |
/// | `Error → Recovering` | `AgentRecovering` (a `Cancel` vetoes it) |
/// | `* → Terminating` | `BeforeAgentShutdown` (a `Cancel` vetoes it) |
/// | `Terminating → Terminated` | `AfterAgentShutdown` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgentState {
    /// Created, not yet initialised.
    Uninitialized,
    /// Initialising.
    Initializing,
    /// Idle and ready for work.
    Ready,
    /// Handling one or more invocations.
    Running,
    /// Paused: invocations are refused and running ones wait at their next
    /// checkpoint.
    Paused,
    /// Shutting down.
    Terminating,
    /// Shut down for good.
    Terminated,
    /// An invocation (or initialisation, or recovery) failed.
    Error,
    /// Recovering from an error.
    Recovering,
}

use AgentState::{
    Error as Failed, Initializing, Paused, Ready, Recovering, Running, Terminated, Terminating,
    Uninitialized,
};

impl AgentState {
    /// Every state, in declaration order.
    pub const ALL: [AgentState; 9] = [
        Uninitialized,
        Initializing,
        Ready,
        Running,
        Paused,
        Terminating,
        Terminated,
        Failed,
        Recovering,
    ];

    /// The variant name (`"Ready"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Uninitialized => "Uninitialized",
            Initializing => "Initializing",
            Ready => "Ready",
            Running => "Running",
            Paused => "Paused",
            Terminating => "Terminating",
            Terminated => "Terminated",
            Failed => "Error",
            Recovering => "Recovering",
        }
    }

    /// The states this one may move to (the lifecycle table).
    pub fn targets(self) -> &'static [AgentState] {
        match self {
            Uninitialized => &[Initializing, Terminating],
            Initializing => &[Ready, Failed],
            Ready => &[Running, Paused, Terminating],
            Running => &[Ready, Paused, Failed, Terminating],
            Paused => &[Running, Ready, Terminating],
            Failed => &[Recovering, Terminating],
            Recovering => &[Ready, Failed],
            Terminating => &[Terminated],
            Terminated => &[],
        }
    }

    /// Whether the table allows `self → to`.
    pub fn can_become(self, to: AgentState) -> bool {
        self.targets().contains(&to)
    }

    /// Whether this state is final.
    pub fn is_terminal(self) -> bool {
        self == Terminated
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentState {
    type Err = llmspell_core::Error;

    /// Parses a variant name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgentState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                llmspell_core::Error::invalid_input(
                    "state",
                    format!(
                        "unknown agent state {s:?}; valid: {}",
                        AgentState::ALL.map(AgentState::as_str).join(", ")
                    ),
                )
            })
    }
}

/// An invocation's cancellation token, shared without touching the token's
/// own reference counting (which takes a lock).
pub(crate) type Token = Arc<CancellationToken>;

/// A state change that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) from: AgentState,
    pub(crate) to: AgentState,
}

/// How an invocation ended, for [`Lifecycle::exit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Produced an output, was stopped by a hook, or was cancelled.
    Done,
    /// The agent's work failed.
    Failed,
}

/// What [`Lifecycle::enter`] found.
pub(crate) enum Enter {
    /// The invocation is counted; `change` is `Ready → Running` for the first.
    Entered {
        token: Token,
        change: Option<Change>,
    },
    /// Not initialised yet.
    Uninitialized,
    /// In `Error`.
    Failed,
    /// In a passing state (`Initializing`, `Recovering`): wait for a change.
    Transient(AgentState),
    /// In a state that takes no work.
    Refused(AgentState),
}

struct Cell {
    state: AgentState,
    in_flight: u32,
    /// Cancelled (and replaced) by `cancel_all`; every invocation holds a
    /// clone of the one current when it started.
    token: Token,
}

/// The state cell of one agent: a short lock around the state, the count of
/// invocations in flight and the current cancellation token; a notification
/// on every change (pause checkpoints and waiting invocations use it).
pub(crate) struct Lifecycle {
    cell: Mutex<Cell>,
    changed: Notify,
    /// Tasks waiting on `changed`; changes notify only when there are some
    /// (notifying takes the notifier's lock, which the hot path avoids).
    waiting: AtomicUsize,
}

/// Registration of a task waiting for state changes; see [`Lifecycle::waiter`].
pub(crate) struct Waiter<'a> {
    lifecycle: &'a Lifecycle,
}

impl Waiter<'_> {
    /// Completes after the next state change. Create the waiter, then
    /// check the state, then wait: a change after the check is not missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.lifecycle.changed.notified()
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.lifecycle.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Lifecycle {
    pub(crate) fn new() -> Self {
        Self {
            cell: Mutex::new(Cell {
                state: Uninitialized,
                in_flight: 0,
                token: Token::default(),
            }),
            changed: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Registers the caller as waiting for state changes until the waiter
    /// is dropped.
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiter { lifecycle: self }
    }

    fn notify(&self) {
        // The state was changed (and its lock released) before this load; a
        // waiter registered after it checks the state after registering.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn state(&self) -> AgentState {
        self.cell.lock().state
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.cell.lock().in_flight
    }

    /// Moves to `to` when the table allows it from the current state and
    /// the current state is one of `from` (any, when empty). Returns the
    /// change, or the state the agent was in.
    pub(crate) fn apply(&self, from: &[AgentState], to: AgentState) -> Result<Change, AgentState> {
        let change = {
            let mut cell = self.cell.lock();
            let current = cell.state;
            if !current.can_become(to) || !(from.is_empty() || from.contains(&current)) {
                return Err(current);
            }
            cell.state = to;
            if to == Terminating {
                // Running invocations end now.
                let old = std::mem::take(&mut cell.token);
                old.cancel();
            }
            Change { from: current, to }
        };
        self.notify();
        Ok(change)
    }

    /// `Paused → Running` when invocations are in flight, else `Paused → Ready`.
    pub(crate) fn resume(&self) -> Result<Change, (AgentState, AgentState)> {
        let change = {
            let mut cell = self.cell.lock();
            let to = if cell.in_flight > 0 { Running } else { Ready };
            if cell.state != Paused {
                return Err((cell.state, to));
            }
            cell.state = to;
            Change { from: Paused, to }
        };
        self.notify();
        Ok(change)
    }

    /// Where `resume` would go.
    pub(crate) fn resume_target(&self) -> AgentState {
        if self.in_flight() > 0 { Running } else { Ready }
    }

    /// Counts an invocation in, moving `Ready → Running` for the first.
    pub(crate) fn enter(&self) -> Enter {
        let mut cell = self.cell.lock();
        match cell.state {
            Ready => {
                cell.state = Running;
                cell.in_flight += 1;
                let token = cell.token.clone();
                drop(cell);
                self.notify();
                Enter::Entered {
                    token,
                    change: Some(Change {
                        from: Ready,
                        to: Running,
                    }),
                }
            }
            Running => {
                cell.in_flight += 1;
                Enter::Entered {
                    token: cell.token.clone(),
                    change: None,
                }
            }
            Uninitialized => Enter::Uninitialized,
            Failed => Enter::Failed,
            s @ (Initializing | Recovering) => Enter::Transient(s),
            s @ (Paused | Terminating | Terminated) => Enter::Refused(s),
        }
    }

    /// Counts an invocation out. A failure moves `Running → Error`; the last
    /// invocation to end otherwise moves `Running → Ready`. In any other
    /// state (the agent was paused, failed or terminated meanwhile) the
    /// state is left alone.
    pub(crate) fn exit(&self, how: Exit) -> Option<Change> {
        let change = {
            let mut cell = self.cell.lock();
            cell.in_flight = cell.in_flight.saturating_sub(1);
            let to = match (cell.state, how) {
                (Running, Exit::Failed) => Failed,
                (Running, Exit::Done) if cell.in_flight == 0 => Ready,
                _ => return None,
            };
            cell.state = to;
            Change { from: Running, to }
        };
        self.notify();
        Some(change)
    }

    /// Cancels every invocation in flight (their tokens fire); later
    /// invocations get a fresh token. Returns how many were in flight.
    pub(crate) fn cancel_all(&self) -> u32 {
        let mut cell = self.cell.lock();
        let old = std::mem::take(&mut cell.token);
        old.cancel();
        cell.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_documented_one() {
        let allowed: Vec<(AgentState, AgentState)> = AgentState::ALL
            .into_iter()
            .flat_map(|f| f.targets().iter().map(move |t| (f, *t)))
            .collect();
        assert_eq!(allowed.len(), 19);
        for (from, to) in [
            (Uninitialized, Initializing),
            (Initializing, Ready),
            (Ready, Running),
            (Running, Ready),
            (Running, Paused),
            (Paused, Running),
            (Paused, Ready),
            (Running, Failed),
            (Failed, Recovering),
            (Recovering, Ready),
            (Terminating, Terminated),
        ] {
            assert!(from.can_become(to), "{from} → {to}");
        }
        for (from, to) in [
            (Uninitialized, Running),
            (Ready, Ready),
            (Paused, Failed),
            (Terminated, Ready),
            (Failed, Ready),
            (Initializing, Running),
            (Recovering, Terminating),
        ] {
            assert!(!from.can_become(to), "{from} → {to}");
        }
        assert!(Terminated.is_terminal() && Terminated.targets().is_empty());
    }

    #[test]
    fn state_names_round_trip() {
        for s in AgentState::ALL {
            assert_eq!(s.as_str().parse::<AgentState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!("ready".parse::<AgentState>().unwrap(), Ready);
        let err = "Sleeping".parse::<AgentState>().unwrap_err().to_string();
        assert!(
            err.contains("Sleeping") && err.contains("Recovering"),
            "{err}"
        );
    }

    #[test]
    fn invocations_are_counted_in_and_out() {
        let l = Lifecycle::new();
        assert!(matches!(l.enter(), Enter::Uninitialized));
        l.apply(&[], Initializing).unwrap();
        assert!(matches!(l.enter(), Enter::Transient(Initializing)));
        l.apply(&[], Ready).unwrap();
        let Enter::Entered { change, .. } = l.enter() else {
            panic!("expected to enter")
        };
        assert_eq!(
            change,
            Some(Change {
                from: Ready,
                to: Running
            })
        );
        let Enter::Entered { change, .. } = l.enter() else {
            panic!("expected to enter")
        };
        assert_eq!(change, None, "a second invocation changes nothing");
        assert_eq!(l.exit(Exit::Done), None, "one is still running");
        assert_eq!(
            l.exit(Exit::Done),
            Some(Change {
                from: Running,
                to: Ready
            })
        );
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn a_failure_moves_to_error_and_later_exits_leave_it() {
        let l = Lifecycle::new();
        l.apply(&[], Initializing).unwrap();
        l.apply(&[], Ready).unwrap();
        let _ = l.enter();
        let _ = l.enter();
        assert_eq!(
            l.exit(Exit::Failed),
            Some(Change {
                from: Running,
                to: Failed
            })
        );
        assert_eq!(l.exit(Exit::Done), None);
        assert_eq!(l.state(), Failed);
        assert!(matches!(l.enter(), Enter::Failed));
    }

    #[test]
    fn apply_refuses_what_the_table_refuses() {
        let l = Lifecycle::new();
        assert_eq!(l.apply(&[], Running), Err(Uninitialized));
        l.apply(&[], Initializing).unwrap();
        assert_eq!(l.apply(&[Uninitialized], Ready), Err(Initializing));
        assert!(l.apply(&[Initializing], Ready).is_ok());
    }

    #[test]
    fn pause_and_resume_return_to_where_work_stands() {
        let l = Lifecycle::new();
        l.apply(&[], Initializing).unwrap();
        l.apply(&[], Ready).unwrap();
        l.apply(&[], Paused).unwrap();
        assert!(matches!(l.enter(), Enter::Refused(Paused)));
        assert_eq!(
            l.resume(),
            Ok(Change {
                from: Paused,
                to: Ready
            })
        );
        let _ = l.enter();
        l.apply(&[], Paused).unwrap();
        assert_eq!(l.resume_target(), Running);
        assert_eq!(
            l.resume(),
            Ok(Change {
                from: Paused,
                to: Running
            })
        );
        assert_eq!(l.resume(), Err((Running, Running)));
    }

    #[test]
    fn cancel_all_and_termination_fire_the_tokens_in_flight() {
        let l = Lifecycle::new();
        l.apply(&[], Initializing).unwrap();
        l.apply(&[], Ready).unwrap();
        let Enter::Entered { token: first, .. } = l.enter() else {
            panic!("expected to enter")
        };
        assert_eq!(l.cancel_all(), 1);
        assert!(first.is_cancelled());
        let Enter::Entered { token: second, .. } = l.enter() else {
            panic!("expected to enter")
        };
        assert!(
            !second.is_cancelled(),
            "later invocations get a fresh token"
        );
        l.apply(&[], Terminating).unwrap();
        assert!(second.is_cancelled());
    }
}
