//! Parameter validation against a tool's JSON Schema.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use llmspell_core::params::json_type;
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
    /// For an operation tool (a `oneOf` of one object per operation), the
    /// error comes from the operation the params name, not the bare "not
    /// valid under any of the schemas listed in the 'oneOf' keyword".
    ///
    /// # Errors
    /// `InvalidInput { field, message }`.
    pub(crate) fn check(&self, tool: &str, params: &Value) -> Result<()> {
        if self.validator.is_valid(params) {
            return Ok(());
        }
        let errors: Vec<ValidationError<'static>> = self
            .validator
            .iter_errors(params)
            .map(ValidationError::to_owned)
            .collect();
        let Some((e, in_operation)) = most_specific(&errors) else {
            return Ok(());
        };
        let operation = if in_operation {
            params
                .get("operation")
                .and_then(Value::as_str)
                .map(|op| format!(" for operation \"{op}\""))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let path = pointer_to_field(e.instance_path().as_str());
        let (field, message) = match e.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                (
                    join(&path, &name),
                    format!("required parameter `{name}` is missing{operation}"),
                )
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let why = if operation.is_empty() {
                    " (not in the tool's schema)"
                } else {
                    " (not one of its parameters)"
                };
                (
                    join(&path, &name),
                    format!("unknown parameter `{name}`{operation}{why}"),
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
                    format!("{e} (got {})", json_type(e.instance().as_ref())),
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

/// The error to report among `errors`, and whether it was found inside the
/// `oneOf` branch of the operation the params name.
///
/// A plain error (a wrong type, a missing or unknown property) beats a
/// `oneOf` that no branch satisfied. Such a `oneOf` is looked into when
/// exactly the branches whose `const`s matched (the operation's own) failed:
/// the error of the one with the fewest errors is reported.
fn most_specific<'e>(
    errors: &'e [ValidationError<'static>],
) -> Option<(&'e ValidationError<'static>, bool)> {
    if let Some(plain) = errors.iter().find(|e| !is_composite(e)) {
        return Some((plain, false));
    }
    let first = errors.first()?;
    if let ValidationErrorKind::OneOfNotValid { context } = first.kind() {
        let matched = context
            .iter()
            .filter(|branch| {
                !branch
                    .iter()
                    .any(|e| matches!(e.kind(), ValidationErrorKind::Constant { .. }))
            })
            .min_by_key(|branch| branch.len());
        if let Some((inner, _)) = matched.and_then(|branch| most_specific(branch)) {
            return Some((inner, true));
        }
    }
    Some((first, false))
}

fn is_composite(e: &ValidationError<'_>) -> bool {
    matches!(
        e.kind(),
        ValidationErrorKind::OneOfNotValid { .. }
            | ValidationErrorKind::OneOfMultipleValid { .. }
            | ValidationErrorKind::AnyOf { .. }
    )
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

    fn operations() -> Value {
        json!({
            "type": "object",
            "properties": { "operation": { "type": "string", "enum": ["split", "now"] } },
            "required": ["operation"],
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "operation": { "const": "split" },
                        "text": { "type": "string" },
                        "limit": { "type": "integer" }
                    },
                    "required": ["operation", "text"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": { "operation": { "const": "now" } },
                    "required": ["operation"],
                    "additionalProperties": false
                }
            ]
        })
    }

    #[test]
    fn operation_errors_come_from_the_named_operation() {
        let v = ParamValidator::compile("t", &operations()).unwrap();
        assert!(
            v.check("t", &json!({ "operation": "split", "text": "a" }))
                .is_ok()
        );
        assert!(v.check("t", &json!({ "operation": "now" })).is_ok());
        let err = |p: Value| match v.check("t", &p).unwrap_err() {
            Error::InvalidInput { field, message } => (field, message),
            other => panic!("{other:?}"),
        };
        let (field, message) = err(json!({ "operation": "split", "text": 5 }));
        assert_eq!(field, "text");
        assert!(
            message.contains("\"string\"") && message.contains("got number"),
            "{message}"
        );
        let (field, message) = err(json!({ "operation": "split" }));
        assert_eq!(field, "text");
        assert!(
            message.starts_with("required parameter `text` is missing for operation \"split\""),
            "{message}"
        );
        let (field, message) = err(json!({ "operation": "now", "text": "x" }));
        assert_eq!(field, "text");
        assert!(
            message.starts_with(
                "unknown parameter `text` for operation \"now\" (not one of its parameters)"
            ),
            "{message}"
        );
        let (field, message) = err(json!({ "operation": "shout" }));
        assert_eq!(field, "operation");
        assert!(message.contains("split"), "{message}");
        let (field, _) = err(json!({ "text": "a" }));
        assert_eq!(field, "operation");
    }

    #[test]
    fn invalid_schemas_are_refused() {
        let err = ParamValidator::compile("bad", &json!({ "type": 12 })).unwrap_err();
        assert!(err.to_string().contains("invalid JSON Schema"), "{err}");
    }
}
