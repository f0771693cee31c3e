//! `data_validation`: checks a JSON value against a JSON Schema.

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::params::{self, ParamsSpec};

/// Most errors reported for one value.
const DEFAULT_MAX_ERRORS: usize = 100;

/// Validates `data` against a JSON Schema (drafts 4, 6, 7, 2019-09 and
/// 2020-12; the draft is taken from `$schema`, 2020-12 when absent).
///
/// Parameters `{ data, schema, max_errors? }`; output `{ valid, errors:
/// [{ path, message, schema_path }] }` with `path` a JSON Pointer into `data`
/// (`""` for the value itself). Remote `$ref`s are not fetched. An invalid
/// schema is an [`Error::InvalidInput`] for `schema`.
#[derive(Debug, Clone)]
pub struct DataValidation {
    metadata: ComponentMetadata,
}

impl DataValidation {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "data_validation",
                "Validates a JSON value against a JSON Schema and lists every violation",
            ),
        }
    }
}

impl Default for DataValidation {
    fn default() -> Self {
        Self::new()
    }
}

/// The parameters of `data_validation`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The JSON value to check, of any type.
    data: Value,
    /// The JSON Schema to check it against: an object, or `true`/`false`.
    /// Its `$schema` selects the draft (default 2020-12).
    schema: SchemaParam,
    /// The most errors to list (default 100); `error_count` still counts
    /// them all.
    #[serde(default = "default_max_errors")]
    #[schemars(range(min = 1))]
    max_errors: usize,
}

/// A JSON Schema as a parameter: an object or a boolean.
#[derive(Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected a JSON Schema (an object or a boolean)"
)]
enum SchemaParam {
    Object(Map<String, Value>),
    Bool(bool),
}

impl From<SchemaParam> for Value {
    fn from(schema: SchemaParam) -> Self {
        match schema {
            SchemaParam::Object(map) => Value::Object(map),
            SchemaParam::Bool(b) => Value::Bool(b),
        }
    }
}

/// How `data_validation` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn default_max_errors() -> usize {
    DEFAULT_MAX_ERRORS
}

fn validate(data: &Value, schema: &Value, max_errors: usize) -> Result<Value> {
    if !(schema.is_object() || schema.is_boolean()) {
        return Err(Error::invalid_input(
            "schema",
            format!(
                "expected a JSON Schema (an object or a boolean), got {}",
                params::json_type(schema)
            ),
        ));
    }
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Error::invalid_input("schema", format!("invalid JSON Schema: {e}")))?;
    let mut total = 0usize;
    let mut errors = Vec::new();
    for error in validator.iter_errors(data) {
        total += 1;
        if errors.len() < max_errors {
            errors.push(json!({
                "path": error.instance_path().as_str(),
                "message": error.to_string(),
                "schema_path": error.schema_path().as_str(),
            }));
        }
    }
    Ok(json!({
        "valid": total == 0,
        "errors": errors,
        "error_count": total,
    }))
}

#[async_trait]
impl Tool for DataValidation {
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
        vec![json!({
            "data": { "age": -1 },
            "schema": {
                "type": "object",
                "properties": { "age": { "type": "integer", "minimum": 0 } },
                "required": ["name"]
            }
        })]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "valid": { "type": "boolean" },
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": { "type": "string", "description": "JSON Pointer into data" },
                            "message": { "type": "string" },
                            "schema_path": { "type": "string", "description": "JSON Pointer into the schema" }
                        }
                    }
                },
                "error_count": { "type": "integer", "description": "All errors, including unlisted ones" }
            },
            "required": ["valid", "errors"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        validate(&p.data, &Value::from(p.schema), p.max_errors.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "minLength": 1 },
                "age": { "type": "integer", "minimum": 0 },
                "tags": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["name"],
            "additionalProperties": false
        })
    }

    #[test]
    fn a_conforming_value_is_valid() {
        let out = validate(
            &json!({ "name": "ada", "age": 36, "tags": ["x"] }),
            &schema(),
            10,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({ "valid": true, "errors": [], "error_count": 0 })
        );
    }

    #[test]
    fn every_violation_is_listed_with_its_path() {
        let out = validate(
            &json!({ "age": -1, "tags": ["ok", 7], "extra": 1 }),
            &schema(),
            10,
        )
        .unwrap();
        assert_eq!(out["valid"], false);
        let mut paths: Vec<&str> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        paths.sort_unstable();
        assert_eq!(paths, vec!["", "", "/age", "/tags/1"]);
        let messages: Vec<&str> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("\"name\" is a required property")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("-1 is less than the minimum of 0")),
            "{messages:?}"
        );
        assert_eq!(out["error_count"], 4);
    }

    #[test]
    fn max_errors_caps_the_list_not_the_count() {
        let out = validate(
            &json!({ "age": -1, "tags": ["ok", 7], "extra": 1 }),
            &schema(),
            1,
        )
        .unwrap();
        assert_eq!(out["errors"].as_array().unwrap().len(), 1);
        assert_eq!(out["error_count"], 4);
    }

    #[test]
    fn an_invalid_schema_is_an_input_error() {
        let err = validate(&json!(1), &json!({ "type": "widget" }), 10).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid input for `schema`: invalid JSON Schema"),
            "{err}"
        );
        let err = validate(&json!(1), &json!("string"), 10).unwrap_err();
        assert!(err.to_string().contains("got string"), "{err}");
    }
}
