//! What a hook decides.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::{Error, Result};

/// An extra operation a [`HookResult::Fork`] starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForkOperation {
    /// The component to run (same kind as the guarded one).
    pub target: String,
    /// Its input.
    #[serde(default)]
    pub input: Value,
}

/// A hook's decision. The guarded operation runner honours each action as
/// the table in `docs/user-guide/hooks-guide.md` says.
#[derive(Debug, Clone, PartialEq)]
pub enum HookResult {
    /// Go on.
    Continue,
    /// New input (Before), output (After) or error details (Error); later
    /// hooks see it.
    Modified(Value),
    /// Stop the operation; the caller gets `Cancelled { hook, reason }`.
    Cancel(String),
    /// Run the operation on another component of the same kind.
    Redirect(String),
    /// Skip the operation (Before) or replace its output (After) or turn its
    /// error into this output (Error).
    Replace(Value),
    /// Run the whole guarded sequence again after `delay`, up to
    /// `max_attempts` attempts in total.
    Retry {
        /// Wait before the next attempt.
        delay: Duration,
        /// Attempts in total, the first included.
        max_attempts: u32,
    },
    /// Start extra operations concurrently; their results are reported.
    Fork {
        /// The extra operations.
        operations: Vec<ForkOperation>,
    },
    /// Serve the output cached under `key`, or store the output there for `ttl`.
    Cache {
        /// The cache key.
        key: String,
        /// How long a stored output stays valid.
        ttl: Duration,
    },
    /// The hook chose not to act.
    Skipped(String),
}

/// The kind of a [`HookResult`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAction {
    /// [`HookResult::Continue`]
    Continue,
    /// [`HookResult::Modified`]
    Modified,
    /// [`HookResult::Cancel`]
    Cancel,
    /// [`HookResult::Redirect`]
    Redirect,
    /// [`HookResult::Replace`]
    Replace,
    /// [`HookResult::Retry`]
    Retry,
    /// [`HookResult::Fork`]
    Fork,
    /// [`HookResult::Cache`]
    Cache,
    /// [`HookResult::Skipped`]
    Skip,
}

impl HookAction {
    /// The script-facing name (`"modified"`, `"skip"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            HookAction::Continue => "continue",
            HookAction::Modified => "modified",
            HookAction::Cancel => "cancel",
            HookAction::Redirect => "redirect",
            HookAction::Replace => "replace",
            HookAction::Retry => "retry",
            HookAction::Fork => "fork",
            HookAction::Cache => "cache",
            HookAction::Skip => "skip",
        }
    }
}

impl fmt::Display for HookAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const VALID_SHAPES: &str = "valid results: nil/\"continue\", \"skip\", or a table with action = \
     \"continue\" | \"modified\" (data) | \"cancel\" (reason) | \"redirect\" (target) | \
     \"replace\" (value) | \"retry\" (delay_ms, max_attempts) | \"fork\" (operations = \
     {target, input}) | \"cache\" (key, ttl_ms) | \"skip\" (reason)";

/// The default `max_attempts` of a retry result that names none.
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// The default `ttl_ms` of a cache result that names none.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

impl HookResult {
    /// The kind of result.
    pub fn action(&self) -> HookAction {
        match self {
            HookResult::Continue => HookAction::Continue,
            HookResult::Modified(_) => HookAction::Modified,
            HookResult::Cancel(_) => HookAction::Cancel,
            HookResult::Redirect(_) => HookAction::Redirect,
            HookResult::Replace(_) => HookAction::Replace,
            HookResult::Retry { .. } => HookAction::Retry,
            HookResult::Fork { .. } => HookAction::Fork,
            HookResult::Cache { .. } => HookAction::Cache,
            HookResult::Skipped(_) => HookAction::Skip,
        }
    }

    /// Whether this result ends the chain of hooks at its point (Cancel,
    /// Redirect, Replace, Retry, Fork, Cache).
    pub fn is_decisive(&self) -> bool {
        !matches!(
            self,
            HookResult::Continue | HookResult::Modified(_) | HookResult::Skipped(_)
        )
    }

