//! Waiting, as scripts ask for it (`llmspell.sleep`, `Event.receive`'s
//! timeout) and as engine threads do it between commands.

use std::time::Duration;

/// A number of milliseconds a script gave, as its engine read the value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Millis {
    /// No value (`nil`, `null`, `undefined`): no wait.
    Absent,
    /// A number.
    Number(f64),
    /// A value of another type, named as the script's language names it.
    Other(&'static str),
}

impl Millis {
    /// The wait, or the type name of a value that is not a number of
    /// milliseconds ≥ 0 (for the caller's message).
    pub(crate) fn duration(self) -> Result<Duration, &'static str> {
        match self {
            Millis::Absent => Ok(Duration::ZERO),
            Millis::Number(ms) if ms.is_finite() && ms >= 0.0 => Ok(from_millis(ms)),
            Millis::Number(_) => Err("number"),
            Millis::Other(kind) => Err(kind),
        }
    }
}

/// `ms` milliseconds: exact for whole numbers, the longest wait for one
/// too long to represent.
fn from_millis(ms: f64) -> Duration {
    if ms.fract() == 0.0 && ms < u64::MAX as f64 {
        Duration::from_millis(ms as u64)
    } else {
        Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX)
    }
}

/// `llmspell.sleep(ms)`, checked at once: the pause (none: one turn of the
/// engine's task set, letting waiting callbacks run).
///
/// # Errors
/// The script-facing message for an argument that is not a number of
/// milliseconds ≥ 0.
pub(crate) fn sleep(ms: Millis) -> Result<impl Future<Output = ()> + 'static, String> {
    let pause = ms.duration().map_err(|kind| {
        format!("llmspell.sleep: argument 1 must be a number of milliseconds ≥ 0, got {kind}")
    })?;
    Ok(async move {
        if pause.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(pause).await;
        }
    })
}

/// Polls `ready` until it answers or `window` has passed, yielding to the
/// executor between polls (other tasks keep running; the thread stays awake).
pub(crate) async fn spin_for<T>(
    window: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    if let Some(v) = ready() {
        return Some(v);
    }
    if window.is_zero() {
        return None;
    }
    let until = std::time::Instant::now() + window;
    loop {
        tokio::task::yield_now().await;
        if let Some(v) = ready() {
            return Some(v);
        }
        if std::time::Instant::now() >= until {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Millis;

    #[test]
    fn milliseconds_read_as_scripts_give_them() {
        assert_eq!(Millis::Absent.duration(), Ok(Duration::ZERO));
        assert_eq!(
            Millis::Number(1500.0).duration(),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            Millis::Number(0.5).duration(),
            Ok(Duration::from_micros(500))
        );
        assert_eq!(Millis::Number(1e300).duration(), Ok(Duration::MAX));
        assert_eq!(Millis::Number(-1.0).duration(), Err("number"));
        assert_eq!(Millis::Number(f64::NAN).duration(), Err("number"));
        assert_eq!(Millis::Number(f64::INFINITY).duration(), Err("number"));
        assert_eq!(Millis::Other("table").duration(), Err("table"));
    }
}
