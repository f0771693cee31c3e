//! Script values that are more than JSON: specs holding functions and
//! component handles.
//!
//! `Agent.create` and the `Workflow` constructors take tables mixing plain
//! data with script functions (handlers, step functions, conditions) and
//! handles of agents and workflows made earlier. Engines turn such a table
//! into a [`ScriptValue`]; the host reads it without knowing the language.

use std::sync::Arc;

use crate::HostError;
use llmspell_agents::LifecycleAgent;
use llmspell_core::Workflow;
use serde_json::{Map, Value};

use crate::ScriptFunction;

/// A script value: JSON, or a tree holding functions and component handles.
#[derive(Clone)]
pub enum ScriptValue {
    /// Plain data (a subtree without functions or handles).
    Json(Value),
    /// An array some element of which is not plain data.
    Array(Vec<ScriptValue>),
    /// An object some field of which is not plain data (fields in script order
    /// where the engine knows it).
    Object(Vec<(String, ScriptValue)>),
    /// A script function.
    Function(ScriptFunction),
    /// An agent handle (`Agent.create`'s result).
    Agent(LifecycleAgent),
    /// A workflow handle (a `Workflow` constructor's result).
    Workflow(Arc<dyn Workflow>),
}

impl ScriptValue {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ScriptValue::Json(Value::Null) => "nil",
            ScriptValue::Json(Value::Bool(_)) => "boolean",
            ScriptValue::Json(Value::Number(_)) => "number",
            ScriptValue::Json(Value::String(_)) => "string",
            ScriptValue::Json(Value::Array(_)) | ScriptValue::Array(_) => "array",
            ScriptValue::Json(Value::Object(_)) | ScriptValue::Object(_) => "table",
            ScriptValue::Function(_) => "function",
            ScriptValue::Agent(_) => "agent",
            ScriptValue::Workflow(_) => "workflow",
        }
    }

    /// Whether this is nil / null.
    pub fn is_null(&self) -> bool {
        matches!(self, ScriptValue::Json(Value::Null))
    }

    /// The field `key` of an object (`None` when absent, null, or this is
    /// not an object).
    pub fn get(&self, key: &str) -> Option<ScriptValue> {
        let found = match self {
            ScriptValue::Json(Value::Object(map)) => map.get(key).cloned().map(ScriptValue::Json),
            ScriptValue::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
            _ => None,
        };
        found.filter(|v| !v.is_null())
    }

    /// The field names of an object (empty for anything else).
    pub fn keys(&self) -> Vec<String> {
        match self {
            ScriptValue::Json(Value::Object(map)) => map.keys().cloned().collect(),
            ScriptValue::Object(fields) => fields.iter().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether this is an object (a table with named fields, or an empty
    /// table).
    pub fn is_object(&self) -> bool {
        matches!(
            self,
            ScriptValue::Json(Value::Object(_)) | ScriptValue::Object(_)
        ) || matches!(self, ScriptValue::Json(Value::Array(a)) if a.is_empty())
    }

    /// The elements of an array; an empty table counts as an empty array.
    ///
    /// # Errors
    /// `"<what> must be an array, got <kind>"`.
    pub fn elements(&self, what: &str) -> Result<Vec<ScriptValue>, HostError> {
        match self {
            ScriptValue::Json(Value::Array(items)) => {
                Ok(items.iter().cloned().map(ScriptValue::Json).collect())
            }
            ScriptValue::Json(Value::Object(map)) if map.is_empty() => Ok(Vec::new()),
            ScriptValue::Array(items) => Ok(items.clone()),
            other => Err(format!("{what} must be an array, got {}", other.kind()).into()),
        }
    }

    /// The plain data, or an error naming where a function or handle sits.
    ///
    /// # Errors
    /// `"<what>: a function cannot be used here (at <path>)"` and similar.
    pub fn into_json(self, what: &str) -> Result<Value, HostError> {
        self.into_json_at(what, "")
    }

    fn into_json_at(self, what: &str, path: &str) -> Result<Value, HostError> {
        let at = |kind: &str| {
            let place = if path.is_empty() {
                String::new()
            } else {
                format!(" (at {path})")
            };
            Err(format!("{what}: a {kind} is not data and cannot be used here{place}").into())
        };
        match self {
            ScriptValue::Json(v) => Ok(v),
            ScriptValue::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| v.into_json_at(what, &format!("{path}[{}]", i + 1)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            ScriptValue::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let v = v.into_json_at(what, &p)?;
                    map.insert(k, v);
                }
                Ok(Value::Object(map))
            }
            ScriptValue::Function(_) => at("function"),
            ScriptValue::Agent(_) => at("agent"),
            ScriptValue::Workflow(_) => at("workflow"),
        }
    }

    /// The string value of a field, if it is one.
    pub fn str_field(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(ScriptValue::Json(Value::String(s))) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Debug for ScriptValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptValue::Json(v) => write!(f, "{v}"),
            ScriptValue::Array(items) => f.debug_list().entries(items).finish(),
            ScriptValue::Object(fields) => f
                .debug_map()
                .entries(fields.iter().map(|(k, v)| (k, v)))
                .finish(),
            ScriptValue::Function(func) => write!(f, "{func:?}"),
            ScriptValue::Agent(a) => write!(f, "Agent({:?})", a.name()),
            ScriptValue::Workflow(w) => write!(f, "Workflow({:?})", w.metadata().name()),
        }
    }
}

impl From<Value> for ScriptValue {
    fn from(v: Value) -> Self {
        ScriptValue::Json(v)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_objects_read_like_json() {
        let v = ScriptValue::Object(vec![
            ("name".into(), json!("etl").into()),
            (
                "steps".into(),
                ScriptValue::Array(vec![json!({"a": 1}).into()]),
            ),
            ("gone".into(), json!(null).into()),
        ]);
        assert_eq!(v.str_field("name").as_deref(), Some("etl"));
        assert!(v.get("gone").is_none());
        assert_eq!(v.get("steps").unwrap().elements("steps").unwrap().len(), 1);
        assert_eq!(v.keys(), vec!["name", "steps", "gone"]);
        assert_eq!(
            v.into_json("spec").unwrap(),
            json!({"name": "etl", "steps": [{"a": 1}], "gone": null})
        );
    }

    #[test]
    fn empty_table_is_an_empty_array() {
        let v: ScriptValue = json!({}).into();
        assert!(v.elements("steps").unwrap().is_empty());
        let n: ScriptValue = json!(3).into();
        let e = n.elements("steps").unwrap_err();
        assert_eq!(e.message(), "steps must be an array, got number");
        assert_eq!(e.kind(), "invalid_input");
    }
}
