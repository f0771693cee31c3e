//! `text_manipulator`: case changes, splitting, replacing and measuring text.

use async_trait::async_trait;
use heck::{ToKebabCase, ToLowerCamelCase, ToSnakeCase, ToTitleCase, ToUpperCamelCase};
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use regex::RegexBuilder;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Compiled size limit for user-supplied patterns (bytes of program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Transforms and measures text. Every operation takes `text` (except
/// `join`, which takes `parts`) and returns `{ result }`.
///
/// Operations: `uppercase`, `lowercase`, `reverse` (by character), `trim`
/// (whitespace, or the characters in `chars`), `replace` (`pattern` →
/// `replacement`, literal or `regex: true`, all or the first `count`),
/// `split` (on `delimiter`, or whitespace when absent, at most `limit`
/// parts), `join` (`parts` with `separator`), `word_count`, `char_count`
/// (also reports `bytes` and `lines`), `substring` (character indices
/// `start`..`end`), `snake_case`, `camel_case`, `pascal_case`, `kebab_case`,
/// `title_case`, `truncate` (to `length` characters including `suffix`,
/// default `"..."`) and `lines`.
#[derive(Debug, Clone)]
pub struct TextManipulator {
    metadata: ComponentMetadata,
}

impl TextManipulator {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "text_manipulator",
                "Changes case, splits, joins, replaces, truncates and counts text",
            ),
        }
    }
}

impl Default for TextManipulator {
    fn default() -> Self {
        Self::new()
    }
}

/// The text every single-input operation works on.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Text {
    /// The input text.
    text: String,
}

/// The operations of `text_manipulator`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Upper-cases `text`; output `{ result }`.
    Uppercase(Text),
    /// Lower-cases `text`; output `{ result }`.
    Lowercase(Text),
    /// Reverses `text` character by character; output `{ result }`.
    Reverse(Text),
    /// Strips whitespace, or the characters of `chars`, from both ends of
    /// `text`; output `{ result }`.
    Trim {
        /// The input text.
        text: String,
        /// Characters to strip instead of whitespace (default: whitespace).
        chars: Option<String>,
    },
    /// Replaces `pattern` with `replacement` in `text`; output
    /// `{ result, replacements }`.
    Replace {
        /// The input text.
        text: String,
        /// What to look for: literal text, or a regular expression when
        /// `regex` is true. Must not be empty.
        pattern: String,
        /// What to put instead (default empty); with `regex`, `$1` refers to
        /// the first group.
        #[serde(default)]
        replacement: String,
        /// Treat `pattern` as a regular expression (default false).
        #[serde(default)]
        regex: bool,
        /// Replace at most this many matches, from the start (default, or 0:
        /// all).
        count: Option<usize>,
    },
    /// Splits `text` into parts; output `{ result }`, an array of strings.
    Split {
        /// The input text.
        text: String,
        /// The separator (default: runs of whitespace). Must not be empty.
        delimiter: Option<String>,
        /// At most this many parts; the last keeps the rest of the text
        /// (default: no limit).
        #[schemars(range(min = 1))]
        limit: Option<usize>,
    },
    /// Joins `parts` with `separator`; output `{ result }`.
    Join {
        /// The strings to join.
        parts: Vec<String>,
        /// Put between the parts (default empty).
        #[serde(default)]
        separator: String,
    },
    /// Counts the words of `text` (runs of non-whitespace); output
    /// `{ result }`.
    WordCount(Text),
    /// Counts the characters of `text`; output `{ result, bytes, lines }`
    /// with its UTF-8 length and line count.
    CharCount(Text),
    /// The characters of `text` from `start` up to `end`; output
    /// `{ result }`.
    Substring {
        /// The input text.
        text: String,
        /// Index of the first character to keep, counting characters from 0.
        start: usize,
        /// Index after the last character to keep (default: the end of the
        /// text).
        end: Option<usize>,
    },
    /// `text` in snake_case; output `{ result }`.
    SnakeCase(Text),
    /// `text` in camelCase; output `{ result }`.
    CamelCase(Text),
    /// `text` in PascalCase; output `{ result }`.
    PascalCase(Text),
    /// `text` in kebab-case; output `{ result }`.
    KebabCase(Text),
    /// `text` in Title Case; output `{ result }`.
    TitleCase(Text),
    /// Shortens `text` to `length` characters, ending with `suffix` when
    /// cut; output `{ result, truncated }`.
    Truncate {
        /// The input text.
        text: String,
        /// The longest result in characters, the suffix included.
        length: usize,
        /// Appended when the text is cut (default `"..."`).
        suffix: Option<String>,
    },
    /// Splits `text` into lines (`\n` or `\r\n`); output `{ result }`, an
    /// array of strings.
    Lines(Text),
}

