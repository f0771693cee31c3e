//! A bounded trace of the contexts hooks saw, for debugging.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;

use super::invalid;
use super::redaction::Redactor;
use crate::{Hook, HookContext, HookMetadata, HookPoint, HookResult, Priority};
use llmspell_core::json_size;

/// One context as [`DebuggingHook`] captured it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapturedContext {
    /// Capture order, from 0, over the hook's lifetime (gaps mean evicted entries).
    pub sequence: u64,
    /// The point's name.
    pub point: String,
    /// The component, `kind:name`.
    pub component: String,
    /// The operation's correlation id.
    pub correlation_id: CorrelationId,
    /// Its parent's, if any.
    pub parent_id: Option<CorrelationId>,
    /// The data (redacted; `null` when data capture is off; a string
    /// marked `…(truncated)` when larger than the bound).
    pub data: Value,
    /// The metadata (redacted).
    pub metadata: BTreeMap<String, String>,
    /// When the context was created.
    pub timestamp: DateTime<Utc>,
    /// How long the operation had run (After and Error points).
    pub elapsed: Option<Duration>,
}

/// Keeps the last [`capacity`](DebuggingHookBuilder::capacity) contexts it
/// saw in a ring buffer: the oldest is dropped when it is full, so memory
/// stays bounded (also per entry, by
/// [`max_data_bytes`](DebuggingHookBuilder::max_data_bytes)). Query with
/// [`by_correlation`](DebuggingHook::by_correlation) and
/// [`recent`](DebuggingHook::recent). Secrets are redacted as by
/// [`Redactor::default`] unless configured otherwise. It always returns `Continue`.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_hooks::builtin::DebuggingHook;
/// use llmspell_hooks::{HookPoint, HookRegistry};
///
/// let debug = Arc::new(DebuggingHook::builder().capacity(500).build()?);
/// let registry = HookRegistry::new();
/// registry.register(HookPoint::BeforeToolExecution, debug.clone()).forget();
/// assert!(debug.recent(10).is_empty());
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct DebuggingHook {
    capacity: usize,
    capture_data: bool,
    max_data_bytes: usize,
    points: Option<HashSet<HookPoint>>,
    redactor: Redactor,
    buffer: Mutex<VecDeque<CapturedContext>>,
    next: AtomicU64,
    dropped: AtomicU64,
    metadata: HookMetadata,
}

/// Builds a [`DebuggingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DebuggingHookBuilder {
    capacity: usize,
    capture_data: bool,
    max_data_bytes: usize,
    points: Option<HashSet<HookPoint>>,
    redactor: Redactor,
    name: String,
    priority: Priority,
}

impl Default for DebuggingHookBuilder {
    fn default() -> Self {
        Self {
            capacity: 1000,
            capture_data: true,
            max_data_bytes: 16 * 1024,
            points: None,
            redactor: Redactor::default(),
            name: "builtin.debugging".to_owned(),
            priority: Priority::LOWEST,
        }
    }
}

impl DebuggingHookBuilder {
    /// How many contexts are kept. Default 1000; at least 1.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Whether `data` is captured (otherwise it is `null`). Default true.
    pub fn capture_data(mut self, on: bool) -> Self {
        self.capture_data = on;
        self
    }

    /// Data whose JSON text is longer than this is kept as a truncated
    /// string. Default 16 KiB; at least 16.
    pub fn max_data_bytes(mut self, bytes: usize) -> Self {
        self.max_data_bytes = bytes;
        self
    }

    /// Only capture at these points (default: wherever it is registered).
    pub fn points(mut self, points: impl IntoIterator<Item = HookPoint>) -> Self {
        self.points = Some(points.into_iter().collect());
        self
    }

