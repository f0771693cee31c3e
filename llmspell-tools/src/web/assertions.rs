//! The checks `api_tester` makes of a response.

use llmspell_core::{Error, Result};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use serde_json_path::JsonPath;

/// One check of a response, selected by `type`.
#[derive(Deserialize, JsonSchema, Debug, Clone)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Assertion {
    /// The status equals `equals`, or lies in `min`..=`max`.
    Status {
        /// The exact status.
        equals: Option<u16>,
        /// The lowest status allowed.
        min: Option<u16>,
        /// The highest status allowed.
        max: Option<u16>,
    },
    /// A value in the JSON body: `path` is a JSONPath (RFC 9535, starting
    /// with `$`: `$.items[0].id`, `$..name`, `$.items[?@.price < 10]`) or a
    /// JSON Pointer (RFC 6901, starting with `/`: `/items/0/id`). Checks
    /// that it `equals` a JSON value, `matches` a regular expression (a
    /// string, or a number or boolean as JSON writes it), or `exists`.
    JsonPath {
        /// The JSONPath (`$...`) or JSON Pointer (`/...`).
        path: String,
        /// The JSON value expected (`null` included). A JSONPath that
        /// selects several values is compared as the array of them.
        #[serde(default, deserialize_with = "present")]
        #[schemars(with = "Option<Value>")]
        equals: Option<Value>,
        /// A regular expression (Rust `regex` syntax, unanchored) the value
        /// must match.
        matches: Option<String>,
        /// Whether the path must select something (`true`) or nothing
        /// (`false`).
        exists: Option<bool>,
    },
    /// A response header (name case-insensitive) `equals` a value,
    /// `contains` text, or `exists`.
    Header {
        /// The header name.
        name: String,
        /// The exact value.
        equals: Option<String>,
        /// Text the value contains.
        contains: Option<String>,
        /// Whether the header must be present.
        exists: Option<bool>,
    },
    /// The response, body included, arrived within `max_ms`
    /// milliseconds.
    Latency {
        /// The longest time allowed, in milliseconds.
        max_ms: u64,
    },
    /// The body, as text, contains `text`.
    BodyContains {
        /// The text.
        text: String,
    },
}

/// Reads a present field as `Some`, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// An assertion ready to run: its regex or JSONPath compiled.
#[derive(Debug)]
pub(crate) struct Prepared {
    assertion: Assertion,
    path: Option<Selector>,
    regex: Option<Regex>,
}

#[derive(Debug)]
enum Selector {
    Path(JsonPath),
    Pointer(String),
}

/// What a response looked like, for the checks.
#[derive(Debug)]
pub(crate) struct Observed<'a> {
    pub(crate) status: u16,
    pub(crate) headers: &'a reqwest::header::HeaderMap,
    pub(crate) latency_ms: f64,
    pub(crate) text: &'a str,
    /// The body as JSON, or why it is not.
    pub(crate) json: std::result::Result<&'a Value, &'a str>,
}

impl Prepared {
    /// Checks and compiles `assertion`, the `index`-th.
    pub(crate) fn new(assertion: Assertion, index: usize) -> Result<Self> {
        let field = |name: &str| format!("assertions[{index}].{name}");
        let mut path = None;
        let mut regex = None;
        match &assertion {
            Assertion::Status { equals, min, max } => {
                if equals.is_none() && min.is_none() && max.is_none() {
                    return Err(Error::invalid_input(
                        field("equals"),
                        "a status assertion needs `equals`, or `min` and/or `max`",
                    ));
                }
                if equals.is_some() && (min.is_some() || max.is_some()) {
                    return Err(Error::invalid_input(
                        field("equals"),
                        "give `equals` or a range (`min`, `max`), not both",
                    ));
                }
            }
            Assertion::JsonPath {
                path: p,
                equals,
                matches,
                exists,
            } => {
                path = Some(if p.starts_with('$') {
                    Selector::Path(JsonPath::parse(p).map_err(|e| {
                        Error::invalid_input(field("path"), format!("not a valid JSONPath: {e}"))
                    })?)
                } else if p.is_empty() || p.starts_with('/') {
                    Selector::Pointer(p.clone())
                } else {
                    return Err(Error::invalid_input(
                        field("path"),
                        format!(
                            "`{p}` is neither a JSONPath (starting with `$`) nor a JSON Pointer \
                             (starting with `/`)"
                        ),
                    ));
                });
                let checks = [equals.is_some(), matches.is_some(), exists.is_some()];
                if checks.iter().filter(|c| **c).count() != 1 {
                    return Err(Error::invalid_input(
                        field("equals"),
                        "a json_path assertion needs exactly one of `equals`, `matches`, `exists`",
                    ));
                }
                if let Some(m) = matches {
                    regex = Some(compile(m, &field("matches"))?);
                }
            }
            Assertion::Header {
                equals,
                contains,
                exists,
                ..
            } => {
                let checks = [equals.is_some(), contains.is_some(), exists.is_some()];
                if checks.iter().filter(|c| **c).count() != 1 {
                    return Err(Error::invalid_input(
                        field("equals"),
                        "a header assertion needs exactly one of `equals`, `contains`, `exists`",
                    ));
                }
            }
            Assertion::Latency { .. } | Assertion::BodyContains { .. } => {}
        }
        Ok(Self {
            assertion,
            path,
            regex,
        })
    }