    /// The script-facing form: `{ "action": "cancel", "reason": "…" }` etc.
    /// (`Continue` is `{ "action": "continue" }`): the action plus
    /// [`script_fields`](HookResult::script_fields).
    pub fn to_script_value(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("action".into(), json!(self.action().as_str()));
        for (key, value) in self.script_fields() {
            out.insert(key.into(), value);
        }
        Value::Object(out)
    }

    /// The fields of the action in its script-facing form (`reason`,
    /// `data`, `target`, `value`, `delay_ms` and `max_attempts`,
    /// `operations`, `key` and `ttl_ms`); none for `Continue`.
    pub fn script_fields(&self) -> Vec<(&'static str, Value)> {
        match self {
            HookResult::Continue => Vec::new(),
            HookResult::Modified(data) => vec![("data", data.clone())],
            HookResult::Cancel(reason) | HookResult::Skipped(reason) => {
                vec![("reason", json!(reason))]
            }
            HookResult::Redirect(target) => vec![("target", json!(target))],
            HookResult::Replace(value) => vec![("value", value.clone())],
            HookResult::Retry {
                delay,
                max_attempts,
            } => vec![
                ("delay_ms", json!(delay.as_millis() as u64)),
                ("max_attempts", json!(max_attempts)),
            ],
            HookResult::Fork { operations } => vec![("operations", json!(operations))],
            HookResult::Cache { key, ttl } => vec![
                ("key", json!(key)),
                ("ttl_ms", json!(ttl.as_millis() as u64)),
            ],
        }
    }

