//! The `params` of a call, read into the values bound to the statement's
//! placeholders. Values are always bound, never written into the SQL text.

use llmspell_core::{Error, Result};
use serde_json::Value;

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string, bound as text.
    Text(String),
    /// An array or object: JSON (`jsonb` on PostgreSQL, text on SQLite).
    Json(Value),
}

/// Reads `params`.
///
/// # Errors
/// [`Error::InvalidInput`] naming `params[i]` for an integer outside the
/// signed 64-bit range.
pub(crate) fn read(params: Vec<Value>) -> Result<Vec<Param>> {
    params
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(match v {
                Value::Null => Param::Null,
                Value::Bool(b) => Param::Bool(b),
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        Param::Int(i)
                    } else if n.is_u64() {
                        return Err(Error::invalid_input(
                            format!("params[{i}]"),
                            format!("{n} is outside the signed 64-bit integer range"),
                        ));
                    } else {
                        Param::Float(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                Value::String(s) => Param::Text(s),
                other => Param::Json(other),
            })
        })
        .collect()
}

/// Refuses a parameter count the statement does not take.
///
/// # Errors
/// [`Error::InvalidInput`] naming `params`.
pub(crate) fn check_count(expected: usize, given: usize) -> Result<()> {
    if expected == given {
        return Ok(());
    }
    Err(Error::invalid_input(
        "params",
        format!(
            "the statement has {expected} placeholder{}, but {given} parameter{} given",
            if expected == 1 { "" } else { "s" },
            if given == 1 { " was" } else { "s were" }
        ),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_become_typed_parameters() {
        let p = read(vec![
            json!(null),
            json!(true),
            json!(-7),
            json!(1.5),
            json!("x'; DROP TABLE t; --"),
            json!({ "a": [1] }),
        ])
        .unwrap();
        assert_eq!(
            p,
            [
                Param::Null,
                Param::Bool(true),
                Param::Int(-7),
                Param::Float(1.5),
                Param::Text("x'; DROP TABLE t; --".into()),
                Param::Json(json!({ "a": [1] })),
            ]
        );
        let err = read(vec![json!(1), json!(u64::MAX)]).unwrap_err();
        assert!(err.to_string().contains("`params[1]`"), "{err}");
        assert!(
            check_count(2, 1)
                .unwrap_err()
                .to_string()
                .contains("2 placeholders")
        );
    }
}
