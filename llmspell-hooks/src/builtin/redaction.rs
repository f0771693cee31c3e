//! Removing secrets from data before it is logged, captured or audited.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::invalid;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// The keys redacted by default.
const DEFAULT_KEYS: [&str; 4] = ["api_key", "password", "token", "authorization"];

/// Replaces secret values in JSON data and string maps.
///
/// A value is secret when its key matches a configured key, compared without
/// case and ignoring `_` and `-` (so `api_key` also matches `API-KEY` and
/// `apiKey`), or matches a configured key pattern (a regex over the key as
/// written). Matching is recursive: objects inside arrays inside objects are
/// searched too, and a secret key's whole value (even an object) is
/// replaced with [`REDACTED`]. Value patterns (regexes) additionally replace
/// matching text inside any string, whatever its key.
///
/// The default redacts `api_key`, `password`, `token` and `authorization`.
///
/// ```
/// use llmspell_hooks::builtin::Redactor;
/// use serde_json::json;
/// let r = Redactor::default();
/// let out = r.redact(&json!({ "user": "ada", "auth": [{ "API_KEY": "sk-1" }] }));
/// assert_eq!(out, json!({ "user": "ada", "auth": [{ "API_KEY": "[REDACTED]" }] }));
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Normalised keys (lowercase, without `_`/`-`).
    keys: Vec<String>,
    key_patterns: Vec<Regex>,
    value_patterns: Vec<Regex>,
}

/// Builds a [`Redactor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedactorBuilder {
    keys: Vec<String>,
    key_patterns: Vec<String>,
    value_patterns: Vec<String>,
}

impl Default for RedactorBuilder {
    fn default() -> Self {
        Self {
            keys: DEFAULT_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            key_patterns: Vec::new(),
            value_patterns: Vec::new(),
        }
    }
}

impl RedactorBuilder {
    /// Adds a key to redact.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Replaces the keys to redact (the defaults included).
    pub fn keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a regex; keys it matches (as written) are redacted.
    pub fn key_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.key_patterns.push(pattern.into());
        self
    }

    /// Adds a regex; text it matches inside any string value is replaced.
    pub fn value_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.value_patterns.push(pattern.into());
        self
    }

    /// Builds the redactor.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an empty key
    /// or a pattern that does not compile (or matches the empty string).
    pub fn build(self) -> crate::Result<Redactor> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let n = normalise(k);
            if n.is_empty() {
                return Err(invalid(
                    "redact_keys",
                    format!("{k:?} is not a key (it is empty once `_` and `-` are removed)"),
                ));
            }
            if !keys.contains(&n) {
                keys.push(n);
            }
        }
        let compile = |field: &'static str, p: &String| -> crate::Result<Regex> {
            let re = Regex::new(p).map_err(|e| invalid(field, format!("{p:?}: {e}")))?;
            if re.is_match("") {
                return Err(invalid(
                    field,
                    format!("{p:?} matches the empty string, so it would match everything"),
                ));
            }
            Ok(re)
        };
        Ok(Redactor {
            inner: Arc::new(Inner {
                keys,
                key_patterns: self
                    .key_patterns
                    .iter()
                    .map(|p| compile("redact_key_patterns", p))
                    .collect::<crate::Result<_>>()?,
                value_patterns: self
                    .value_patterns
                    .iter()
                    .map(|p| compile("redact_value_patterns", p))
                    .collect::<crate::Result<_>>()?,
            }),
        })
    }
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `key` equals the normalised `norm` once normalised itself,
/// without allocating.
fn normalised_eq(key: &str, norm: &str) -> bool {
    let mut want = norm.chars();
    for c in key.chars().filter(|c| *c != '_' && *c != '-') {
        for lc in c.to_lowercase() {
            if want.next() != Some(lc) {
                return false;
            }
        }
    }
    want.next().is_none()
}

impl Default for Redactor {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                keys: DEFAULT_KEYS.iter().map(|k| normalise(k)).collect(),
                key_patterns: Vec::new(),
                value_patterns: Vec::new(),
            }),
        }
    }
}

