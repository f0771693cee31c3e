//! Correlation ids: the id that ties together everything one operation
//! causes.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::{Error, Result};

/// The rule every correlation id follows, quoted in error messages.
const RULE: &str = CorrelationId::RULE;

/// The id of an operation (a correlation id) or of the operation that
/// started it (a parent id).
///
/// The runtime generates UUID v7 ids ([`CorrelationId::new_v7`]); callers
/// may choose their own: any non-empty string of at most
/// [`MAX_LEN`](CorrelationId::MAX_LEN) bytes without control characters
/// (`"req-42"`, `"order/7"`, an upstream trace id).
///
/// A UUID id is kept as its 16 bytes, so generated ids cost no allocation;
/// chosen text is kept shared (cloning is a reference count increment).
/// An id is always seen as a string and comes back exactly as given: its
/// [`Display`](fmt::Display) form, its JSON form (a plain string) and the
/// string scripts see are the same text. A string that is a UUID in the
/// canonical form (lower-case, hyphenated, as the runtime writes them) is
/// kept as a UUID; any other string, including a UUID written in upper case
/// or without hyphens, is kept as text, so two ids are equal exactly when
/// their strings are.
///
/// ```
/// use llmspell_core::CorrelationId;
///
/// let chosen: CorrelationId = "req-42".parse()?;
/// assert_eq!(chosen.to_string(), "req-42");
/// assert!(chosen.as_uuid().is_none());
///
/// let generated = CorrelationId::new_v7();
/// let again: CorrelationId = generated.to_string().parse()?;
/// assert_eq!(again, generated);
/// assert!(again.as_uuid().is_some());
///
/// let err = CorrelationId::new("").unwrap_err();
/// assert!(err.to_string().contains("`correlation_id`"));
/// # Ok::<(), llmspell_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CorrelationId(Repr);

/// Invariant: `Text` never holds a canonical UUID string (those are
/// `Uuid`), and always holds a valid id. So derived equality and hashing
/// agree with equality of the strings.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Uuid(Uuid),
    Text(Arc<str>),
}

/// A stack buffer for [`CorrelationId::encode`].
pub type EncodeBuffer = [u8; CorrelationId::UUID_LEN];

impl CorrelationId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The length of a UUID id's text (`8-4-4-4-12` hex digits).
    pub const UUID_LEN: usize = 36;

    /// What a valid id is, in the words error messages use.
    pub const RULE: &'static str =
        "a correlation id is any non-empty string of at most 128 bytes without control characters";

    /// A fresh, time-ordered UUID v7 id (see [`crate::clock`]).
    pub fn new_v7() -> Self {
        CorrelationId(Repr::Uuid(crate::clock::new_v7()))
    }

    /// Validates `text` as an id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for the field `correlation_id` when `text` is
    /// empty, longer than [`MAX_LEN`](CorrelationId::MAX_LEN) bytes or
    /// contains a control character; the message says what is valid.
    pub fn new(text: impl AsRef<str>) -> Result<Self> {
        Self::parse_field("correlation_id", text.as_ref())
    }

    /// As [`new`](CorrelationId::new), naming `field` (`"parent_id"`,
    /// `"options.correlation_id"`, ...) in the error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for `field`, as for [`new`](CorrelationId::new).
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        if let Some(id) = canonical_uuid(text) {
            return Ok(CorrelationId(Repr::Uuid(id)));
        }
        validate(text).map_err(|message| Error::invalid_input(field, message))?;
        Ok(CorrelationId(Repr::Text(Arc::from(text))))
    }

    /// The UUID, when the id is one.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match &self.0 {
            Repr::Uuid(id) => Some(*id),
            Repr::Text(_) => None,
        }
    }

    /// The text, when the id is not a UUID.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Uuid(_) => None,
            Repr::Text(text) => Some(text),
        }
    }

    /// The id's string, formatting a UUID into `buf` rather than allocating.
    ///
    /// ```
    /// use llmspell_core::CorrelationId;
    /// let id = CorrelationId::new("req-42")?;
    /// let mut buf = [0; CorrelationId::UUID_LEN];
    /// assert_eq!(id.encode(&mut buf), "req-42");
    /// # Ok::<(), llmspell_core::Error>(())
    /// ```
    pub fn encode<'a>(&'a self, buf: &'a mut EncodeBuffer) -> &'a str {
        match &self.0 {
            Repr::Uuid(id) => id.hyphenated().encode_lower(buf),
            Repr::Text(text) => text,
        }
    }
}

/// The UUID `s` spells in canonical form (36 characters, lower-case hex,
/// hyphens at 8, 13, 18 and 23), or `None`.
fn canonical_uuid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != CorrelationId::UUID_LEN {
        return None;
    }
    let canonical = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
    });
    if canonical {
        Uuid::try_parse_ascii(b).ok()
    } else {
        None
    }
}

/// Checks a text id; the error is the message for the offending field.
fn validate(text: &str) -> std::result::Result<(), String> {
    if text.is_empty() {
        return Err(format!("must not be empty; {RULE}"));
    }
    if text.len() > CorrelationId::MAX_LEN {
        return Err(format!("is {} bytes long; {RULE}", text.len()));
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| c.is_control()) {
        return Err(format!(
            "contains the control character {c:?} at byte {at}; {RULE}"
        ));
    }
    Ok(())
}

impl From<Uuid> for CorrelationId {
    fn from(id: Uuid) -> Self {
        CorrelationId(Repr::Uuid(id))
    }
}

impl FromStr for CorrelationId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CorrelationId::new(s)
    }
}

impl TryFrom<&str> for CorrelationId {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        CorrelationId::new(s)
    }
}

