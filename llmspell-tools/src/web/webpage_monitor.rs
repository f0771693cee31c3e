//! `webpage_monitor`: fetch a page, extract a part of it, and report what
//! changed since the last check.

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use llmspell_storage::{MemoryBackend, Namespaced, StorageBackend};
use schemars::JsonSchema;
use scraper::Html;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use similar::{ChangeTag, TextDiff};

use super::html::{selector, text};
use super::page::{ACCEPT_HTML, get};
use super::readable;
use super::request::millis;
use crate::net::SafeClient;
use crate::params::ParamsSpec;

/// The storage namespace of the snapshots.
pub const SNAPSHOT_NAMESPACE: &str = "webpage_monitor";
/// Default largest snapshot kept per URL and selector, in bytes (256 KiB).
pub const DEFAULT_MAX_SNAPSHOT_BYTES: usize = 256 << 10;
/// Default most changed lines listed.
const DEFAULT_DIFF_LINES: usize = 200;
/// Highest `max_diff_lines` a call may ask for.
const MAX_DIFF_LINES: usize = 5000;

/// Watches pages for changes. Each `check` fetches a page through the
/// network safety layer ([`crate::net`]), extracts its text (the matches of
/// a CSS `selector`, one per line, or the page's readable text, one block
/// per line), compares it with the snapshot kept from the last check of
/// the same URL and selector, reports a line diff, and keeps the new
/// snapshot.
///
/// Snapshots live in a [`StorageBackend`] under the namespace
/// `webpage_monitor`: one the tool owns ([`with_storage`](Self::with_storage);
/// in memory by default), or the runtime's
/// ([`with_runtime_storage`](Self::with_runtime_storage)), so a durable
/// store keeps them across runs. Each is at most `max_snapshot_bytes` of text (default
/// 256 KiB); past it the text is cut, and changes beyond the cut are still
/// detected by a hash of the whole text.
///
/// Output of `check`: `{ url, selector, first_seen, changed,
/// previous_checked_at, checked_at, changed_at, checks, matches, content,
/// truncated, diff: { lines_added, lines_removed, added, removed, unified,
/// truncated }, status, elapsed_ms }`.
#[derive(Debug, Clone)]
pub struct WebpageMonitor {
    metadata: ComponentMetadata,
    client: SafeClient,
    storage: Store,
    max_snapshot_bytes: usize,
}

/// Where the snapshots are kept.
#[derive(Debug, Clone)]
enum Store {
    /// A store the tool keeps open.
    Owned(Arc<dyn StorageBackend>),
    /// A runtime's store, which the tool does not keep open: the runtime
    /// closes it when it ends, whoever still holds the tool.
    Runtime(Weak<dyn StorageBackend>),
}

impl WebpageMonitor {
    /// Creates the tool: pages are fetched through `client`; snapshots are
    /// kept in memory until [`with_storage`](Self::with_storage) gives a
    /// store.
    pub fn new(client: SafeClient) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "webpage_monitor",
                "Fetches a page, extracts its text or a selector's matches and reports changes since the last check",
            ),
            client,
            storage: Store::Owned(Arc::new(MemoryBackend::new())),
            max_snapshot_bytes: DEFAULT_MAX_SNAPSHOT_BYTES,
        }
    }

    /// Keeps snapshots in `storage` (under the namespace
    /// [`SNAPSHOT_NAMESPACE`]); the tool keeps it open.
    #[must_use]
    pub fn with_storage(mut self, storage: Arc<dyn StorageBackend>) -> Self {
        self.storage = Store::Owned(storage);
        self
    }

    /// Keeps snapshots in a runtime's `storage` without keeping it open:
    /// the tool holds it weakly, so the runtime closes its database when it
    /// ends (releasing a file lock) even if the tool lives on; checks after
    /// that fail with a storage error.
    #[must_use]
    pub fn with_runtime_storage(mut self, storage: &Arc<dyn StorageBackend>) -> Self {
        self.storage = Store::Runtime(Arc::downgrade(storage));
        self
    }

    /// Keeps at most `bytes` of text per snapshot.
    #[must_use]
    pub fn with_max_snapshot_bytes(mut self, bytes: usize) -> Self {
        self.max_snapshot_bytes = bytes.max(1);
        self
    }

    fn store(&self) -> Result<Namespaced> {
        let backend = match &self.storage {
            Store::Owned(s) => s.clone(),
            Store::Runtime(weak) => weak.upgrade().ok_or_else(|| {
                Error::storage("the runtime's storage is closed: the runtime has ended")
            })?,
        };
        Ok(Namespaced::new(backend, SNAPSHOT_NAMESPACE)?)
    }
}

