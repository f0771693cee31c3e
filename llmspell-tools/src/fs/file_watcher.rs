//! `file_watcher`: collects file-system change events under the sandbox
//! roots for a bounded time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;
use crate::schema;

/// Default watch duration.
const DEFAULT_DURATION_MS: u64 = 1_000;
/// Default longest watch one call may ask for.
pub const DEFAULT_MAX_WATCH: Duration = Duration::from_secs(60);
/// Default and largest number of events returned.
const DEFAULT_MAX_EVENTS: usize = 100;
const MAX_EVENTS_CAP: usize = 10_000;
/// Events buffered between the watcher thread and the tool; more are dropped
/// (and counted) rather than held without bound.
const QUEUE_CAPACITY: usize = 1024;

/// Watches files and directories (via the platform's notification API) and
/// returns the changes seen, confined to the [`FsSandbox`] roots.
///
/// Parameters `{ paths?, recursive?, duration_ms?, max_events?, kinds? }`:
/// watch `paths` (default: the first root; recursively unless `recursive`
/// is `false`) until `duration_ms` has passed (default 1000, capped by the
/// configured maximum, 60 s by default) or `max_events` events have arrived
/// (default 100). `kinds` filters by `create`, `modify`, `remove`, `rename`
/// or `access` (default: all but `access`).
///
/// Output `{ events: [{ kind, detail, paths }], count, timed_out, dropped }`:
/// `paths` are relative to their root, `timed_out` says the duration ended
/// the watch (rather than `max_events`), and `dropped` counts events lost
/// because more than 1,024 were waiting at once.
#[derive(Debug, Clone)]
pub struct FileWatcher {
    metadata: ComponentMetadata,
    sandbox: FsSandbox,
    max_watch: Duration,
}

impl FileWatcher {
    /// Creates the tool confined to `sandbox`, allowing watches of up to 60 s.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "file_watcher",
                "Watches files and directories within the allowed roots and reports changes",
            ),
            sandbox,
            max_watch: DEFAULT_MAX_WATCH,
        }
    }

    /// Sets the longest watch one call may ask for.
    #[must_use]
    pub fn with_max_watch(mut self, max: Duration) -> Self {
        self.max_watch = max;
        self
    }
}

/// A kind of change.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Create,
    Modify,
    Remove,
    Rename,
    Access,
}

/// The parameters of `file_watcher`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Files or directories to watch (default: the first root).
    paths: Option<Vec<String>>,
    /// Watch the subdirectories of directories too (default true).
    #[serde(default = "yes")]
    recursive: bool,
    /// How long to watch, in milliseconds (default 1000; at most the
    /// configured `max_watch_duration`, 60 s unless set).
    #[serde(default = "default_duration")]
    duration_ms: u64,
    /// Return as soon as this many events arrived, from 1 to 10,000
    /// (default 100).
    #[serde(default = "default_max_events")]
    #[schemars(range(min = 1, max = MAX_EVENTS_CAP))]
    max_events: usize,
    /// Which changes to report: `create`, `modify`, `remove`, `rename`,
    /// `access` (default: all but `access`).
    kinds: Option<Vec<Kind>>,
}

/// How `file_watcher` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn yes() -> bool {
    true
}
fn default_duration() -> u64 {
    DEFAULT_DURATION_MS
}
fn default_max_events() -> usize {
    DEFAULT_MAX_EVENTS
}

/// The kind of a notify event and a short detail, or `None` for events
/// with no kind.
fn classify(kind: &EventKind) -> Option<(Kind, String)> {
    let detail = |d: &dyn std::fmt::Debug| format!("{d:?}").to_lowercase();
    match kind {
        EventKind::Create(k) => Some((Kind::Create, detail(k))),
        EventKind::Modify(ModifyKind::Name(k)) => Some((Kind::Rename, detail(k))),
        EventKind::Modify(k) => Some((Kind::Modify, detail(k))),
        EventKind::Remove(k) => Some((Kind::Remove, detail(k))),
        EventKind::Access(k) => Some((Kind::Access, detail(k))),
        EventKind::Any | EventKind::Other => None,
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Create => "create",
        Kind::Modify => "modify",
        Kind::Remove => "remove",
        Kind::Rename => "rename",
        Kind::Access => "access",
    }
}

