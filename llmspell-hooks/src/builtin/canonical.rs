//! Canonical JSON: one text per value, whatever the order its keys were built in.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical text of `value`: compact JSON with object keys sorted by
/// their bytes, at every depth. Two values that are equal as JSON have the
/// same canonical text, so it can be hashed for cache keys and audit chains.
///
/// ```
/// use llmspell_hooks::builtin::canonical_json;
/// use serde_json::json;
/// let a = json!({ "b": 1, "a": { "y": [1, 2], "x": null } });
/// assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::with_capacity(64);
    write_canonical(&mut out, value);
    out
}

/// The lowercase hex SHA-256 of [`canonical_json`]`(value)`.
pub fn canonical_sha256(value: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_canonical(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, v);
            }
            out.push(']');
        }
        Value::String(s) => write_string(out, s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's escaping is the canonical one; a string always serialises.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_text() {
        let a: Value = serde_json::from_str(r#"{"z":1,"a":{"c":"\n","b":[true,1.5]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"b":[true,1.5],"c":"\n"},"z":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"b":[true,1.5],"c":"\n"},"z":1}"#
        );
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        assert_ne!(canonical_sha256(&a), canonical_sha256(&json!({"z": 2})));
        assert_eq!(canonical_sha256(&a).len(), 64);
    }
}