/// The operations of `webpage_monitor`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Fetches the page, extracts the text, compares it with the last
    /// snapshot of the same URL and selector and keeps the new one; output
    /// `{ first_seen, changed, previous_checked_at, diff, content, ... }`.
    Check {
        /// The page's `http://` or `https://` URL; its host must be on
        /// `allowed_hosts`.
        url: String,
        /// A CSS selector: the text of its matches, one per line, is
        /// watched. Without it, the page's readable text (main content, one
        /// block per line).
        selector: Option<String>,
        /// Most added and removed lines listed (default 200, at most 5000);
        /// the counts are always complete.
        #[schemars(range(min = 1, max = 5000))]
        max_diff_lines: Option<usize>,
        /// Time limit of the fetch in milliseconds (default and maximum:
        /// `net_timeout_ms`).
        #[schemars(range(min = 1))]
        timeout_ms: Option<u64>,
        /// Largest page read, in bytes (default and maximum:
        /// `net_max_response_bytes`).
        #[schemars(range(min = 1))]
        max_bytes: Option<u64>,
    },
    /// Drops the snapshot of a URL and selector, so the next check sees the
    /// page for the first time; output `{ forgotten }`.
    Forget {
        /// The page's URL, as given to `check`.
        url: String,
        /// The selector, as given to `check` (none: the readable text).
        selector: Option<String>,
    },
}

/// How `webpage_monitor` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

/// A kept snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Snapshot {
    url: String,
    selector: Option<String>,
    content: String,
    sha256: String,
    truncated: bool,
    first_seen_at: String,
    checked_at: String,
    changed_at: String,
    checks: u64,
}

/// The storage key of a URL and selector: a hash, so keys stay short
/// whatever the URL.
fn key(url: &str, selector: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(url.trim().as_bytes());
    h.update([0]);
    match selector {
        Some(s) => h.update(s.trim().as_bytes()),
        None => h.update(b"\x01readable"),
    }
    hex::encode(h.finalize())
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// The line diff of `old` and `new`: counts, the changed lines (at most
/// `max` of each) and a unified diff (at most `max` lines).
fn diff(old: &str, new: &str, max: usize) -> Value {
    let d = TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut n_added, mut n_removed) = (0usize, 0usize);
    for change in d.iter_all_changes() {
        let line = change.value().trim_end_matches(['\n', '\r']).to_owned();
        match change.tag() {
            ChangeTag::Insert => {
                n_added += 1;
                if added.len() < max {
                    added.push(line);
                }
            }
            ChangeTag::Delete => {
                n_removed += 1;
                if removed.len() < max {
                    removed.push(line);
                }
            }
            ChangeTag::Equal => {}
        }
    }
    let unified = d
        .unified_diff()
        .context_radius(2)
        .header("previous", "current")
        .to_string();
    let unified_lines: Vec<&str> = unified.lines().collect();
    let unified_truncated = unified_lines.len() > max;
    json!({
        "lines_added": n_added,
        "lines_removed": n_removed,
        "added": added,
        "removed": removed,
        "unified": unified_lines[..unified_lines.len().min(max)].join("\n"),
        "truncated": n_added > max || n_removed > max || unified_truncated,
    })
}

