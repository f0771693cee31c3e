//! `diff_calculator`: differences between two texts or two JSON values.

use std::time::Duration;

use async_trait::async_trait;
use jsonptr::PointerBuf;
use llmspell_core::{ComponentMetadata, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};

use crate::params::ParamsSpec;

/// Past this, the diff algorithm approximates instead of searching further.
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);
/// Most JSON changes listed; the counts still cover all of them.
const MAX_JSON_CHANGES: usize = 1000;

/// Compares two texts or two JSON values.
///
/// - `text { old, new, context_lines?, old_label?, new_label? }` →
///   `{ identical, unified_diff, similarity, stats: { lines_added,
///   lines_removed, lines_unchanged, words_added, words_removed } }`;
/// - `json { old, new }` → `{ identical, changes: [{ path, kind, old?, new? }],
///   added, removed, changed, patch }`.
///
/// JSON paths are JSON Pointers (RFC 6901, `""` for the whole value);
/// `kind` is `added`, `removed` or `changed`. Objects are compared key by key
/// and arrays index by index. `patch` is an RFC 6902 JSON Patch turning
/// `old` into `new`.
#[derive(Debug, Clone)]
pub struct DiffCalculator {
    metadata: ComponentMetadata,
}

impl DiffCalculator {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "diff_calculator",
                "Computes unified text diffs with statistics and structural JSON diffs",
            ),
        }
    }
}

impl Default for DiffCalculator {
    fn default() -> Self {
        Self::new()
    }
}

/// The operations of `diff_calculator`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Compares two texts line by line; output
    /// `{ identical, unified_diff, similarity, stats }`.
    Text {
        /// The original text.
        old: String,
        /// The changed text.
        new: String,
        /// Unchanged lines shown around each change in the unified diff
        /// (default 3).
        #[serde(default = "three")]
        context_lines: usize,
        /// The name of the original in the diff's `---` header (default
        /// `"old"`).
        #[serde(default = "old_label")]
        old_label: String,
        /// The name of the changed text in the diff's `+++` header (default
        /// `"new"`).
        #[serde(default = "new_label")]
        new_label: String,
    },
    /// Compares two JSON values structurally; output
    /// `{ identical, changes, added, removed, changed, truncated, patch }`.
    Json {
        /// The original value, of any JSON type.
        old: Value,
        /// The changed value, of any JSON type.
        new: Value,
    },
}

/// How `diff_calculator` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn three() -> usize {
    3
}
fn old_label() -> String {
    "old".to_owned()
}
fn new_label() -> String {
    "new".to_owned()
}

fn text_diff(old: &str, new: &str, context: usize, old_label: &str, new_label: &str) -> Value {
    let lines = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    let (mut added, mut removed, mut unchanged) = (0usize, 0usize, 0usize);
    for change in lines.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => unchanged += 1,
        }
    }
    let unified = lines
        .unified_diff()
        .context_radius(context)
        .header(old_label, new_label)
        .to_string();

    let words = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_words(old, new);
    let (mut words_added, mut words_removed) = (0usize, 0usize);
    for change in words.iter_all_changes() {
        if change.value().trim().is_empty() {
            continue;
        }
        match change.tag() {
            ChangeTag::Insert => words_added += 1,
            ChangeTag::Delete => words_removed += 1,
            ChangeTag::Equal => {}
        }
    }
    json!({
        "identical": old == new,
        "unified_diff": unified,
        "similarity": (f64::from(lines.ratio()) * 10_000.0).round() / 10_000.0,
        "stats": {
            "lines_added": added,
            "lines_removed": removed,
            "lines_unchanged": unchanged,
            "words_added": words_added,
            "words_removed": words_removed,
        }
    })
}

#[derive(Default)]
struct JsonChanges {
    listed: Vec<Value>,
    added: usize,
    removed: usize,
    changed: usize,
}

impl JsonChanges {
    fn record(&mut self, kind: &str, path: &PointerBuf, old: Option<&Value>, new: Option<&Value>) {
        match kind {
            "added" => self.added += 1,
            "removed" => self.removed += 1,
            _ => self.changed += 1,
        }
        if self.listed.len() < MAX_JSON_CHANGES {
            let mut entry = json!({ "path": path.as_str(), "kind": kind });
            if let Some(old) = old {
                entry["old"] = old.clone();
            }
            if let Some(new) = new {
                entry["new"] = new.clone();
            }
            self.listed.push(entry);
        }
    }

    fn walk(&mut self, old: &Value, new: &Value, path: &mut PointerBuf) {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, va) in a {
                    path.push_back(key.as_str());
                    match b.get(key) {
                        Some(vb) => self.walk(va, vb, path),
                        None => self.record("removed", path, Some(va), None),
                    }
                    path.pop_back();
                }
                for (key, vb) in b {
                    if !a.contains_key(key) {
                        path.push_back(key.as_str());
                        self.record("added", path, None, Some(vb));
                        path.pop_back();
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for i in 0..a.len().max(b.len()) {
                    path.push_back(i);
                    match (a.get(i), b.get(i)) {
                        (Some(va), Some(vb)) => self.walk(va, vb, path),
                        (Some(va), None) => self.record("removed", path, Some(va), None),
                        (None, Some(vb)) => self.record("added", path, None, Some(vb)),
                        (None, None) => {}
                    }
                    path.pop_back();
                }
            }
            _ if old == new => {}
            _ => self.record("changed", path, Some(old), Some(new)),
        }
    }
}

