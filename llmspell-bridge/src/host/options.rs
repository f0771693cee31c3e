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
    llmspell_core::params::keys::<T>()
}

/// Reads the option table `v` of a `what` (`"hook option"`,
/// `"event option"`) into `T`. `null` gives the defaults; an unknown key is
/// refused naming it, the closest valid key and the valid ones; a wrong
/// value names its key and what is valid.
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
    llmspell_core::params::options_with_keys(v, what, valid).map_err(|e| {
        let message = match &e {
            llmspell_core::Error::InvalidInput { message, .. } => message.clone(),
            other => other.to_string(),
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
        let e = read::<Opts>(&json!({ "capacty": 1 }), "test option").unwrap_err();
        assert_eq!(
            e.message(),
            "unknown test option `capacty` (did you mean `capacity`?); valid: name, capacity"
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
