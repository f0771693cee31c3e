//! Script option tables read into typed structs.
//!
//! Each table a script passes (`Event.publish` options, `Hook.register`
//! options, the `Hook.list` filter, `Event.subscribe` options, the
//! `Tool.register` spec) has a struct with `deny_unknown_fields`. The valid
//! keys an error lists are that struct's fields, so the message cannot
//! drift from what is accepted.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::HostError;

/// The keys `T` accepts, in declaration order.
pub(crate) fn keys<T: DeserializeOwned>() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<T>()
}

/// Reads the option table `v` of a `what` (`"hook option"`,
/// `"event option"`) into `T`. `null` gives the defaults; an unknown key is
/// refused naming it and the valid ones; a wrong value names its key and
/// what is valid.
///
/// # Errors
/// `invalid_input`: ``unknown hook option `colour`; valid: priority, …``,
/// ``hook option `name`: expected a string, got number``, or a value that
/// is not a table.
pub(crate) fn read<T: DeserializeOwned + Default>(v: &Value, what: &str) -> Result<T, HostError> {
    read_keys(v, what, keys::<T>())
}

/// [`read`], accepting only the keys `valid` (some of `T`'s: a key valid
/// in one call and not another).
///
/// # Errors
/// As [`read`].
pub(crate) fn read_keys<T: DeserializeOwned + Default>(
    v: &Value,
    what: &str,
    valid: &[&str],
) -> Result<T, HostError> {
    let o = match v {
        Value::Null => return Ok(T::default()),
        Value::Object(o) => o,
        other => {
            return Err(format!(
                "{what}s must be a table, got {}",
                llmspell_core::params::json_type(other)
            )
            .into());
        }
    };
    if let Some(key) = o.keys().find(|k| !valid.contains(&k.as_str())) {
        return Err(format!("unknown {what} `{key}`; valid: {}", valid.join(", ")).into());
    }
    llmspell_core::params::parse(v).map_err(|e| {
        let message = match &e {
            llmspell_core::Error::InvalidInput { field, message } => {
                format!("{what} `{field}`: {message}")
            }
            other => format!("{what}s: {other}"),
        };
        HostError::typed(e, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Opts {
        name: Option<String>,
        capacity: Option<u64>,
    }

    #[test]
    fn the_valid_keys_come_from_the_struct() {
        assert_eq!(keys::<Opts>(), ["name", "capacity"]);
        let e = read::<Opts>(&json!({ "colour": 1 }), "test option").unwrap_err();
        assert_eq!(
            e.message(),
            "unknown test option `colour`; valid: name, capacity"
        );
        assert_eq!(e.kind(), "invalid_input");
    }

    #[test]
    fn a_wrong_value_names_its_key() {
        let e = read::<Opts>(&json!({ "capacity": "big" }), "test option").unwrap_err();
        assert_eq!(
            e.message(),
            "test option `capacity`: expected a non-negative integer, got string"
        );
        assert_eq!(e.to_json()["field"], "capacity");
        let e = read::<Opts>(&json!([1]), "test option").unwrap_err();
        assert_eq!(e.message(), "test options must be a table, got array");
    }

    #[test]
    fn null_gives_the_defaults() {
        assert_eq!(read::<Opts>(&Value::Null, "x").unwrap(), Opts::default());
        let o: Opts = read(&json!({ "name": "a" }), "x").unwrap();
        assert_eq!(o.name.as_deref(), Some("a"));
    }
}
