//! Input validation rules of the security hook.

use regex::{Regex, RegexSet};
use serde_json::Value;

use llmspell_core::json_size;

/// A rule that refused an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// `max_payload_size`, `path_traversal`, `absolute_path` or `denied_pattern:<name>`.
    pub(crate) rule: String,
    /// What fired, naming the field (a JSON pointer) where there is one.
    pub(crate) detail: String,
}

/// The configured rules, compiled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) max_payload_bytes: Option<usize>,
    pub(crate) path_traversal: bool,
    pub(crate) absolute_paths: bool,
    pub(crate) path_fields: Option<Vec<String>>,
    pub(crate) denied_names: Vec<String>,
    pub(crate) denied: Option<RegexSet>,
    pub(crate) denied_each: Vec<Regex>,
}

impl Rules {
    pub(crate) fn is_empty(&self) -> bool {
        self.max_payload_bytes.is_none()
            && !self.path_traversal
            && !self.absolute_paths
            && self.denied.is_none()
    }

    /// The first rule `data` breaks, if any. Size is checked first, then
    /// every string in document order.
    pub(crate) fn check(&self, data: &Value) -> Option<Violation> {
        if let Some(max) = self.max_payload_bytes {
            let size = json_size(data);
            if size > max {
                return Some(Violation {
                    rule: "max_payload_size".to_owned(),
                    detail: format!("the input is {size} bytes; the limit is {max}"),
                });
            }
        }
        if !self.path_traversal && !self.absolute_paths && self.denied.is_none() {
            return None;
        }
        let mut pointer = String::new();
        self.walk(data, None, &mut pointer)
    }

    fn walk(&self, v: &Value, key: Option<&str>, pointer: &mut String) -> Option<Violation> {
        match v {
            Value::String(s) => self.check_string(s, key, pointer),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    let found = self.walk(item, key, pointer);
                    pointer.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    let found = self.walk(item, Some(k), pointer);
                    pointer.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn check_string(&self, s: &str, key: Option<&str>, pointer: &str) -> Option<Violation> {
        let field = if pointer.is_empty() { "/" } else { pointer };
        if let Some(set) = &self.denied {
            let hits = set.matches(s);
            if let Some(i) = hits.iter().next() {
                let name = self.denied_names.get(i).map_or("?", String::as_str);
                let pattern = self.denied_each.get(i).map_or("?", Regex::as_str);
                return Some(Violation {
                    rule: format!("denied_pattern:{name}"),
                    detail: format!("field {field} matches the denied pattern {pattern:?}"),
                });
            }
        }
        let is_path_field = match (&self.path_fields, key) {
            (None, _) => true,
            (Some(fields), Some(k)) => fields.iter().any(|f| f == k),
            (Some(_), None) => false,
        };
        if !is_path_field {
            return None;
        }
        let decoded = percent_decode_path(s);
        if self.path_traversal && decoded.split(['/', '\\']).any(|seg| seg == "..") {
            return Some(Violation {
                rule: "path_traversal".to_owned(),
                detail: format!("field {field} has a `..` path segment"),
            });
        }
        if self.absolute_paths && is_absolute(&decoded) {
            return Some(Violation {
                rule: "absolute_path".to_owned(),
                detail: format!("field {field} is an absolute path"),
            });
        }
        None
    }
}

/// `s` with the percent-escapes of `.`, `/` and `\` decoded (any case), so
/// `%2e%2e%2f` counts as `../`.
fn percent_decode_path(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('%') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i + 1..i + 3).map(str::to_ascii_lowercase);
        match esc.as_deref() {
            Some("2e") => out.push('.'),
            Some("2f") => out.push('/'),
            Some("5c") => out.push('\\'),
            _ => {
                out.push('%');
                rest = &rest[i + 1..];
                continue;
            }
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out.into()
}

fn is_absolute(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with('/')
        || s.starts_with('\\')
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && (b[2] == b'/' || b[2] == b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        Rules {
            path_traversal: true,
            absolute_paths: true,
            ..Rules::default()
        }
    }

    #[test]
    fn traversal_in_any_form_and_depth() {
        let r = rules();
        for bad in [
            "../x",
            "a/../../b",
            "..",
            "a\\..\\b",
            "%2E%2e%2fetc",
            "a/%2e%2e/b",
        ] {
            let v = r.check(&json!({ "nested": [{ "p": bad }] })).unwrap();
            assert_eq!(v.rule, "path_traversal", "{bad}");
            assert!(v.detail.contains("/nested/0/p"), "{}", v.detail);
        }
        for ok in ["a..b", "...", "file..txt", "x/y", "100%", "%zz"] {
            assert_eq!(r.check(&json!({ "p": ok })), None, "{ok}");
        }
    }

    #[test]
    fn absolute_paths_and_path_fields() {
        let mut r = rules();
        for abs in ["/etc/passwd", "C:\\Windows", "c:/x", "\\\\server\\share"] {
            assert_eq!(
                r.check(&json!({ "p": abs })).unwrap().rule,
                "absolute_path",
                "{abs}"
            );
        }
        r.path_fields = Some(vec!["path".into()]);
        assert_eq!(r.check(&json!({ "note": "/help" })), None);
        assert!(r.check(&json!({ "x": { "path": "/etc" } })).is_some());
    }

    #[test]
    fn size_is_the_compact_json_length() {
        assert_eq!(json_size(&json!({ "a": "bc" })), 10);
        let r = Rules {
            max_payload_bytes: Some(9),
            ..Rules::default()
        };
        assert_eq!(
            r.check(&json!({ "a": "bc" })).unwrap().rule,
            "max_payload_size"
        );
    }
}