impl FileWatcher {
    async fn watch(&self, p: Params) -> Result<Value> {
        let asked = Duration::from_millis(p.duration_ms);
        if asked > self.max_watch {
            return Err(Error::invalid_input(
                "duration_ms",
                format!(
                    "expected at most {} ms, got {}",
                    self.max_watch.as_millis(),
                    p.duration_ms
                ),
            ));
        }
        if p.max_events == 0 || p.max_events > MAX_EVENTS_CAP {
            return Err(Error::invalid_input(
                "max_events",
                format!("expected 1 to {MAX_EVENTS_CAP}, got {}", p.max_events),
            ));
        }
        let wanted: Vec<Kind> = p
            .kinds
            .unwrap_or_else(|| vec![Kind::Create, Kind::Modify, Kind::Remove, Kind::Rename]);
        let paths = p.paths.unwrap_or_else(|| vec![".".to_owned()]);
        if paths.is_empty() {
            return Err(Error::invalid_input("paths", "expected at least one path"));
        }
        let mut resolved = Vec::with_capacity(paths.len());
        for path in &paths {
            resolved.push(self.sandbox.resolve_existing(path)?);
        }

        let (tx, mut rx) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = Arc::new(AtomicUsize::new(0));
        let dropped_in_handler = Arc::clone(&dropped);
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res
                && tx.try_send(event).is_err()
            {
                dropped_in_handler.fetch_add(1, Ordering::Relaxed);
            }
        })
        .map_err(|e| Error::External {
            service: "filesystem".to_owned(),
            message: format!("cannot start watching: {e}"),
            retryable: false,
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        let mode = if p.recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        for path in &resolved {
            watcher.watch(path, mode).map_err(|e| Error::External {
                service: "filesystem".to_owned(),
                message: format!("cannot watch `{}`: {e}", path.display()),
                retryable: false,
                source: Some(llmspell_core::ErrorSource::new(e)),
            })?;
        }

        let deadline = Instant::now() + asked;
        let mut events = Vec::new();
        let mut timed_out = false;
        while events.len() < p.max_events {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(event)) => {
                    let Some((kind, detail)) = classify(&event.kind) else {
                        continue;
                    };
                    if !wanted.contains(&kind) {
                        continue;
                    }
                    let shown: Vec<String> = event
                        .paths
                        .iter()
                        .filter(|path| {
                            self.sandbox.contains(path)
                                || path.parent().is_some_and(|d| self.sandbox.contains(d))
                        })
                        .map(|path| self.sandbox.display_relative(path))
                        .collect();
                    if shown.is_empty() {
                        continue;
                    }
                    events
                        .push(json!({ "kind": kind_name(kind), "detail": detail, "paths": shown }));
                }
                Ok(None) => break,
                Err(_) => {
                    timed_out = true;
                    break;
                }
            }
        }
        drop(watcher);
        Ok(json!({
            "events": events,
            "count": events.len(),
            "timed_out": timed_out,
            "dropped": dropped.load(Ordering::Relaxed),
        }))
    }
}

#[async_trait]
impl Tool for FileWatcher {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Filesystem
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        let mut schema = PARAMS.schema();
        let max = u64::try_from(self.max_watch.as_millis()).unwrap_or(u64::MAX);
        schema::refine(&mut schema, "duration_ms", "maximum", json!(max));
        schema
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "paths": ["inbox"], "duration_ms": 5000, "max_events": 1 }),
            json!({ "duration_ms": 50 }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "kind": { "type": "string", "enum": ["create", "modify", "remove", "rename", "access"] },
                            "detail": { "type": "string" },
                            "paths": { "type": "array", "items": { "type": "string" } }
                        }
                    }
                },
                "count": { "type": "integer" },
                "timed_out": { "type": "boolean" },
                "dropped": { "type": "integer" }
            },
            "required": ["events", "count", "timed_out"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        self.watch(p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_a_file_created_during_the_watch() {
        let dir = tempfile::tempdir().unwrap();
        let tool = FileWatcher::new(FsSandbox::new([dir.path()]));
        let target = dir.path().join("new.txt");
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::fs::write(&target, "hi").unwrap();
        });
        let out = tool
            .execute(
                json!({ "duration_ms": 5000, "max_events": 1, "kinds": ["create"] }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(out["count"], 1);
        assert_eq!(out["timed_out"], false);
        assert_eq!(out["events"][0]["kind"], "create");
        assert_eq!(out["events"][0]["paths"], json!(["new.txt"]));
    }

    #[tokio::test]
    async fn a_quiet_watch_times_out_empty() {
        let dir = tempfile::tempdir().unwrap();
        let tool = FileWatcher::new(FsSandbox::new([dir.path()]));
        let started = std::time::Instant::now();
        let out = tool
            .execute(json!({ "duration_ms": 100 }), &ExecutionContext::native())
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(
            out,
            json!({ "events": [], "count": 0, "timed_out": true, "dropped": 0 })
        );
    }

    #[tokio::test]
    async fn durations_beyond_the_cap_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tool =
            FileWatcher::new(FsSandbox::new([dir.path()])).with_max_watch(Duration::from_secs(1));
        let err = tool
            .execute(json!({ "duration_ms": 5000 }), &ExecutionContext::native())
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`duration_ms`: expected at most 1000 ms"),
            "{err}"
        );
    }
}