impl WebpageMonitor {
    async fn check(
        &self,
        url: String,
        css: Option<String>,
        max_diff_lines: Option<usize>,
        timeout_ms: Option<u64>,
        max_bytes: Option<u64>,
    ) -> Result<Value> {
        let max_diff = match max_diff_lines {
            None => DEFAULT_DIFF_LINES,
            Some(n) if (1..=MAX_DIFF_LINES).contains(&n) => n,
            Some(n) => {
                return Err(Error::invalid_input(
                    "max_diff_lines",
                    format!("expected 1 to {MAX_DIFF_LINES}, got {n}"),
                ));
            }
        };
        let sel = css
            .as_deref()
            .map(|c| selector(c, "selector"))
            .transpose()?;
        let max_bytes = self.client.max_bytes(max_bytes, "max_bytes")?;
        let page = get(
            &self.client,
            &url,
            "url",
            ACCEPT_HTML,
            timeout_ms,
            max_bytes,
        )
        .await?;
        page.require_success()?;
        if !page.is_html() {
            return Err(Error::External {
                service: "http".to_owned(),
                message: format!(
                    "GET {} answered `{}`, not an HTML page",
                    page.url,
                    page.media_type().unwrap_or_default()
                ),
                retryable: false,
                source: None,
            });
        }
        // The parsed page is not `Send`: it is dropped before the next await.
        let (lines, matches) = {
            let doc = Html::parse_document(&page.text());
            match &sel {
                Some(sel) => {
                    let lines: Vec<String> = doc.select(sel).map(text).collect();
                    let n = lines.len();
                    (lines, n)
                }
                None => (readable::extract(&doc).lines, 1),
            }
        };
        let full = lines.join("\n");
        let sha256 = hex::encode(Sha256::digest(full.as_bytes()));
        let (content, truncated) = cut(&full, self.max_snapshot_bytes);

        let store = self.store()?;
        let k = key(&url, css.as_deref());
        let previous: Option<Snapshot> = match store.get(&k).await? {
            Some(bytes) => serde_json::from_slice(&bytes).ok(),
            None => None,
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let changed = previous.as_ref().is_some_and(|p| p.sha256 != sha256);
        let diff = match &previous {
            Some(p) if changed => diff(
                &ensure_newline(&p.content),
                &ensure_newline(content),
                max_diff,
            ),
            _ => diff("", "", max_diff),
        };
        let snapshot = Snapshot {
            url: url.trim().to_owned(),
            selector: css.clone(),
            content: content.to_owned(),
            sha256,
            truncated,
            first_seen_at: previous
                .as_ref()
                .map_or_else(|| now.clone(), |p| p.first_seen_at.clone()),
            checked_at: now.clone(),
            changed_at: match &previous {
                Some(p) if !changed => p.changed_at.clone(),
                _ => now.clone(),
            },
            checks: previous.as_ref().map_or(0, |p| p.checks) + 1,
        };
        let encoded = serde_json::to_vec(&snapshot).map_err(|e| Error::Other {
            message: format!("cannot encode the snapshot: {e}"),
            source: None,
        })?;
        store.put(&k, encoded).await?;
        Ok(json!({
            "url": page.url.as_str(),
            "selector": css,
            "status": page.status,
            "first_seen": previous.is_none(),
            "changed": changed,
            "previous_checked_at": previous.as_ref().map(|p| p.checked_at.clone()),
            "checked_at": snapshot.checked_at,
            "changed_at": snapshot.changed_at,
            "first_seen_at": snapshot.first_seen_at,
            "checks": snapshot.checks,
            "matches": matches,
            "content": snapshot.content,
            "truncated": truncated,
            "diff": diff,
            "elapsed_ms": millis(page.elapsed),
        }))
    }

    async fn forget(&self, url: &str, css: Option<&str>) -> Result<Value> {
        let forgotten = self.store()?.delete(&key(url, css)).await?;
        Ok(json!({ "forgotten": forgotten }))
    }
}

/// `s` ending with a newline, so the last line diffs like the others.
fn ensure_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_owned()
    } else {
        format!("{s}\n")
    }
}

#[async_trait]
impl Tool for WebpageMonitor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Web
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "check", "url": "https://example.com/pricing", "selector": "table.plans td.price" }),
            json!({ "operation": "check", "url": "https://example.com/changelog" }),
            json!({ "operation": "forget", "url": "https://example.com/changelog" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": { "type": "string", "description": "The page's URL after redirects" },
                "selector": { "type": ["string", "null"] },
                "status": { "type": "integer" },
                "first_seen": { "type": "boolean", "description": "No snapshot existed before this check" },
                "changed": { "type": "boolean", "description": "The text differs from the last snapshot" },
                "previous_checked_at": { "type": ["string", "null"], "description": "RFC 3339 time of the last check" },
                "checked_at": { "type": "string" },
                "changed_at": { "type": "string", "description": "The last change (or the first check)" },
                "first_seen_at": { "type": "string" },
                "checks": { "type": "integer" },
                "matches": { "type": "integer", "description": "Elements the selector matched" },
                "content": { "type": "string", "description": "The text watched, one line per match or block (cut at the snapshot limit)" },
                "truncated": { "type": "boolean" },
                "diff": {
                    "type": "object",
                    "properties": {
                        "lines_added": { "type": "integer" },
                        "lines_removed": { "type": "integer" },
                        "added": { "type": "array", "items": { "type": "string" } },
                        "removed": { "type": "array", "items": { "type": "string" } },
                        "unified": { "type": "string" },
                        "truncated": { "type": "boolean" }
                    }
                },
                "elapsed_ms": { "type": "number" },
                "forgotten": { "type": "boolean", "description": "forget: a snapshot existed" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Check {
                url,
                selector,
                max_diff_lines,
                timeout_ms,
                max_bytes,
            } => {
                self.check(url, selector, max_diff_lines, timeout_ms, max_bytes)
                    .await
            }
            Operation::Forget { url, selector } => self.forget(&url, selector.as_deref()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_count_and_cap_lines() {
        let d = diff("a\nb\nc\n", "a\nB\nc\nd\n", 1);
        assert_eq!(d["lines_added"], 2);
        assert_eq!(d["lines_removed"], 1);
        assert_eq!(d["added"], json!(["B"]));
        assert_eq!(d["removed"], json!(["b"]));
        assert_eq!(d["truncated"], true);
        let d = diff("x\n", "x\n", 10);
        assert_eq!(
            (d["lines_added"].clone(), d["unified"].clone()),
            (json!(0), json!(""))
        );
    }

    #[test]
    fn cuts_at_character_boundaries() {
        assert_eq!(cut("héllo", 2), ("h", true));
        assert_eq!(cut("hi", 2), ("hi", false));
        assert_ne!(key("https://a/", None), key("https://a/", Some("p")));
    }
}
