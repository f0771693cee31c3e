//! Reading a hook's options from JSON: unknown keys are refused with the
//! valid ones and the closest match, type errors name the key.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Result};

/// An options struct read from a JSON object. `KEYS` lists its fields in
/// the order the documentation gives them; a test per struct checks that
/// they are exactly the fields serde accepts.
pub trait Options: DeserializeOwned + Default {
    /// The valid keys.
    const KEYS: &'static [&'static str];
}

/// The closest of `valid` to `key`, when it is close enough to be a likely
/// typo.
pub fn closest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(key, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}

/// The error for an unknown key of `what`: names it, the closest valid key
/// and every valid key.
pub fn unknown_key(what: &str, key: &str, valid: &[&str]) -> Error {
    let hint = closest(key, valid)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    Error::InvalidConfig {
        field: "options",
        message: format!(
            "unknown option `{key}` for {what}{hint}; valid options: {}",
            valid.join(", ")
        ),
    }
}

/// Splits `value` (an object, or null for none) into the keys in `take`
/// and the rest.
///
/// # Errors
/// When `value` is neither an object nor null.
pub fn split(
    what: &str,
    value: &Value,
    take: &[&str],
) -> Result<(
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
)> {
    let map = match value {
        Value::Null => return Ok(Default::default()),
        Value::Object(map) => map,
        other => {
            return Err(Error::InvalidConfig {
                field: "options",
                message: format!("the options of {what} must be a table/object, got {other}"),
            });
        }
    };
    let (mut taken, mut rest) = (serde_json::Map::new(), serde_json::Map::new());
    for (k, v) in map {
        if take.contains(&k.as_str()) {
            taken.insert(k.clone(), v.clone());
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    Ok((taken, rest))
}

/// Reads `T` from `map`, refusing keys outside `T::KEYS` and `also` (keys
/// read elsewhere, listed as valid in the error).
///
/// # Errors
/// [`Error::InvalidConfig`] naming an unknown key (with the closest valid
/// one) or a key whose value has the wrong type.
pub fn read<T: Options>(
    what: &str,
    map: serde_json::Map<String, Value>,
    also: &[&str],
) -> Result<T> {
    let valid: Vec<&str> = T::KEYS.iter().chain(also).copied().collect();
    if let Some(k) = map.keys().find(|k| !T::KEYS.contains(&k.as_str())) {
        return Err(unknown_key(what, k, &valid));
    }
    if map.is_empty() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        Error::InvalidConfig {
            field: "options",
            message: format!("option `{path}` of {what}: {}", e.inner()),
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `T::KEYS` are exactly the fields serde accepts: each
    /// listed key is known to serde, and serde's own list of expected
    /// fields has no other.
    pub(crate) fn keys_match_fields<T: Options + std::fmt::Debug>() {
        let err = serde_json::from_value::<T>(serde_json::json!({ "\u{1}unknown": 1 }))
            .expect_err("an unknown field is refused")
            .to_string();
        for key in T::KEYS {
            assert!(
                err.contains(&format!("`{key}`")),
                "{key} not a field: {err}"
            );
        }
        let listed = err.matches('`').count() / 2 - 1;
        assert_eq!(listed, T::KEYS.len(), "fields not in KEYS: {err}");
    }

    #[test]
    fn closest_finds_typos_only() {
        let valid = ["ttl_ms", "max_entries", "key_prefix"];
        assert_eq!(closest("ttl", &valid), Some("ttl_ms"));
        assert_eq!(closest("max_entry", &valid), Some("max_entries"));
        assert_eq!(closest("colour", &valid), None);
    }

    #[test]
    fn unknown_keys_are_named_with_the_valid_ones() {
        let e = unknown_key("the caching hook", "ttl", &["ttl_ms", "points"]).to_string();
        assert!(e.contains("`ttl`"), "{e}");
        assert!(e.contains("did you mean `ttl_ms`"), "{e}");
        assert!(e.contains("ttl_ms, points"), "{e}");
    }
}
