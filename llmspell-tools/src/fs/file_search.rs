//! `file_search`: finds files by glob and lines by content under the
//! sandbox roots.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use async_trait::async_trait;
use globset::{GlobBuilder, GlobMatcher};
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use regex::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Default most results returned.
const DEFAULT_MAX_RESULTS: usize = 100;
/// Default largest file whose content is searched, in bytes.
const DEFAULT_MAX_SEARCH_BYTES: u64 = 2 * 1024 * 1024;
/// Most files visited in one search.
const MAX_FILES_VISITED: usize = 100_000;
/// Longest line text returned (characters).
const MAX_LINE_CHARS: usize = 500;

/// Finds files by glob pattern and, optionally, lines by content, under a
/// directory inside the [`FsSandbox`] roots.
///
/// Parameters `{ path?, pattern?, content?, regex?, case_sensitive?,
/// include_hidden?, max_results? }`:
///
/// - `path`: the directory to search (default: the first root);
/// - `pattern`: a glob matched against paths relative to `path`
///   (`**/*.rs`, `src/*.{json,toml}`; default: every file);
/// - `content`: text to look for in the files (literal unless `regex` is
///   `true`; case-sensitive unless `case_sensitive` is `false`).
///
/// Output `{ files, matches, truncated, files_scanned }`: `files` lists the
/// matching files (relative to their root); `matches` (when `content` is
/// given) lists `{ path, line, column, text }` with 1-based line and column.
/// Symlinks are not followed, binary files and files over 2 MiB are not
/// searched for content, and results stop at `max_results`.
#[derive(Debug, Clone)]
pub struct FileSearch {
    metadata: ComponentMetadata,
    sandbox: FsSandbox,
    max_search_bytes: u64,
}

impl FileSearch {
    /// Creates the tool confined to `sandbox`.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "file_search",
                "Finds files by glob and lines by text or regex within the allowed roots",
            ),
            sandbox,
            max_search_bytes: DEFAULT_MAX_SEARCH_BYTES,
        }
    }

    /// Sets the largest file whose content is searched, in bytes.
    #[must_use]
    pub fn with_max_search_bytes(mut self, bytes: u64) -> Self {
        self.max_search_bytes = bytes;
        self
    }
}

/// The parameters of `file_search`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The directory to search (default: the first root).
    #[serde(default = "dot")]
    path: String,
    /// A glob of the files to consider, relative to `path`, e.g. `**/*.md`
    /// (default: every file).
    pattern: Option<String>,
    /// Text to find inside the files, literal unless `regex` is true
    /// (default: list matching files without reading them).
    content: Option<String>,
    /// Treat `content` as a regular expression (default false).
    #[serde(default)]
    regex: bool,
    /// Whether case matters when matching `content` (default true).
    #[serde(default = "yes")]
    case_sensitive: bool,
    /// Search files and directories whose names start with `.` (default
    /// false).
    #[serde(default)]
    include_hidden: bool,
    /// The most results: files when only `pattern` is given, matching lines
    /// with `content` (default 100).
    #[serde(default = "default_max_results")]
    #[schemars(range(min = 1))]
    max_results: usize,
}

/// How `file_search` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn dot() -> String {
    ".".to_owned()
}
fn yes() -> bool {
    true
}
fn default_max_results() -> usize {
    DEFAULT_MAX_RESULTS
}

fn glob(pattern: &str) -> Result<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::invalid_input("pattern", format!("invalid glob: {e}")))
}

fn content_regex(p: &Params) -> Result<Option<Regex>> {
    let Some(content) = &p.content else {
        return Ok(None);
    };
    if content.is_empty() {
        return Err(Error::invalid_input(
            "content",
            "expected a non-empty string",
        ));
    }
    let source = if p.regex {
        content.clone()
    } else {
        regex::escape(content)
    };
    RegexBuilder::new(&source)
        .case_insensitive(!p.case_sensitive)
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|e| Error::invalid_input("content", format!("invalid regex: {e}")))
}

fn looks_binary(path: &Path) -> bool {
    let mut head = [0u8; 8192];
    match fs::File::open(path).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => head[..n].contains(&0),
        Err(_) => true,
    }
}

fn clip(line: &str) -> String {
    if line.chars().count() > MAX_LINE_CHARS {
        let mut s: String = line.chars().take(MAX_LINE_CHARS).collect();
        s.push('…');
        s
    } else {
        line.to_owned()
    }
}

