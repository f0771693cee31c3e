//! Key rules.

use crate::{Error, Result};

/// The longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 4096;

/// Checks a key: it must be non-empty and at most 4096 bytes.
///
/// # Errors
/// [`Error::InvalidKey`] naming the key and the rule it broke.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidKey {
            key: String::new(),
            reason: "keys must be non-empty strings".to_owned(),
        });
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKey {
            key: format!("{}...", &key[..key.floor_char_boundary(64)]),
            reason: format!(
                "keys must be at most {MAX_KEY_LEN} bytes, got {}",
                key.len()
            ),
        });
    }
    Ok(())
}

/// Decodes key bytes read back from a backend.
pub(crate) fn key_from_bytes(bytes: &[u8]) -> Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(Error::CorruptKey {
            hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_oversized_keys_are_rejected() {
        assert!(validate_key("a").is_ok());
        let e = validate_key("").unwrap_err();
        assert!(e.to_string().contains("non-empty"), "{e}");
        let long = "k".repeat(MAX_KEY_LEN + 1);
        let e = validate_key(&long).unwrap_err();
        assert!(e.to_string().contains("at most 4096"), "{e}");
    }

    #[test]
    fn non_utf8_keys_are_reported_in_hex() {
        let e = key_from_bytes(&[0xff, 0x01]).unwrap_err();
        assert!(e.to_string().contains("ff01"), "{e}");
    }
}
