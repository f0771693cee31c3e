//! How big a JSON value is, without serialising it or reading its text.

use serde_json::Value;

/// The size of `value` as compact JSON, in bytes, with each string counted
/// at its UTF-8 length plus its two quotes: escapes (`\"`, `\n`, `\u0007`)
/// are not expanded. For text without quotes, backslashes or control
/// characters this is exactly the length of `serde_json::to_vec`; otherwise
/// it is at most that, and at least a sixth of it.
///
/// The cost grows with the number of values, never with the length of a
/// string, so limits on prompts and documents cost the same at 1 KiB and at
/// 1 MiB. Floats count as their longest form (24 bytes).
///
/// ```
/// use llmspell_core::json_size;
/// use serde_json::json;
///
/// assert_eq!(json_size(&json!({ "prompt": "hello" })), r#"{"prompt":"hello"}"#.len());
/// assert_eq!(json_size(&json!("a\nb")), 5); // "a\nb" serialises to 6 bytes
/// ```
pub fn json_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                digits(i.unsigned_abs()) + usize::from(i < 0)
            } else if let Some(u) = n.as_u64() {
                digits(u)
            } else {
                24
            }
        }
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.len().saturating_sub(1) + a.iter().map(json_size).sum::<usize>(),
        Value::Object(o) => {
            2 + o.len().saturating_sub(1)
                + o.iter()
                    .map(|(k, v)| k.len() + 3 + json_size(v))
                    .sum::<usize>()
        }
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_for_text_without_escapes() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(9),
            json!(10),
            json!(-120),
            json!(i64::MIN),
            json!(u64::MAX),
            json!("plain"),
            json!([1, "two", [3], {}, []]),
            json!({ "expression": "2 + 2 * x", "variables": { "x": 3 }, "é": "ü" }),
        ] {
            assert_eq!(json_size(&v), serde_json::to_vec(&v).unwrap().len(), "{v}");
        }
    }

    #[test]
    fn escapes_are_not_expanded_and_floats_are_bounded() {
        let v = json!({ "k": "quote \" backslash \\ newline \n bell \u{7}" });
        let text = serde_json::to_vec(&v).unwrap().len();
        assert!(json_size(&v) < text && json_size(&v) * 6 >= text);
        let f = json!(1.0e-7);
        assert!(json_size(&f) >= serde_json::to_vec(&f).unwrap().len());
    }
}
