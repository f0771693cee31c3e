//! A timeout that is free for futures that finish at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The error of a [`LazyTimeout`] whose limit passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out after {} ms", self.0.as_millis())
    }
}

impl std::error::Error for Elapsed {}

/// Limits a future to `after`, arming a tokio timer only once the future
/// has to wait.
///
/// `tokio::time::timeout` reads the clock and registers a timer entry for
/// every call; hooks and tools mostly finish on their first poll, so this
/// polls first and starts the timer (for the time left since `started`)
/// only when the future returns `Pending`. Outside a tokio runtime there is
/// no timer and the future runs untimed. A timeout takes effect at the
/// future's next await; code that never yields cannot be interrupted (script
/// engines interrupt their own busy loops).
pub struct LazyTimeout<F> {
    fut: F,
    after: Duration,
    started: quanta::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F> LazyTimeout<F> {
    /// Limits `fut` to `after` from now.
    pub fn new(fut: F, after: Duration) -> Self {
        Self::started_at(fut, after, llmspell_core::clock::instant())
    }

    /// Limits `fut` to `after` from `started`.
    pub fn started_at(fut: F, after: Duration, started: quanta::Instant) -> Self {
        Self {
            fut,
            after,
            started,
            sleep: None,
        }
    }
}

impl<F: Future + Unpin> Future for LazyTimeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.fut).poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if self.sleep.is_none() {
            if tokio::runtime::Handle::try_current().is_err() {
                return Poll::Pending;
            }
            let left = self
                .after
                .saturating_sub(llmspell_core::clock::since(self.started));
            self.sleep = Some(Box::pin(tokio::time::sleep(left)));
        }
        match self.sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(Elapsed(self.after))),
            _ => Poll::Pending,
        }
    }
}

impl<F> std::fmt::Debug for LazyTimeout<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyTimeout")
            .field("after", &self.after)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_futures_pass_and_slow_ones_time_out() {
        let fast = LazyTimeout::new(Box::pin(async { 7 }), Duration::from_millis(10)).await;
        assert_eq!(fast, Ok(7));
        let slow = LazyTimeout::new(
            Box::pin(tokio::time::sleep(Duration::from_secs(5))),
            Duration::from_millis(10),
        )
        .await;
        assert_eq!(slow, Err(Elapsed(Duration::from_millis(10))));
    }
}