/// How `text_manipulator` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn run(op: Operation) -> Result<Value> {
    Ok(match op {
        Operation::Uppercase(Text { text }) => json!({ "result": text.to_uppercase() }),
        Operation::Lowercase(Text { text }) => json!({ "result": text.to_lowercase() }),
        Operation::Reverse(Text { text }) => {
            json!({ "result": text.chars().rev().collect::<String>() })
        }
        Operation::Trim { text, chars } => {
            let trimmed = match chars {
                Some(set) => text.trim_matches(|c| set.contains(c)),
                None => text.trim(),
            };
            json!({ "result": trimmed })
        }
        Operation::Replace {
            text,
            pattern,
            replacement,
            regex,
            count,
        } => {
            if pattern.is_empty() {
                return Err(Error::invalid_input(
                    "pattern",
                    "expected a non-empty string",
                ));
            }
            let limit = count.unwrap_or(0);
            let (result, replaced) = if regex {
                let re = RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| Error::invalid_input("pattern", format!("invalid regex: {e}")))?;
                let found = re.find_iter(&text).count();
                let replaced = if limit == 0 { found } else { found.min(limit) };
                (
                    re.replacen(&text, limit, replacement.as_str()).into_owned(),
                    replaced,
                )
            } else {
                let found = text.matches(pattern.as_str()).count();
                let replaced = if limit == 0 { found } else { found.min(limit) };
                let result = if limit == 0 {
                    text.replace(&pattern, &replacement)
                } else {
                    text.replacen(&pattern, &replacement, limit)
                };
                (result, replaced)
            };
            json!({ "result": result, "replacements": replaced })
        }
        Operation::Split {
            text,
            delimiter,
            limit,
        } => {
            let parts: Vec<&str> = match (delimiter.as_deref(), limit) {
                (None, None) => text.split_whitespace().collect(),
                (None, Some(n)) => split_whitespace_n(&text, n),
                (Some(""), _) => {
                    return Err(Error::invalid_input(
                        "delimiter",
                        "expected a non-empty string (omit it to split on whitespace)",
                    ));
                }
                (Some(d), None) => text.split(d).collect(),
                (Some(d), Some(n)) => text.splitn(n.max(1), d).collect(),
            };
            json!({ "result": parts })
        }
        Operation::Join { parts, separator } => json!({ "result": parts.join(&separator) }),
        Operation::WordCount(Text { text }) => json!({ "result": text.split_whitespace().count() }),
        Operation::CharCount(Text { text }) => json!({
            "result": text.chars().count(),
            "bytes": text.len(),
            "lines": text.lines().count(),
        }),
        Operation::Substring { text, start, end } => {
            let len = text.chars().count();
            let end = end.unwrap_or(len);
            if start > end || end > len {
                return Err(Error::invalid_input(
                    if start > end { "start" } else { "end" },
                    format!(
                        "expected 0 <= start <= end <= {len} (the text's length in characters), \
                         got start {start}, end {end}"
                    ),
                ));
            }
            let result: String = text.chars().skip(start).take(end - start).collect();
            json!({ "result": result })
        }
        Operation::SnakeCase(Text { text }) => json!({ "result": text.to_snake_case() }),
        Operation::CamelCase(Text { text }) => json!({ "result": text.to_lower_camel_case() }),
        Operation::PascalCase(Text { text }) => json!({ "result": text.to_upper_camel_case() }),
        Operation::KebabCase(Text { text }) => json!({ "result": text.to_kebab_case() }),
        Operation::TitleCase(Text { text }) => json!({ "result": text.to_title_case() }),
        Operation::Truncate {
            text,
            length,
            suffix,
        } => {
            let suffix = suffix.unwrap_or_else(|| "...".to_owned());
            let count = text.chars().count();
            if count <= length {
                json!({ "result": text, "truncated": false })
            } else {
                let keep = length.saturating_sub(suffix.chars().count());
                let mut result: String = text.chars().take(keep).collect();
                result.push_str(&suffix);
                let result: String = result.chars().take(length).collect();
                json!({ "result": result, "truncated": true })
            }
        }
        Operation::Lines(Text { text }) => json!({ "result": text.lines().collect::<Vec<_>>() }),
    })
}

