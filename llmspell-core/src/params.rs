//! Reading JSON into typed values with errors a script author can act on.
//!
//! Serde's own errors do not say which field was wrong in a form a script
//! author can use, so [`parse`] tracks the path of the failure and rewrites
//! the message into the project's form: `` `expression`: expected a string,
//! got number ``, as an [`Error::InvalidInput`] naming the field. Tool
//! parameters, script options and agent configs are all read through it.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Deserialises `params` into `T`, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(params: &Value) -> Result<T> {
    if !params.is_object() {
        return Err(Error::invalid_input(
            "params",
            format!("expected an object, got {}", json_type(params)),
        ));
    }
    serde_path_to_error::deserialize(params).map_err(|e| to_input_error(params, &e, None))
}

/// Deserialises `params`, an object whose `operation` member selects the
/// variant of the externally tagged enum `T`.
///
/// `{ "operation": "split", "text": "a,b" }` is read as
/// `{ "split": { "text": "a,b" } }`, so every variant must be a struct variant
/// (use `Name {}` for operations without parameters).
pub fn parse_operation<T: DeserializeOwned>(params: Value) -> Result<T> {
    let Value::Object(mut map) = params else {
        return Err(Error::invalid_input(
            "params",
            format!("expected an object, got {}", json_type(&params)),
        ));
    };
    let operation = match map.remove("operation") {
        Some(Value::String(op)) => op,
        Some(other) => {
            return Err(Error::invalid_input(
                "operation",
                format!("expected a string, got {}", json_type(&other)),
            ));
        }
        None => {
            return Err(Error::invalid_input(
                "operation",
                "missing required field (a string naming the operation)",
            ));
        }
    };
    let mut tagged = Map::with_capacity(1);
    tagged.insert(operation.clone(), Value::Object(map));
    let tagged = Value::Object(tagged);
    serde_path_to_error::deserialize(&tagged).map_err(|e| {
        let inner = tagged.get(&operation).unwrap_or(&Value::Null);
        to_input_error(inner, &e, Some(&operation))
    })
}

/// The keys the options struct `T` accepts, in declaration order (its serde
/// field names).
pub fn keys<T: DeserializeOwned>() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<T>()
}

/// Reads an options table `v` of a `what` (`"hook option"`, `"option of the
/// caching hook"`) into `T`, accepting only the keys in `valid`: `null`
/// gives the defaults; an unknown key is refused naming it, the closest
/// valid key and every valid one; a wrong value names its key (as
/// [`parse`]).
///
/// # Errors
/// [`Error::InvalidInput`]: ``unknown hook option `ttl` (did you mean
/// `ttl_ms`?); valid: ttl_ms, …``, or a value that is not an object.
pub fn options_with_keys<T: DeserializeOwned + Default>(
    v: &Value,
    what: &str,
    valid: &[&str],
) -> Result<T> {
    let o = match v {
        Value::Null => return Ok(T::default()),
        Value::Object(o) => o,
        other => {
            return Err(Error::invalid_input(
                "options",
                format!("{what}s must be a table, got {}", json_type(other)),
            ));
        }
    };
    if let Some(key) = o.keys().find(|k| !valid.contains(&k.as_str())) {
        return Err(Error::invalid_input(
            key.clone(),
            format!(
                "unknown {what} `{key}`{}; valid: {}",
                crate::suggest::did_you_mean(key, valid.iter().copied()),
                valid.join(", ")
            ),
        ));
    }
    parse(v).map_err(|e| match e {
        Error::InvalidInput { field, message } => Error::InvalidInput {
            message: format!("{what} `{field}`: {message}"),
            field,
        },
        other => other,
    })
}

/// [`options_with_keys`] with the keys of `T` itself.
///
/// # Errors
/// As [`options_with_keys`].
pub fn options<T: DeserializeOwned + Default>(v: &Value, what: &str) -> Result<T> {
    options_with_keys(v, what, keys::<T>())
}

