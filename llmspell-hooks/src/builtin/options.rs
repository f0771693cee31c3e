//! Reading a configured hook's options from JSON: the placement options
//! apart from the hook's own, unknown keys refused with the valid ones and
//! the closest match, wrong values naming their key.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Splits `value` (an object, or null for none) into the keys in `take`
/// and the rest.
///
/// # Errors
/// When `value` is neither an object nor null.
pub(crate) fn split(what: &str, value: &Value, take: &[&str]) -> Result<(Value, Value)> {
    let map = match value {
        Value::Null => return Ok((Value::Null, Value::Null)),
        Value::Object(map) => map,
        other => {
            return Err(Error::InvalidConfig {
                field: "options",
                message: format!(
                    "the options of {what} must be a table, got {}",
                    llmspell_core::params::json_type(other)
                ),
            });
        }
    };
    let (mut taken, mut rest) = (Map::new(), Map::new());
    for (k, v) in map {
        let side = if take.contains(&k.as_str()) {
            &mut taken
        } else {
            &mut rest
        };
        side.insert(k.clone(), v.clone());
    }
    Ok((Value::Object(taken), Value::Object(rest)))
}

/// Refuses a key of `value` outside `own` (the struct's keys), naming it,
/// the closest valid key and every valid one (`own` and `also`, keys read
/// elsewhere).
///
/// # Errors
/// [`Error::InvalidConfig`] for the first unknown key.
pub(crate) fn check_keys(what: &str, value: &Value, own: &[&str], also: &[&str]) -> Result<()> {
    if let Value::Object(map) = value
        && let Some(k) = map.keys().find(|k| !own.contains(&k.as_str()))
    {
        let valid: Vec<&str> = own.iter().chain(also).copied().collect();
        return Err(Error::InvalidConfig {
            field: "options",
            message: format!(
                "unknown option `{k}` of {what}{}; valid: {}",
                llmspell_core::suggest::did_you_mean(k, valid.iter().copied()),
                valid.join(", ")
            ),
        });
    }
    Ok(())
}

/// Reads `T` from `value`, refusing keys that are neither `T`'s nor in
/// `also` (keys read elsewhere, listed as valid in the error).
///
/// # Errors
/// [`Error::InvalidConfig`] naming an unknown key (with the closest valid
/// one and every valid one) or a key whose value has the wrong type.
pub(crate) fn read<T: DeserializeOwned + Default>(
    what: &str,
    value: &Value,
    also: &[&str],
) -> Result<T> {
    check_keys(what, value, llmspell_core::params::keys::<T>(), also)?;
    llmspell_core::params::options(value, &format!("option of {what}")).map_err(|e| {
        let message = match e {
            llmspell_core::Error::InvalidInput { message, .. } => message,
            other => other.to_string(),
        };
        Error::InvalidConfig {
            field: "options",
            message,
        }
    })
}