impl Redactor {
    /// A builder starting from the default keys.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// A redactor that changes nothing.
    pub fn none() -> Self {
        Self {
            inner: Arc::new(Inner {
                keys: Vec::new(),
                key_patterns: Vec::new(),
                value_patterns: Vec::new(),
            }),
        }
    }

    /// Whether values under `key` are redacted.
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.inner.keys.iter().any(|n| normalised_eq(key, n))
            || self.inner.key_patterns.iter().any(|p| p.is_match(key))
    }

    /// Whether this redactor can change anything.
    pub fn is_noop(&self) -> bool {
        self.inner.keys.is_empty()
            && self.inner.key_patterns.is_empty()
            && self.inner.value_patterns.is_empty()
    }

    /// Whether `value` holds anything this redactor would replace (a walk
    /// that copies nothing).
    pub fn finds_secret(&self, value: &Value) -> bool {
        match value {
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| self.is_secret_key(k) || self.finds_secret(v)),
            Value::Array(items) => items.iter().any(|v| self.finds_secret(v)),
            Value::String(s) => self.inner.value_patterns.iter().any(|p| p.is_match(s)),
            _ => false,
        }
    }

    /// A copy of `value` with secrets replaced.
    pub fn redact(&self, value: &Value) -> Value {
        let mut v = value.clone();
        self.redact_in_place(&mut v);
        v
    }

    /// Replaces secrets in `value` itself.
    pub fn redact_in_place(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.is_secret_key(k) {
                        *v = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_in_place(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_in_place(v)),
            Value::String(s) => {
                if let Some(clean) = self.redact_text(s) {
                    *s = clean;
                }
            }
            _ => {}
        }
    }

    /// `text` with value-pattern matches replaced, or `None` when none match.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for p in &self.inner.value_patterns {
            let current = out.as_deref().unwrap_or(text);
            if p.is_match(current) {
                out = Some(p.replace_all(current, REDACTED).into_owned());
            }
        }
        out
    }

    /// A copy of a string map with secret keys' values (and value-pattern
    /// matches) replaced.
    pub fn redact_map(&self, map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        map.iter()
            .map(|(k, v)| {
                let v = if self.is_secret_key(k) {
                    REDACTED.to_owned()
                } else {
                    self.redact_text(v).unwrap_or_else(|| v.clone())
                };
                (k.clone(), v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_without_case_or_separators_at_any_depth() {
        let r = Redactor::default();
        let v = json!({
            "Password": "p",
            "nested": { "list": [ { "apiKey": "k", "keep": 1 } ], "x-token": "t" },
            "authorization": { "scheme": "Bearer", "value": "abc" },
            "max_tokens": 10
        });
        let out = r.redact(&v);
        assert_eq!(out["Password"], REDACTED);
        assert_eq!(out["nested"]["list"][0]["apiKey"], REDACTED);
        assert_eq!(out["nested"]["list"][0]["keep"], 1);
        assert_eq!(out["authorization"], REDACTED);
        assert_eq!(out["max_tokens"], 10, "only whole keys match");
        assert_eq!(out["nested"]["x-token"], json!("t"), "x-token is not token");
    }

    #[test]
    fn patterns_and_validation() {
        let r = Redactor::builder()
            .key_pattern("(?i)secret")
            .value_pattern(r"sk-[A-Za-z0-9]{8,}")
            .build()
            .unwrap();
        let out = r.redact(&json!({ "client_secret": "x", "note": "use sk-abcdefgh123 now" }));
        assert_eq!(out["client_secret"], REDACTED);
        assert_eq!(out["note"], "use [REDACTED] now");
        let mut m = BTreeMap::new();
        m.insert("TOKEN".to_owned(), "abc".to_owned());
        assert_eq!(r.redact_map(&m)["TOKEN"], REDACTED);
        assert!(Redactor::builder().key_pattern("(").build().is_err());
        assert!(Redactor::builder().value_pattern(".*").build().is_err());
        assert!(Redactor::builder().key("__").build().is_err());
        assert!(Redactor::none().is_noop());
    }
}