    /// Parses the script-facing form strictly: `null`, `"continue"`,
    /// `"skip"`, or an object with an `action` (or `type`) and that action's
    /// fields. Anything else, an unknown action, a missing or mistyped field,
    /// or an unknown key is an [`Error::InvalidResult`] naming what was wrong
    /// and listing the valid shapes. Accepted aliases (for scripts written for
    /// the earlier rs-llmspell): `type` for `action`, `"skipped"` for
    /// `"skip"`, `data` for `replace`'s `value`.
    ///
    /// # Errors
    /// [`Error::InvalidResult`].
    pub fn from_script_value(value: &Value) -> Result<HookResult> {
        let invalid = |message: String| Error::InvalidResult {
            message: format!("{message}; {VALID_SHAPES}"),
        };
        let obj = match value {
            Value::Null => return Ok(HookResult::Continue),
            Value::String(s) => {
                return match s.as_str() {
                    "continue" => Ok(HookResult::Continue),
                    "skip" | "skipped" => Ok(HookResult::Skipped(String::new())),
                    other => Err(invalid(format!("unknown result string {other:?}"))),
                };
            }
            Value::Object(obj) => obj,
            other => return Err(invalid(format!("a hook returned {}", type_name(other)))),
        };
        let action = match (obj.get("action"), obj.get("type")) {
            (Some(Value::String(a)), _) | (None, Some(Value::String(a))) => a.as_str(),
            (Some(other), _) | (None, Some(other)) => {
                return Err(invalid(format!(
                    "`action` must be a string, got {}",
                    type_name(other)
                )));
            }
            (None, None) => return Err(invalid("the result table has no `action`".to_owned())),
        };
        let action_key = if obj.contains_key("action") {
            "action"
        } else {
            "type"
        };
        let check_keys = |allowed: &[&str]| -> Result<()> {
            for key in obj.keys() {
                if key != action_key && !allowed.contains(&key.as_str()) {
                    return Err(invalid(format!(
                        "unexpected field `{key}` in a {action:?} result (expected {})",
                        if allowed.is_empty() {
                            "no other fields".to_owned()
                        } else {
                            allowed.join(", ")
                        }
                    )));
                }
            }
            Ok(())
        };
        let text = |key: &str, required: bool| -> Result<String> {
            match obj.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                None | Some(Value::Null) if !required => Ok(String::new()),
                None => Err(invalid(format!(
                    "a {action:?} result needs `{key}` (a string)"
                ))),
                Some(other) => Err(invalid(format!(
                    "`{key}` of a {action:?} result must be a string, got {}",
                    type_name(other)
                ))),
            }
        };
        let millis = |key: &str, default: Option<Duration>| -> Result<Duration> {
            match obj.get(key) {
                None | Some(Value::Null) => default.ok_or_else(|| {
                    invalid(format!("a {action:?} result needs `{key}` (milliseconds)"))
                }),
                Some(v) => match v.as_f64() {
                    Some(ms) if ms.is_finite() && ms >= 0.0 => {
                        Ok(Duration::from_secs_f64(ms / 1000.0))
                    }
                    _ => Err(invalid(format!(
                        "`{key}` must be a non-negative number of milliseconds, got {v}"
                    ))),
                },
            }
        };
        match action {
            "continue" => {
                check_keys(&[])?;
                Ok(HookResult::Continue)
            }
            "modified" => {
                check_keys(&["data"])?;
                match obj.get("data") {
                    Some(data) => Ok(HookResult::Modified(data.clone())),
                    None => Err(invalid("a \"modified\" result needs `data`".to_owned())),
                }
            }
            "cancel" => {
                check_keys(&["reason"])?;
                let reason = text("reason", false)?;
                Ok(HookResult::Cancel(if reason.is_empty() {
                    "no reason given".to_owned()
                } else {
                    reason
                }))
            }
            "redirect" => {
                check_keys(&["target"])?;
                let target = text("target", true)?;
                if target.is_empty() {
                    return Err(invalid(
                        "`target` of a \"redirect\" result is empty".to_owned(),
                    ));
                }
                Ok(HookResult::Redirect(target))
            }
            "replace" => {
                check_keys(&["value", "data"])?;
                match obj.get("value").or_else(|| obj.get("data")) {
                    Some(v) => Ok(HookResult::Replace(v.clone())),
                    None => Err(invalid("a \"replace\" result needs `value`".to_owned())),
                }
            }
            "retry" => {
                check_keys(&["delay_ms", "max_attempts"])?;
                let delay = millis("delay_ms", Some(Duration::ZERO))?;
                let max_attempts = match obj.get("max_attempts") {
                    None | Some(Value::Null) => DEFAULT_RETRY_ATTEMPTS,
                    Some(v) => match v.as_u64() {
                        Some(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
                        _ => {
                            return Err(invalid(format!(
                                "`max_attempts` must be an integer of at least 1, got {v}"
                            )));
                        }
                    },
                };
                Ok(HookResult::Retry {
                    delay,
                    max_attempts,
                })
            }
            "fork" => {
                check_keys(&["operations"])?;
                let ops = match obj.get("operations") {
                    Some(Value::Array(ops)) => ops,
                    _ => {
                        return Err(invalid(
                            "a \"fork\" result needs `operations` (an array of {target, input})"
                                .to_owned(),
                        ));
                    }
                };
                let operations = ops
                    .iter()
                    .enumerate()
                    .map(|(i, op)| parse_fork(i, op).map_err(&invalid))
                    .collect::<Result<Vec<_>>>()?;
                Ok(HookResult::Fork { operations })
            }
            "cache" => {
                check_keys(&["key", "ttl_ms"])?;
                let key = text("key", true)?;
                if key.is_empty() {
                    return Err(invalid("`key` of a \"cache\" result is empty".to_owned()));
                }
                Ok(HookResult::Cache {
                    key,
                    ttl: millis("ttl_ms", Some(DEFAULT_CACHE_TTL))?,
                })
            }
            "skip" | "skipped" => {
                check_keys(&["reason"])?;
                Ok(HookResult::Skipped(text("reason", false)?))
            }
            other => Err(invalid(format!("unknown action {other:?}"))),
        }
    }
}