    /// The report entry for this assertion when no response came.
    pub(crate) fn unanswered(&self, index: usize, why: &str) -> Value {
        let (kind, expected) = self.describe();
        json!({
            "index": index, "type": kind, "passed": false, "expected": expected,
            "actual": null, "message": format!("no response: {why}")
        })
    }

    fn describe(&self) -> (&'static str, Value) {
        match &self.assertion {
            Assertion::Status { equals, min, max } => (
                "status",
                match equals {
                    Some(e) => json!(e),
                    None => json!({ "min": min, "max": max }),
                },
            ),
            Assertion::JsonPath {
                path,
                equals,
                matches,
                exists,
            } => (
                "json_path",
                match (equals, matches, exists) {
                    (Some(v), _, _) => json!({ "path": path, "equals": v }),
                    (_, Some(m), _) => json!({ "path": path, "matches": m }),
                    (_, _, e) => json!({ "path": path, "exists": e }),
                },
            ),
            Assertion::Header {
                name,
                equals,
                contains,
                exists,
            } => (
                "header",
                match (equals, contains, exists) {
                    (Some(v), _, _) => json!({ "name": name, "equals": v }),
                    (_, Some(c), _) => json!({ "name": name, "contains": c }),
                    (_, _, e) => json!({ "name": name, "exists": e }),
                },
            ),
            Assertion::Latency { max_ms } => ("latency", json!({ "max_ms": max_ms })),
            Assertion::BodyContains { text } => ("body_contains", json!({ "text": text })),
        }
    }

    /// Runs the check; the report entry `{ index, type, passed, expected,
    /// actual, message? }`.
    pub(crate) fn check(&self, index: usize, seen: &Observed<'_>) -> Value {
        let (kind, expected) = self.describe();
        let (passed, actual, message): (bool, Value, Option<String>) = match &self.assertion {
            Assertion::Status { equals, min, max } => {
                let s = seen.status;
                let ok = match equals {
                    Some(e) => s == *e,
                    None => min.is_none_or(|m| s >= m) && max.is_none_or(|m| s <= m),
                };
                (ok, json!(s), None)
            }
            Assertion::JsonPath {
                equals,
                matches,
                exists,
                ..
            } => match seen.json {
                Err(why) => (
                    false,
                    Value::Null,
                    Some(format!("the body is not JSON: {why}")),
                ),
                Ok(body) => {
                    let found = self.select(body);
                    match (equals, exists) {
                        (Some(want), _) => {
                            let ok = found.as_ref() == Some(want);
                            let msg = found
                                .is_none()
                                .then(|| "the path selects nothing".to_owned());
                            (ok, found.unwrap_or(Value::Null), msg)
                        }
                        (_, Some(want)) => (found.is_some() == *want, json!(found.is_some()), None),
                        _ => {
                            let re = self.regex.as_ref();
                            match found {
                                None => (
                                    false,
                                    Value::Null,
                                    Some("the path selects nothing".to_owned()),
                                ),
                                Some(v) => {
                                    let text = match &v {
                                        Value::String(s) => Some(s.clone()),
                                        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
                                        _ => None,
                                    };
                                    match (text, re, matches) {
                                        (Some(t), Some(re), _) => (re.is_match(&t), v, None),
                                        _ => (
                                            false,
                                            v,
                                            Some(
                                                "only a string, number or boolean can match"
                                                    .to_owned(),
                                            ),
                                        ),
                                    }
                                }
                            }
                        }
                    }
                }
            },
            Assertion::Header {
                name,
                equals,
                contains,
                exists,
            } => {
                let values: Vec<String> = seen
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                let value = (!values.is_empty()).then(|| values.join(", "));
                let ok = match (equals, contains, exists) {
                    (Some(e), _, _) => value.as_deref() == Some(e.as_str()),
                    (_, Some(c), _) => value.as_deref().is_some_and(|v| v.contains(c.as_str())),
                    (_, _, Some(e)) => value.is_some() == *e,
                    _ => false,
                };
                (ok, json!(value), None)
            }
            Assertion::Latency { max_ms } => (
                seen.latency_ms <= *max_ms as f64,
                json!(seen.latency_ms),
                None,
            ),
            Assertion::BodyContains { text } => (
                seen.text.contains(text.as_str()),
                json!(excerpt(seen.text, 200)),
                None,
            ),
        };
        let mut entry = json!({
            "index": index, "type": kind, "passed": passed, "expected": expected, "actual": actual
        });
        if let Some(m) = message {
            entry["message"] = json!(m);
        }
        entry
    }