    /// The redactor applied to data and metadata. Default [`Redactor::default`];
    /// [`Redactor::none`] keeps everything.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The hook's name. Default `builtin.debugging`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `LOWEST` (it sees the data other hooks modified).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a capacity
    /// of 0, `max_data_bytes` under 16, an empty point set or name.
    pub fn build(self) -> crate::Result<DebuggingHook> {
        if self.capacity == 0 {
            return Err(invalid("capacity", "must be at least 1"));
        }
        if self.max_data_bytes < 16 {
            return Err(invalid(
                "max_data_bytes",
                format!("{} is too small; use at least 16", self.max_data_bytes),
            ));
        }
        if self.points.as_ref().is_some_and(HashSet::is_empty) {
            return Err(invalid("points", "the point set is empty"));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        Ok(DebuggingHook {
            capacity: self.capacity,
            capture_data: self.capture_data,
            max_data_bytes: self.max_data_bytes,
            points: self.points,
            redactor: self.redactor,
            buffer: Mutex::new(VecDeque::with_capacity(self.capacity.min(4096))),
            next: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("bounded ring buffer of captured contexts"),
        })
    }
}

impl DebuggingHook {
    /// A builder with the defaults.
    pub fn builder() -> DebuggingHookBuilder {
        DebuggingHookBuilder::default()
    }

    /// Captures `ctx` (as the hook does when it runs).
    pub fn capture(&self, ctx: &HookContext) {
        if self
            .points
            .as_ref()
            .is_some_and(|p| !p.contains(&ctx.point))
        {
            return;
        }
        let data = if self.capture_data {
            let mut data = self.redactor.redact(&ctx.data);
            if json_size(&data) > self.max_data_bytes {
                let text = data.to_string();
                let mut cut = self.max_data_bytes;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                data = Value::String(format!("{}…(truncated)", &text[..cut]));
            }
            data
        } else {
            Value::Null
        };
        let entry = CapturedContext {
            sequence: self.next.fetch_add(1, Ordering::Relaxed),
            point: ctx.point.name().into_owned(),
            component: ctx.component.to_string(),
            correlation_id: ctx.correlation_id.clone(),
            parent_id: ctx.parent_id.clone(),
            data,
            metadata: self.redactor.redact_map(&ctx.metadata),
            timestamp: ctx.timestamp,
            elapsed: ctx.elapsed,
        };
        let mut buf = self.buffer.lock();
        if buf.len() >= self.capacity {
            buf.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        buf.push_back(entry);
    }

    /// The captured contexts of one operation (and only those), oldest first.
    pub fn by_correlation(&self, id: &CorrelationId) -> Vec<CapturedContext> {
        self.buffer
            .lock()
            .iter()
            .filter(|c| c.correlation_id == *id)
            .cloned()
            .collect()
    }

    /// The last `n` captured contexts, oldest first.
    pub fn recent(&self, n: usize) -> Vec<CapturedContext> {
        let buf = self.buffer.lock();
        buf.iter()
            .skip(buf.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// Empties the buffer (the sequence goes on).
    pub fn clear(&self) {
        self.buffer.lock().clear();
    }

    /// Contexts held now.
    pub fn len(&self) -> usize {
        self.buffer.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.buffer.lock().is_empty()
    }

    /// The most contexts held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Contexts dropped to make room, over the hook's lifetime.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for DebuggingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebuggingHook")
            .field("capacity", &self.capacity)
            .field("held", &self.len())
            .field("dropped", &self.dropped())
            .finish()
    }
}

#[async_trait]
impl Hook for DebuggingHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        self.capture(ctx);
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_core::ComponentId;
    use serde_json::json;

    #[test]
    fn large_data_is_truncated_and_settings_checked() {
        let d = DebuggingHook::builder().max_data_bytes(20).build().unwrap();
        let c = HookContext::new(
            HookPoint::BeforeToolExecution,
            ComponentId::tool("t"),
            json!({ "text": "x".repeat(100) }),
        );
        d.capture(&c);
        let got = &d.recent(1)[0];
        assert!(got.data.as_str().unwrap().ends_with("…(truncated)"));
        assert!(DebuggingHook::builder().capacity(0).build().is_err());
        assert!(DebuggingHook::builder().points([]).build().is_err());
    }
}