impl FileSearch {
    fn run(&self, p: &Params) -> Result<Value> {
        let base = self.sandbox.resolve_existing(&p.path)?;
        if !base.is_dir() {
            return Err(Error::invalid_input(
                "path",
                format!("`{}` is not a directory", p.path),
            ));
        }
        let matcher = p.pattern.as_deref().map(glob).transpose()?;
        let needle = content_regex(p)?;
        let max = p.max_results.max(1);

        let mut files = Vec::new();
        let mut matches = Vec::new();
        let mut truncated = false;
        let mut scanned = 0usize;
        let hidden = |e: &walkdir::DirEntry| {
            e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.')
        };
        let walker = walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| p.include_hidden || !hidden(e));
        'walk: for entry in walker {
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_file() {
                continue;
            }
            scanned += 1;
            if scanned > MAX_FILES_VISITED {
                truncated = true;
                break;
            }
            let rel = entry.path().strip_prefix(&base).unwrap_or(entry.path());
            if let Some(m) = &matcher
                && !m.is_match(rel)
            {
                continue;
            }
            let shown = self.sandbox.display_relative(entry.path());
            let Some(re) = &needle else {
                if files.len() == max {
                    truncated = true;
                    break;
                }
                files.push(Value::String(shown));
                continue;
            };
            let too_big = entry
                .metadata()
                .map(|m| m.len() > self.max_search_bytes)
                .unwrap_or(true);
            if too_big || looks_binary(entry.path()) {
                continue;
            }
            let Ok(file) = fs::File::open(entry.path()) else {
                continue;
            };
            let mut found_here = false;
            for (i, line) in BufReader::new(file).lines().enumerate() {
                let Ok(line) = line else { break };
                if let Some(m) = re.find(&line) {
                    if matches.len() == max {
                        truncated = true;
                        break 'walk;
                    }
                    if !found_here {
                        files.push(Value::String(shown.clone()));
                        found_here = true;
                    }
                    matches.push(json!({
                        "path": shown,
                        "line": i + 1,
                        "column": line[..m.start()].chars().count() + 1,
                        "text": clip(&line),
                    }));
                }
            }
        }
        Ok(json!({
            "files": files,
            "matches": matches,
            "truncated": truncated,
            "files_scanned": scanned.min(MAX_FILES_VISITED),
        }))
    }
}

#[async_trait]
impl Tool for FileSearch {
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
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "pattern": "**/*.txt", "content": "ada", "case_sensitive": false }),
            json!({ "pattern": "**/*.txt", "content": "milk" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "files": { "type": "array", "items": { "type": "string" } },
                "matches": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": { "type": "string" },
                            "line": { "type": "integer" },
                            "column": { "type": "integer" },
                            "text": { "type": "string" }
                        }
                    }
                },
                "truncated": { "type": "boolean" },
                "files_scanned": { "type": "integer" }
            },
            "required": ["files", "matches", "truncated"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(&p))
            .await
            .map_err(|e| Error::execution("tool:file_search", format!("search task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("src/nested")).unwrap();
        fs::write(
            d.join("src/main.rs"),
            "fn main() {\n    println!(\"Hello\");\n}\n",
        )
        .unwrap();
        fs::write(
            d.join("src/nested/lib.rs"),
            "// hello there\npub fn x() {}\n",
        )
        .unwrap();
        fs::write(d.join("README.md"), "# Hello project\n").unwrap();
        fs::write(d.join("data.bin"), [0u8, 1, 2, b'H']).unwrap();
        fs::write(d.join(".secret"), "hello hidden\n").unwrap();
        dir
    }

    fn search(dir: &Path, params: Value) -> Result<Value> {
        let p = PARAMS.read(params)?;
        FileSearch::new(FsSandbox::new([dir])).run(&p)
    }

    #[test]
    fn glob_finds_files_relative_to_the_search_path() {
        let dir = fixture();
        let out = search(dir.path(), json!({ "pattern": "**/*.rs" })).unwrap();
        assert_eq!(out["files"], json!(["src/main.rs", "src/nested/lib.rs"]));
        let out = search(dir.path(), json!({ "path": "src", "pattern": "*.rs" })).unwrap();
        assert_eq!(out["files"], json!(["src/main.rs"]));
    }

    #[test]
    fn content_search_reports_line_and_column() {
        let dir = fixture();
        let out = search(
            dir.path(),
            json!({ "content": "hello", "case_sensitive": false }),
        )
        .unwrap();
        assert_eq!(
            out["matches"],
            json!([
                { "path": "README.md", "line": 1, "column": 3, "text": "# Hello project" },
                { "path": "src/main.rs", "line": 2, "column": 15, "text": "    println!(\"Hello\");" },
                { "path": "src/nested/lib.rs", "line": 1, "column": 4, "text": "// hello there" }
            ])
        );
        assert_eq!(
            out["files"],
            json!(["README.md", "src/main.rs", "src/nested/lib.rs"])
        );
    }

    #[test]
    fn regex_search_and_result_cap() {
        let dir = fixture();
        let out = search(
            dir.path(),
            json!({ "content": r"fn \w+\(", "regex": true, "pattern": "**/*.rs" }),
        )
        .unwrap();
        assert_eq!(out["matches"].as_array().unwrap().len(), 2);
        let out = search(dir.path(), json!({ "content": "e", "max_results": 1 })).unwrap();
        assert_eq!(out["matches"].as_array().unwrap().len(), 1);
        assert_eq!(out["truncated"], true);
    }

    #[test]
    fn hidden_files_are_opt_in() {
        let dir = fixture();
        let out = search(dir.path(), json!({ "content": "hidden" })).unwrap();
        assert_eq!(out["matches"], json!([]));
        let out = search(
            dir.path(),
            json!({ "content": "hidden", "include_hidden": true }),
        )
        .unwrap();
        assert_eq!(out["files"], json!([".secret"]));
    }

    #[test]
    fn bad_patterns_are_input_errors() {
        let dir = fixture();
        let err = search(dir.path(), json!({ "pattern": "[abc" })).unwrap_err();
        assert!(err.to_string().contains("`pattern`: invalid glob"), "{err}");
        let err = search(dir.path(), json!({ "content": "(", "regex": true })).unwrap_err();
        assert!(
            err.to_string().contains("`content`: invalid regex"),
            "{err}"
        );
    }
}