impl TryFrom<String> for CorrelationId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        CorrelationId::new(s)
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; CorrelationId::UUID_LEN];
        f.write_str(self.encode(&mut buf))
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; CorrelationId::UUID_LEN];
        write!(f, "CorrelationId({:?})", self.encode(&mut buf))
    }
}

impl PartialEq<str> for CorrelationId {
    fn eq(&self, other: &str) -> bool {
        let mut buf = [0; CorrelationId::UUID_LEN];
        self.encode(&mut buf) == other
    }
}

impl PartialEq<&str> for CorrelationId {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<Uuid> for CorrelationId {
    fn eq(&self, other: &Uuid) -> bool {
        self.as_uuid() == Some(*other)
    }
}

impl Serialize for CorrelationId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = [0; CorrelationId::UUID_LEN];
        s.serialize_str(self.encode(&mut buf))
    }
}

impl<'de> Deserialize<'de> for CorrelationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = CorrelationId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a correlation id (a non-empty string of at most 128 bytes without control \
                     characters)",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<CorrelationId, E> {
                if let Some(id) = canonical_uuid(v) {
                    return Ok(CorrelationId(Repr::Uuid(id)));
                }
                validate(v).map_err(|m| E::custom(format!("invalid correlation id: {m}")))?;
                Ok(CorrelationId(Repr::Text(Arc::from(v))))
            }
        }

        d.deserialize_str(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn message(text: &str) -> String {
        let e = CorrelationId::new(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let message = e.to_string();
        assert!(message.contains("`correlation_id`"), "{message}");
        assert!(message.contains("at most 128 bytes"), "{message}");
        message
    }

    #[test]
    fn accepts_any_short_string() {
        for text in ["req-42", "a", "order/7", "trace 9", "héllo", "%2F", "../x"] {
            let id = CorrelationId::new(text).unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(id.as_text(), Some(text));
            assert_eq!(id, text);
        }
    }

    #[test]
    fn empty_is_refused() {
        assert!(message("").contains("must not be empty"));
    }

    #[test]
    fn exactly_128_bytes_is_accepted() {
        let text = "x".repeat(128);
        assert_eq!(CorrelationId::new(&text).unwrap().to_string(), text);
        // Multi-byte characters count in bytes: 64 two-byte characters.
        let text = "é".repeat(64);
        assert!(CorrelationId::new(&text).is_ok());
    }

    #[test]
    fn over_128_bytes_is_refused() {
        let m = message(&"x".repeat(129));
        assert!(m.contains("is 129 bytes long"), "{m}");
        assert!(CorrelationId::new("é".repeat(65)).is_err());
    }

    #[test]
    fn control_characters_are_refused() {
        for text in ["a\nb", "\t", "x\u{0}", "del\u{7f}", "c1\u{85}"] {
            assert!(message(text).contains("control character"), "{text:?}");
        }
    }

    #[test]
    fn the_field_is_named_in_errors() {
        let e = CorrelationId::parse_field("parent_id", "").unwrap_err();
        assert!(e.to_string().contains("`parent_id`"), "{e}");
    }

    #[test]
    fn uuid_round_trip_keeps_the_uuid_variant() {
        let id = CorrelationId::new_v7();
        let uuid = id.as_uuid().unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        assert_eq!(id, uuid);
        assert_eq!(CorrelationId::from(uuid), id);
        let text = id.to_string();
        assert_eq!(text, uuid.hyphenated().to_string());
        let parsed = CorrelationId::new(&text).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.as_uuid(), Some(uuid));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        let back: CorrelationId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.as_uuid(), Some(uuid));
    }

    #[test]
    fn text_round_trip() {
        let id = CorrelationId::new("req-42").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"req-42\"");
        let back: CorrelationId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.as_text(), Some("req-42"));
        let parsed: CorrelationId = "req-42".parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(CorrelationId::try_from(String::from("req-42")).unwrap(), id);
    }

    #[test]
    fn non_canonical_uuid_text_stays_text_and_comes_back_unchanged() {
        let uuid = Uuid::now_v7();
        for text in [
            uuid.hyphenated().to_string().to_uppercase(),
            uuid.simple().to_string(),
            uuid.braced().to_string(),
        ] {
            let id = CorrelationId::new(&text).unwrap();
            assert_eq!(id.as_uuid(), None, "{text}");
            assert_eq!(id.to_string(), text);
            assert_ne!(id, CorrelationId::from(uuid));
            let back: CorrelationId =
                serde_json::from_str(&serde_json::to_string(&id).unwrap()).unwrap();
            assert_eq!(back, id);
        }
        // Almost canonical, but not hex.
        let id = CorrelationId::new("0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeeg").unwrap();
        assert!(id.as_uuid().is_none());
    }

    #[test]
    fn json_refuses_invalid_ids_and_non_strings() {
        for bad in ["\"\"", "42", "null", "{}"] {
            assert!(serde_json::from_str::<CorrelationId>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<CorrelationId>(&format!("\"{}\"", "x".repeat(129)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid correlation id"), "{e}");
        // Events written before ids could be text: a plain UUID string.
        let old: Option<CorrelationId> =
            serde_json::from_str("\"0190d7a4-0000-7000-8000-00000000000a\"").unwrap();
        assert!(old.and_then(|id| id.as_uuid()).is_some());
    }

    #[test]
    fn stays_small() {
        assert_eq!(std::mem::size_of::<CorrelationId>(), 24);
        assert_eq!(std::mem::size_of::<Option<CorrelationId>>(), 24);
    }

    #[test]
    fn debug_shows_the_string() {
        let id = CorrelationId::new("req-42").unwrap();
        assert_eq!(format!("{id:?}"), "CorrelationId(\"req-42\")");
    }
}