    /// What the path selects: one value, the array of several, or `None`.
    fn select(&self, body: &Value) -> Option<Value> {
        match self.path.as_ref()? {
            Selector::Pointer(p) => body.pointer(p).cloned(),
            Selector::Path(path) => {
                let nodes = path.query(body).all();
                match nodes.len() {
                    0 => None,
                    1 => nodes.first().map(|v| (*v).clone()),
                    _ => Some(Value::Array(nodes.into_iter().cloned().collect())),
                }
            }
        }
    }
}

fn compile(pattern: &str, field: &str) -> Result<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| Error::invalid_input(field, format!("not a valid regular expression: {e}")))
}

/// The first `n` characters of `s`, with `…` when cut.
pub(crate) fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(a: Value, status: u16, body: &Value) -> Value {
        let a: Assertion = serde_json::from_value(a).unwrap();
        let headers = reqwest::header::HeaderMap::new();
        let text = body.to_string();
        Prepared::new(a, 0).unwrap().check(
            0,
            &Observed {
                status,
                headers: &headers,
                latency_ms: 5.0,
                text: &text,
                json: Ok(body),
            },
        )
    }

    #[test]
    fn json_paths_and_pointers() {
        let body = json!({ "items": [{ "id": 1, "name": "a" }, { "id": 2, "name": "b" }] });
        let r = run(
            json!({ "type": "json_path", "path": "$.items[0].id", "equals": 1 }),
            200,
            &body,
        );
        assert_eq!(
            (r["passed"].clone(), r["actual"].clone()),
            (json!(true), json!(1))
        );
        let r = run(
            json!({ "type": "json_path", "path": "/items/1/name", "matches": "^b$" }),
            200,
            &body,
        );
        assert_eq!(r["passed"], true, "{r}");
        let r = run(
            json!({ "type": "json_path", "path": "$..name", "equals": ["a", "b"] }),
            200,
            &body,
        );
        assert_eq!(r["passed"], true, "{r}");
        let r = run(
            json!({ "type": "json_path", "path": "$.items[?@.id > 1].name", "equals": "b" }),
            200,
            &body,
        );
        assert_eq!(r["passed"], true, "{r}");
        let r = run(
            json!({ "type": "json_path", "path": "$.missing", "exists": false }),
            200,
            &body,
        );
        assert_eq!(r["passed"], true, "{r}");
        let r = run(
            json!({ "type": "json_path", "path": "$.items[0].id", "equals": 2 }),
            200,
            &body,
        );
        assert_eq!(
            (r["passed"].clone(), r["actual"].clone()),
            (json!(false), json!(1))
        );
        let r = run(
            json!({ "type": "json_path", "path": "$.none", "equals": null }),
            200,
            &json!({ "none": null }),
        );
        assert_eq!(r["passed"], true, "{r}");
    }

    #[test]
    fn bad_assertions_name_their_field() {
        for (a, field) in [
            (
                json!({ "type": "json_path", "path": "$[", "exists": true }),
                "assertions[3].path",
            ),
            (
                json!({ "type": "json_path", "path": "items", "exists": true }),
                "assertions[3].path",
            ),
            (
                json!({ "type": "json_path", "path": "$.a", "matches": "(" }),
                "assertions[3].matches",
            ),
            (
                json!({ "type": "json_path", "path": "$.a" }),
                "assertions[3].equals",
            ),
            (json!({ "type": "status" }), "assertions[3].equals"),
        ] {
            let a: Assertion = serde_json::from_value(a).unwrap();
            match Prepared::new(a, 3).unwrap_err() {
                Error::InvalidInput { field: f, .. } => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
