//! What every engine's calls into scripts share: the nesting limit, time
//! limits that keep counting while a call waits, and finishing a call that
//! had to wait on the engine's task set.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{BusyGuard, CallResult, EngineHandle, Started};
use crate::HostError;

/// The deepest nesting of script calls started on an engine's thread (a
/// hook that invokes the tool it hooks would otherwise recurse until the
/// stack overflows).
pub(crate) const MAX_NESTED_CALLS: u32 = 64;

thread_local! {
    /// Script calls running nested on this thread's stack (one engine per
    /// engine thread).
    static NESTED: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` (the synchronous part of a call into a script) one nesting
/// level deeper, or refuses past [`MAX_NESTED_CALLS`].
pub(crate) fn nested<R>(f: impl FnOnce() -> R) -> Result<R, HostError> {
    let depth = NESTED.with(Cell::get);
    if depth >= MAX_NESTED_CALLS {
        return Err(HostError::new(
            "resource_limit",
            format!(
                "script calls nested more than {MAX_NESTED_CALLS} deep (does a hook or \
                 callback trigger the operation it handles?)"
            ),
        ));
    }
    NESTED.with(|n| n.set(depth + 1));
    let r = f();
    NESTED.with(|n| n.set(depth));
    Ok(r)
}

/// When a time-limited call must have finished, and its limit (for the
/// message).
pub(crate) type Due = (Instant, Duration);

/// The instant a call limited to `deadline` and starting now is due.
pub(crate) fn due(deadline: Option<Duration>) -> Option<Due> {
    deadline.map(|d| (Instant::now() + d, d))
}

/// The error of a script function whose result cannot become JSON.
pub(crate) fn not_json(e: impl std::fmt::Display) -> HostError {
    HostError::invalid(format!(
        "the function returned a value that is not JSON: {e}"
    ))
}

/// The error of a script function that raised or threw (`message`, with
/// the script position when known): kind `execution`.
pub(crate) fn script_failed(message: impl Into<String>) -> HostError {
    HostError::new("execution", message)
}

/// Finishes a call that had to wait on the engine's task set, counted as
/// busy meanwhile. Waiting counts against the time limit too: past `due`
/// the call is abandoned (`abandon` runs, to forget where its answer would
/// have gone) and answers with the limit it exceeded.
pub(crate) fn finish_later<F>(
    engine: &EngineHandle,
    call: F,
    due: Option<Due>,
    abandon: impl FnOnce() + 'static,
) -> Started
where
    F: Future<Output = CallResult> + 'static,
{
    let (tx, rx) = oneshot::channel();
    let busy = BusyGuard::new(engine);
    tokio::task::spawn_local(async move {
        let r = match due {
            Some((at, limit)) => match tokio::time::timeout_at(at.into(), call).await {
                Ok(r) => r,
                Err(_) => {
                    abandon();
                    Err(HostError::new(
                        "timeout",
                        format!(
                            "time limit of {} ms exceeded while waiting",
                            limit.as_millis()
                        ),
                    ))
                }
            },
            None => call.await,
        };
        drop(busy);
        let _ = tx.send(r);
    });
    Started::Waiting(rx)
}
