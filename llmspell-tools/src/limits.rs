//! Per-call resource limits and the counters hooks can read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What one tool call may use. Unset limits are not checked.
///
/// File-system roots, hosts and commands are confinements of the tools
/// themselves (see [`crate::BuiltinToolsConfig`]); these limits apply to
/// every tool, built-in or script-defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct ResourceLimits {
    /// Longest run. Default 30 s.
    #[serde(with = "opt_ms", default)]
    pub max_duration: Option<Duration>,
    /// Largest input, as compact JSON bytes with strings counted at their
    /// UTF-8 length ([`json_size`](llmspell_core::json_size)). Default 1 MiB.
    pub max_input_bytes: Option<usize>,
    /// Largest output, counted as the input is. Default 16 MiB.
    pub max_output_bytes: Option<usize>,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            max_duration: Some(Duration::from_secs(30)),
            max_input_bytes: Some(1 << 20),
            max_output_bytes: Some(16 << 20),
        }
    }
}

impl ResourceLimits {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Self {
            max_duration: None,
            max_input_bytes: None,
            max_output_bytes: None,
        }
    }

    /// Sets the longest run.
    pub fn max_duration(mut self, d: Duration) -> Self {
        self.max_duration = Some(d);
        self
    }

    /// Sets the largest input.
    pub fn max_input_bytes(mut self, n: usize) -> Self {
        self.max_input_bytes = Some(n);
        self
    }

    /// Sets the largest output.
    pub fn max_output_bytes(mut self, n: usize) -> Self {
        self.max_output_bytes = Some(n);
        self
    }
}

mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// Counters of one tool (or of all tools), updated on every call.
#[derive(Debug, Default)]
pub struct ToolCounters {
    calls: AtomicU64,
    active: AtomicU64,
    failures: AtomicU64,
    timeouts: AtomicU64,
    limit_breaches: AtomicU64,
    denied: AtomicU64,
    input_bytes: AtomicU64,
    output_bytes: AtomicU64,
    busy_micros: AtomicU64,
}

/// A snapshot of [`ToolCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceUsage {
    /// Calls started.
    pub calls: u64,
    /// Calls running now.
    pub active: u64,
    /// Calls that ended in an error.
    pub failures: u64,
    /// Calls that hit their time limit.
    pub timeouts: u64,
    /// Calls refused or stopped by a size or time limit.
    pub limit_breaches: u64,
    /// Calls refused by the security check.
    pub denied: u64,
    /// Input bytes (compact JSON) accepted.
    pub input_bytes: u64,
    /// Output bytes (compact JSON) returned.
    pub output_bytes: u64,
    /// Time spent running, in microseconds.
    pub busy_micros: u64,
}

impl ToolCounters {
    pub(crate) fn add_to(&self, total: &mut ResourceUsage) {
        let u = self.snapshot();
        total.calls += u.calls;
        total.active += u.active;
        total.failures += u.failures;
        total.timeouts += u.timeouts;
        total.limit_breaches += u.limit_breaches;
        total.denied += u.denied;
        total.input_bytes += u.input_bytes;
        total.output_bytes += u.output_bytes;
        total.busy_micros += u.busy_micros;
    }

    pub(crate) fn start(&self, input_bytes: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::Relaxed);
        self.input_bytes
            .fetch_add(input_bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self, elapsed: Duration, output_bytes: usize, failed: bool) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        self.output_bytes
            .fetch_add(output_bytes as u64, Ordering::Relaxed);
        self.busy_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
        self.limit_breaches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn breach(&self) {
        self.limit_breaches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deny(&self) {
        self.denied.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ResourceUsage {
        ResourceUsage {
            calls: self.calls.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            limit_breaches: self.limit_breaches.load(Ordering::Relaxed),
            denied: self.denied.load(Ordering::Relaxed),
            input_bytes: self.input_bytes.load(Ordering::Relaxed),
            output_bytes: self.output_bytes.load(Ordering::Relaxed),
            busy_micros: self.busy_micros.load(Ordering::Relaxed),
        }
    }
}