fn json_diff(old: &Value, new: &Value) -> Value {
    let mut changes = JsonChanges::default();
    changes.walk(old, new, &mut PointerBuf::new());
    let patch = json_patch::diff(old, new);
    let total = changes.added + changes.removed + changes.changed;
    json!({
        "identical": total == 0,
        "changes": changes.listed,
        "truncated": total > MAX_JSON_CHANGES,
        "added": changes.added,
        "removed": changes.removed,
        "changed": changes.changed,
        "patch": patch,
    })
}

#[async_trait]
impl Tool for DiffCalculator {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({
                "operation": "json",
                "old": { "name": "a", "tags": [1, 2] }, "new": { "name": "b", "tags": [1] }
            }),
            json!({ "operation": "json", "old": { "a": 1 }, "new": { "a": 2, "b": true } }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "identical": { "type": "boolean" },
                "unified_diff": { "type": "string", "description": "text: unified diff (empty when identical)" },
                "similarity": { "type": "number", "description": "text: 0..1 share of matching lines" },
                "stats": { "type": "object", "description": "text: line and word counts" },
                "changes": {
                    "type": "array",
                    "description": "json: one entry per differing path (at most 1000)",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": { "type": "string" },
                            "kind": { "type": "string", "enum": ["added", "removed", "changed"] },
                            "old": {},
                            "new": {}
                        }
                    }
                },
                "truncated": { "type": "boolean" },
                "added": { "type": "integer" },
                "removed": { "type": "integer" },
                "changed": { "type": "integer" },
                "patch": { "type": "array", "description": "json: RFC 6902 patch from old to new" }
            },
            "required": ["identical"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        Ok(match PARAMS.read(params)? {
            Operation::Text {
                old,
                new,
                context_lines,
                old_label,
                new_label,
            } => text_diff(&old, &new, context_lines, &old_label, &new_label),
            Operation::Json { old, new } => json_diff(&old, &new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_and_line_stats() {
        let out = text_diff("a\nb\nc\n", "a\nB\nc\nd\n", 3, "old", "new");
        assert_eq!(
            out["unified_diff"],
            "--- old\n+++ new\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n"
        );
        assert_eq!(out["stats"]["lines_added"], 2);
        assert_eq!(out["stats"]["lines_removed"], 1);
        assert_eq!(out["stats"]["lines_unchanged"], 2);
        assert_eq!(out["identical"], false);
    }

    #[test]
    fn similarity_is_rounded_to_four_places() {
        let out = text_diff("a\nb\nc\n", "a\nB\nc\n", 3, "old", "new");
        assert_eq!(out["similarity"], 0.6667);
    }

    #[test]
    fn word_stats_ignore_whitespace() {
        let out = text_diff("the quick fox", "the slow brown fox", 3, "a", "b");
        assert_eq!(out["stats"]["words_added"], 2);
        assert_eq!(out["stats"]["words_removed"], 1);
    }

    #[test]
    fn identical_texts_have_an_empty_diff() {
        let out = text_diff("same\n", "same\n", 3, "a", "b");
        assert_eq!(out["identical"], true);
        assert_eq!(out["unified_diff"], "");
        assert_eq!(out["similarity"], 1.0);
    }

    #[test]
    fn json_diff_lists_paths_with_old_and_new_values() {
        let old = json!({ "name": "a", "tags": [1, 2, 3], "gone": true, "nested": { "x/y": 1 } });
        let new = json!({ "name": "b", "tags": [1, 2], "extra": null, "nested": { "x/y": 2 } });
        let out = json_diff(&old, &new);
        assert_eq!(
            out["changes"],
            json!([
                { "path": "/name", "kind": "changed", "old": "a", "new": "b" },
                { "path": "/tags/2", "kind": "removed", "old": 3 },
                { "path": "/gone", "kind": "removed", "old": true },
                { "path": "/nested/x~1y", "kind": "changed", "old": 1, "new": 2 },
                { "path": "/extra", "kind": "added", "new": null }
            ])
        );
        assert_eq!(
            (
                out["added"].as_u64(),
                out["removed"].as_u64(),
                out["changed"].as_u64()
            ),
            (Some(1), Some(2), Some(2))
        );
        assert_eq!(out["identical"], false);
    }

    #[test]
    fn json_patch_turns_old_into_new() {
        let old = json!({ "a": [1, 2, 3], "b": { "c": 1 } });
        let new = json!({ "a": [1], "b": { "c": 2, "d": [] } });
        let out = json_diff(&old, &new);
        let patch: json_patch::Patch = serde_json::from_value(out["patch"].clone()).unwrap();
        let mut doc = old.clone();
        json_patch::patch(&mut doc, &patch).unwrap();
        assert_eq!(doc, new);
    }

    #[test]
    fn scalar_roots_and_identical_values() {
        let out = json_diff(&json!(1), &json!("1"));
        assert_eq!(
            out["changes"],
            json!([{ "path": "", "kind": "changed", "old": 1, "new": "1" }])
        );
        assert_eq!(
            json_diff(&json!({"a": [1]}), &json!({"a": [1]}))["identical"],
            true
        );
    }
}
