//! `MemoryUsageHigh`: a Lua engine past its high-water share of the memory
//! limit, or the process past its resident-memory mark.
//!
//! Each crossing fires the point once; it fires again only after use has
//! fallen below 90% of the mark. Data: `{ source = "lua" | "process",
//! used_bytes, mark_bytes, limit_bytes }` (`limit_bytes` for Lua only).
//! A `Cancel` there stops the Lua code running in the engine concerned
//! (`source = "lua"`), at its next instruction check, with an error naming
//! the hook and its reason; at `source = "process"` it stops the Lua code of
//! every engine. Other results are not honoured there.

use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, ComponentType, ExecutionContext};
use llmspell_hooks::{HookContext, HookPoint, HookResult};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::Host;

/// How often the process watch samples resident memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// A stop asked by a `MemoryUsageHigh` hook: the message the running Lua
/// code is stopped with. Shared between an engine and the reports it starts.
pub(crate) type StopRequest = Arc<Mutex<Option<String>>>;

/// A mark with hysteresis: crossing it reports once; it re-arms below 90%.
#[derive(Debug)]
pub(crate) struct Mark {
    at: u64,
    armed: bool,
}

impl Mark {
    pub(crate) fn new(at: u64) -> Self {
        Self { at, armed: true }
    }

    /// Whether `used` crosses the mark now (and so should be reported).
    pub(crate) fn crossed(&mut self, used: u64) -> bool {
        if self.armed && used >= self.at {
            self.armed = false;
            return true;
        }
        if !self.armed && used < self.at / 10 * 9 {
            self.armed = true;
        }
        false
    }

    pub(crate) fn at(&self) -> u64 {
        self.at
    }
}

/// Fires `MemoryUsageHigh` with `data` on the runtime's own tokio runtime
/// (never on an engine thread, which may be the one using the memory); a
/// `Cancel` puts its message into each of `stops`.
pub(crate) fn report(host: &Host, data: Value, stops: Vec<StopRequest>) {
    let executor = host.inner.executor.clone();
    if !executor.registry().has_hooks(&HookPoint::MemoryUsageHigh) {
        return;
    }
    host.inner.background.spawn(async move {
        let ctx = HookContext::for_operation(
            HookPoint::MemoryUsageHigh,
            ComponentId::new(ComponentType::System, "memory"),
            &ExecutionContext::native(),
            data,
        );
        match executor.fire(ctx).await {
            Ok(fired) => {
                if let HookResult::Cancel(reason) = fired.result() {
                    let message = format!(
                        "stopped by hook {:?} at MemoryUsageHigh: {reason}",
                        fired.decided_by().unwrap_or_default()
                    );
                    for stop in &stops {
                        *stop.lock() = Some(message.clone());
                    }
                } else {
                    fired.ignore("only cancel applies");
                }
            }
            Err(e) => tracing::warn!(error = %e, "a MemoryUsageHigh hook failed"),
        }
    });
}

/// The process memory watch; stops when dropped or [`stop`](Self::stop)ped.
pub(crate) struct ProcessWatch {
    task: tokio::task::JoinHandle<()>,
}

impl ProcessWatch {
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

impl Drop for ProcessWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Samples the process's resident memory every 250 ms and reports crossings
/// of `mark` bytes.
pub(crate) fn watch_process(host: &Host, mark: u64) -> ProcessWatch {
    let host = host.clone();
    let task = host.inner.background.clone().spawn(async move {
        let mut mark = Mark::new(mark);
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        loop {
            ticks.tick().await;
            let Some(rss) = resident_bytes() else {
                tracing::warn!(
                    "resident memory cannot be read on this system; the memory watch stops"
                );
                return;
            };
            if mark.crossed(rss) {
                let stops = host.lua_stop_requests();
                report(
                    &host,
                    json!({ "source": "process", "used_bytes": rss, "mark_bytes": mark.at() }),
                    stops,
                );
            }
        }
    });
    ProcessWatch { task }
}

/// The process's resident memory in bytes (`VmRSS` of `/proc/self/status`;
/// `None` where that file does not exist).
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reports_each_crossing_once_and_rearms_below_ninety_percent() {
        let mut m = Mark::new(1000);
        assert!(!m.crossed(500));
        assert!(m.crossed(1000));
        assert!(!m.crossed(2000), "still above: no second report");
        assert!(!m.crossed(950), "not yet re-armed");
        assert!(!m.crossed(800));
        assert!(m.crossed(1200), "re-armed below 900");
    }

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