/// Splits on runs of whitespace into at most `n` parts; the last part keeps
/// the rest of the text (leading whitespace trimmed).
fn split_whitespace_n(text: &str, n: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if parts.len() + 1 >= n.max(1) {
            parts.push(rest.trim_end());
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = rest[i..].trim_start();
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    parts
}

#[async_trait]
impl Tool for TextManipulator {
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
                "operation": "replace", "text": "2024-01-31",
                "pattern": "(\\d+)-(\\d+)-(\\d+)", "replacement": "$3/$2/$1", "regex": true
            }),
            json!({ "operation": "snake_case", "text": "Hello World" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "result": {
                    "description": "A string, an array of strings (split, lines) or a count",
                    "type": ["string", "array", "integer"]
                },
                "replacements": { "type": "integer", "description": "replace: how many were made" },
                "truncated": { "type": "boolean", "description": "truncate: whether text was cut" },
                "bytes": { "type": "integer", "description": "char_count: UTF-8 length" },
                "lines": { "type": "integer", "description": "char_count: number of lines" }
            },
            "required": ["result"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(params: Value) -> Result<Value> {
        run(PARAMS.read(params)?)
    }

    fn result(params: Value) -> Value {
        exec(params).unwrap()["result"].clone()
    }

    #[test]
    fn case_operations() {
        assert_eq!(
            result(json!({"operation": "uppercase", "text": "héllo"})),
            "HÉLLO"
        );
        assert_eq!(
            result(json!({"operation": "lowercase", "text": "ABC"})),
            "abc"
        );
        assert_eq!(
            result(json!({"operation": "snake_case", "text": "HelloWorld Again"})),
            "hello_world_again"
        );
        assert_eq!(
            result(json!({"operation": "camel_case", "text": "hello_world"})),
            "helloWorld"
        );
        assert_eq!(
            result(json!({"operation": "pascal_case", "text": "hello world"})),
            "HelloWorld"
        );
        assert_eq!(
            result(json!({"operation": "kebab_case", "text": "Hello World"})),
            "hello-world"
        );
        assert_eq!(
            result(json!({"operation": "title_case", "text": "hello_world"})),
            "Hello World"
        );
    }

    #[test]
    fn reverse_and_trim_work_on_characters() {
        assert_eq!(
            result(json!({"operation": "reverse", "text": "añb"})),
            "bña"
        );
        assert_eq!(
            result(json!({"operation": "trim", "text": "  x y \n"})),
            "x y"
        );
        assert_eq!(
            result(json!({"operation": "trim", "text": "--x--", "chars": "-"})),
            "x"
        );
    }

    #[test]
    fn replace_literal_and_regex() {
        let out = exec(
            json!({"operation": "replace", "text": "a.b.c", "pattern": ".", "replacement": "-"}),
        )
        .unwrap();
        assert_eq!(out, json!({"result": "a-b-c", "replacements": 2}));
        let out = exec(json!({"operation": "replace", "text": "a.b.c", "pattern": ".", "replacement": "-", "count": 1})).unwrap();
        assert_eq!(out, json!({"result": "a-b.c", "replacements": 1}));
        let out = exec(json!({"operation": "replace", "text": "2024-01-31", "pattern": r"(\d+)-(\d+)-(\d+)", "replacement": "$3/$2/$1", "regex": true})).unwrap();
        assert_eq!(out["result"], "31/01/2024");
        let err = exec(json!({"operation": "replace", "text": "x", "pattern": "(", "regex": true}))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { ref field, .. } if field == "pattern"),
            "{err}"
        );
    }

    #[test]
    fn split_and_join() {
        assert_eq!(
            result(json!({"operation": "split", "text": " a  b c "})),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            result(json!({"operation": "split", "text": "a,b,,c", "delimiter": ","})),
            json!(["a", "b", "", "c"])
        );
        assert_eq!(
            result(json!({"operation": "split", "text": "a,b,c", "delimiter": ",", "limit": 2})),
            json!(["a", "b,c"])
        );
        assert_eq!(
            result(json!({"operation": "split", "text": "a b  c d", "limit": 2})),
            json!(["a", "b  c d"])
        );
        assert_eq!(
            result(json!({"operation": "join", "parts": ["x", "y"], "separator": ", "})),
            "x, y"
        );
    }

    #[test]
    fn counts() {
        assert_eq!(
            result(json!({"operation": "word_count", "text": "one two\tthree\nfour"})),
            4
        );
        let out = exec(json!({"operation": "char_count", "text": "añ\nb"})).unwrap();
        assert_eq!(out, json!({"result": 4, "bytes": 5, "lines": 2}));
        assert_eq!(
            result(json!({"operation": "lines", "text": "a\r\nb\n"})),
            json!(["a", "b"])
        );
    }

    #[test]
    fn substring_uses_character_indices_and_checks_bounds() {
        assert_eq!(
            result(json!({"operation": "substring", "text": "héllo", "start": 1, "end": 3})),
            "él"
        );
        assert_eq!(
            result(json!({"operation": "substring", "text": "héllo", "start": 2})),
            "llo"
        );
        let err = exec(json!({"operation": "substring", "text": "abc", "start": 1, "end": 9}))
            .unwrap_err();
        assert!(
            err.to_string().contains("`end`") && err.to_string().contains("<= 3"),
            "{err}"
        );
    }

    #[test]
    fn truncate_includes_the_suffix_in_the_length() {
        let out =
            exec(json!({"operation": "truncate", "text": "hello world", "length": 8})).unwrap();
        assert_eq!(out, json!({"result": "hello...", "truncated": true}));
        let out = exec(json!({"operation": "truncate", "text": "hi", "length": 8})).unwrap();
        assert_eq!(out, json!({"result": "hi", "truncated": false}));
        let out =
            exec(json!({"operation": "truncate", "text": "abcdef", "length": 2, "suffix": "…"}))
                .unwrap();
        assert_eq!(out["result"], "a…");
    }

    #[test]
    fn bad_input_names_the_field() {
        let err = exec(json!({"operation": "uppercase", "text": 5})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input for `text`: expected a string, got number"
        );
        let err = exec(json!({"operation": "shout", "text": "x"})).unwrap_err();
        assert!(
            err.to_string().contains("unknown operation \"shout\""),
            "{err}"
        );
        assert!(err.to_string().contains("snake_case"), "{err}");
    }
}