fn parse_fork(i: usize, op: &Value) -> std::result::Result<ForkOperation, String> {
    let Value::Object(map) = op else {
        return Err(format!(
            "fork operation {} must be a table {{target, input}}",
            i + 1
        ));
    };
    let target = match map.get("target") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            return Err(format!(
                "fork operation {} needs `target` (a component name)",
                i + 1
            ));
        }
    };
    if let Some(extra) = map.keys().find(|k| *k != "target" && *k != "input") {
        return Err(format!(
            "unexpected field `{extra}` in fork operation {}",
            i + 1
        ));
    }
    Ok(ForkOperation {
        target,
        input: map
            .get("input")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

impl Serialize for HookResult {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_script_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for HookResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        HookResult::from_script_value(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_the_script_form() {
        let all = [
            HookResult::Continue,
            HookResult::Modified(json!({"x": 1})),
            HookResult::Cancel("budget".into()),
            HookResult::Redirect("backup".into()),
            HookResult::Replace(json!({"result": 8})),
            HookResult::Retry {
                delay: Duration::from_millis(100),
                max_attempts: 3,
            },
            HookResult::Fork {
                operations: vec![ForkOperation {
                    target: "audit".into(),
                    input: json!({"a": 1}),
                }],
            },
            HookResult::Cache {
                key: "k".into(),
                ttl: Duration::from_secs(60),
            },
            HookResult::Skipped("not mine".into()),
        ];
        for r in all {
            let v = r.to_script_value();
            assert_eq!(HookResult::from_script_value(&v).unwrap(), r, "{v}");
        }
    }

    #[test]
    fn accepted_shorthands_and_aliases() {
        let p = |v: Value| HookResult::from_script_value(&v).unwrap();
        assert_eq!(p(Value::Null), HookResult::Continue);
        assert_eq!(p(json!("continue")), HookResult::Continue);
        assert_eq!(p(json!("skip")), HookResult::Skipped(String::new()));
        assert_eq!(
            p(json!({"type": "skipped"})),
            HookResult::Skipped(String::new())
        );
        assert_eq!(
            p(json!({"action": "replace", "data": 5})),
            HookResult::Replace(json!(5))
        );
        assert_eq!(
            p(json!({"action": "retry"})),
            HookResult::Retry {
                delay: Duration::ZERO,
                max_attempts: DEFAULT_RETRY_ATTEMPTS
            }
        );
        assert_eq!(
            p(json!({"action": "cancel"})),
            HookResult::Cancel("no reason given".into())
        );
    }

    #[test]
    fn malformed_results_are_errors_naming_the_problem() {
        let e = |v: Value| HookResult::from_script_value(&v).unwrap_err().to_string();
        assert!(e(json!(42)).contains("a hook returned a number"));
        assert!(e(json!(true)).contains("a boolean"));
        assert!(e(json!("maybe")).contains("unknown result string \"maybe\""));
        assert!(e(json!({})).contains("no `action`"));
        assert!(e(json!({"action": "explode"})).contains("unknown action \"explode\""));
        assert!(e(json!({"action": "modified"})).contains("needs `data`"));
        assert!(e(json!({"action": "redirect"})).contains("needs `target`"));
        assert!(
            e(json!({"action": "redirect", "target": 3}))
                .contains("must be a string, got a number")
        );
        assert!(e(json!({"action": "retry", "delay_ms": -1})).contains("non-negative"));
        assert!(e(json!({"action": "retry", "max_attempts": 0})).contains("at least 1"));
        assert!(
            e(json!({"action": "fork", "operations": [{"input": 1}]}))
                .contains("fork operation 1 needs `target`")
        );
        assert!(
            e(json!({"action": "cancel", "reasn": "typo"})).contains("unexpected field `reasn`")
        );
        assert!(e(json!(42)).contains("valid results"));
    }

    #[test]
    fn decisive_results() {
        assert!(!HookResult::Continue.is_decisive());
        assert!(!HookResult::Modified(Value::Null).is_decisive());
        assert!(!HookResult::Skipped(String::new()).is_decisive());
        assert!(HookResult::Cancel(String::new()).is_decisive());
        assert!(
            HookResult::Cache {
                key: "k".into(),
                ttl: Duration::ZERO
            }
            .is_decisive()
        );
    }
}