/// The JSON type name of a value, as used in error messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Rewrites a serde error at a tracked path into [`Error::InvalidInput`].
///
/// `root` is the object the path is relative to; `operation` is set when the
/// path starts with the synthetic operation tag of [`parse_operation`].
fn to_input_error(
    root: &Value,
    err: &serde_path_to_error::Error<serde_json::Error>,
    operation: Option<&str>,
) -> Error {
    use serde_path_to_error::Segment;

    let mut segments: Vec<&Segment> = err.path().iter().collect();
    if operation.is_some() && !segments.is_empty() {
        // The first segment is the operation tag added by `parse_operation`.
        segments.remove(0);
    }
    let message = err.inner().to_string();
    // serde_json appends " at line L column C" for errors from text; values
    // carry no positions, but strip it defensively.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };

    let mut field = String::new();
    let mut at = Some(root);
    for seg in &segments {
        match seg {
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
                at = at.and_then(|v| v.get(key.as_str()));
            }
            Segment::Seq { index } => {
                field.push_str(&format!("[{index}]"));
                at = at.and_then(|v| v.get(*index));
            }
            Segment::Unknown => {}
        }
    }

    if let Some(rest) = message.strip_prefix("unknown variant `") {
        // At the root this is the operation itself; deeper it is an enum field.
        let (name, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        let name = name.trim_end_matches('`');
        if segments.is_empty() && operation.is_some() {
            return Error::invalid_input(
                "operation",
                format!(
                    "unknown operation \"{name}\"; expected {}",
                    friendly_expected(expected)
                ),
            );
        }
        return Error::invalid_input(
            field_or(&field, "params"),
            format!(
                "unknown value \"{name}\"; expected {}",
                friendly_expected(expected)
            ),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let full = if field.is_empty() {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
        let text = match operation {
            Some(op) => format!("missing required field for operation \"{op}\""),
            None => "missing required field".to_owned(),
        };
        return Error::invalid_input(full, text);
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        let name = name.trim_end_matches('`');
        let full = if field.is_empty() {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
        return Error::invalid_input(
            full,
            format!("unknown field; expected {}", friendly_expected(expected)),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map_or(rest, |(_, e)| e);
        let got = at.map_or("another type", json_type);
        return Error::invalid_input(
            field_or(&field, "params"),
            format!("expected {}, got {got}", friendly_expected(expected)),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (got, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "a valid value"));
        return Error::invalid_input(
            field_or(&field, "params"),
            format!("expected {}, got {got}", friendly_expected(expected)),
        );
    }
    Error::invalid_input(field_or(&field, "params"), message)
}

fn field_or(field: &str, fallback: &str) -> String {
    if field.is_empty() {
        fallback.to_owned()
    } else {
        field.to_owned()
    }
}

/// Turns serde's type names into words a script author understands.
fn friendly_expected(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "f64" | "f32" => "a number".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_owned(),
        "a boolean" | "bool" => "a boolean".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        other => other.replace('`', "").replace("a sequence", "an array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    struct Calc {
        expression: String,
        #[serde(default)]
        variables: BTreeMap<String, f64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Op {
        Upper { text: String },
        Split { text: String, limit: Option<u32> },
        Now {},
    }

    fn field_and_message(e: Error) -> (String, String) {
        match e {
            Error::InvalidInput { field, message } => (field, message),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn valid_params_parse() {
        let c: Calc = parse(&json!({ "expression": "x", "variables": { "x": 2 } })).unwrap();
        assert_eq!(c.expression, "x");
        assert_eq!(c.variables.get("x"), Some(&2.0));
    }

    #[test]
    fn wrong_type_names_the_field_and_both_types() {
        let e = parse::<Calc>(&json!({ "expression": 3 })).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input for `expression`: expected a string, got number"
        );
    }

    #[test]
    fn nested_field_path_is_reported() {
        let e =
            parse::<Calc>(&json!({ "expression": "x", "variables": { "x": "3" } })).unwrap_err();
        let (field, message) = field_and_message(e);
        assert_eq!(field, "variables.x");
        assert_eq!(message, "expected a number, got string");
    }

    #[test]
    fn missing_field_is_named() {
        let (field, message) = field_and_message(parse::<Calc>(&json!({})).unwrap_err());
        assert_eq!(field, "expression");
        assert_eq!(message, "missing required field");
    }

    #[test]
    fn non_object_params_are_refused() {
        let (field, message) = field_and_message(parse::<Calc>(&json!([1])).unwrap_err());
        assert_eq!(field, "params");
        assert_eq!(message, "expected an object, got array");
    }

    #[test]
    fn operation_selects_the_variant() {
        let op: Op = parse_operation(json!({ "operation": "split", "text": "a,b" })).unwrap();
        assert_eq!(
            op,
            Op::Split {
                text: "a,b".into(),
                limit: None
            }
        );
        let op: Op = parse_operation(json!({ "operation": "now" })).unwrap();
        assert_eq!(op, Op::Now {});
    }

    #[test]
    fn unknown_operation_lists_the_valid_ones() {
        let (field, message) =
            field_and_message(parse_operation::<Op>(json!({ "operation": "shout" })).unwrap_err());
        assert_eq!(field, "operation");
        assert_eq!(
            message,
            "unknown operation \"shout\"; expected one of upper, split, now"
        );
    }

    #[test]
    fn operation_field_errors_name_the_field() {
        let (field, message) = field_and_message(
            parse_operation::<Op>(json!({ "operation": "split", "text": "a", "limit": -1 }))
                .unwrap_err(),
        );
        assert_eq!(field, "limit");
        assert!(
            message.starts_with("expected a non-negative integer"),
            "{message}"
        );

        let (field, message) =
            field_and_message(parse_operation::<Op>(json!({ "operation": "upper" })).unwrap_err());
        assert_eq!(field, "text");
        assert_eq!(message, "missing required field for operation \"upper\"");

        let (field, _) =
            field_and_message(parse_operation::<Op>(json!({ "operation": 7 })).unwrap_err());
        assert_eq!(field, "operation");
    }
}
