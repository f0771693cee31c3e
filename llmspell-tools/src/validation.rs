//! Parameter validation against a tool's JSON Schema.

use jsonschema::error::ValidationErrorKind;
use llmspell_core::{Error, Result};
use serde_json::Value;

/// A tool's compiled parameter schema.
pub(crate) struct ParamValidator {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for ParamValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParamValidator")
    }
}

impl ParamValidator {
    /// Compiles `schema`.
    ///
    /// # Errors
    /// `InvalidInput` naming the tool when the schema itself is invalid.
    pub(crate) fn compile(tool: &str, schema: &Value) -> Result<Self> {
        jsonschema::validator_for(schema)
            .map(|validator| Self { validator })
            .map_err(|e| {
                Error::invalid_input(
                    "parameters",
                    format!("tool {tool:?} declares an invalid JSON Schema: {e}"),
                )
            })
    }

    /// Checks `params`; the error names the first offending field and what
    /// was expected.
    ///
    /// # Errors
    /// `InvalidInput { field, message }`.
    pub(crate) fn check(&self, tool: &str, params: &Value) -> Result<()> {
        if self.validator.is_valid(params) {
            return Ok(());
        }
        let Some(e) = self.validator.iter_errors(params).next() else {
            return Ok(());
        };
        let path = pointer_to_field(e.instance_path().as_str());
        let (field, message) = match e.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                (
                    join(&path, &name),
                    format!("required parameter `{name}` is missing"),
                )
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                (
                    join(&path, &name),
                    format!("unknown parameter `{name}` (not in the tool's schema)"),
                )
            }
            ValidationErrorKind::Type { .. } => {
                let field = if path.is_empty() {
                    "params".to_owned()
                } else {
                    path
                };
                (
                    field,
                    format!("{e} (got {})", type_name(e.instance().as_ref())),
                )
            }
            _ => (
                if path.is_empty() {
                    "params".to_owned()
                } else {
                    path
                },
                e.to_string(),
            ),
        };
        Err(Error::invalid_input(
            field,
            format!("{message}; see the parameters of `{tool}` in Tool.info"),
        ))
    }
}

/// `/variables/x` → `variables.x`.
fn pointer_to_field(pointer: &str) -> String {
    pointer
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "expression": { "type": "string" },
                "variables": { "type": "object", "additionalProperties": { "type": "number" } }
            },
            "required": ["expression"],
            "additionalProperties": false
        })
    }

    #[test]
    fn errors_name_the_field_and_the_expected_type() {
        let v = ParamValidator::compile("calculator", &schema()).unwrap();
        assert!(v.check("calculator", &json!({ "expression": "1" })).is_ok());
        let err = |p: Value| v.check("calculator", &p).unwrap_err();
        match err(json!({ "expression": 5 })) {
            Error::InvalidInput { field, message } => {
                assert_eq!(field, "expression");
                assert!(
                    message.contains("string") && message.contains("got number"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        match err(json!({ "expression": "x", "variables": { "x": "three" } })) {
            Error::InvalidInput { field, message } => {
                assert_eq!(field, "variables.x");
                assert!(message.contains("number"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match err(json!({})) {
            Error::InvalidInput { field, message } => {
                assert_eq!(field, "expression");
                assert!(
                    message.contains("required parameter `expression` is missing"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        match err(json!({ "expression": "1", "expresion": "typo" })) {
            Error::InvalidInput { field, .. } => assert_eq!(field, "expresion"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_schemas_are_refused() {
        let err = ParamValidator::compile("bad", &json!({ "type": 12 })).unwrap_err();
        assert!(err.to_string().contains("invalid JSON Schema"), "{err}");
    }
}
