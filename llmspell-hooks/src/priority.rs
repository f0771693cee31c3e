//! Hook priority: higher runs first.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The order hooks of one point run in: higher first; equal priorities run
/// in registration order. Any integer is valid; the named levels are
/// `highest` (1000), `high` (100), `normal` (0), `low` (-100) and `lowest`
/// (-1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Priority(pub i32);

impl Priority {
    /// 1000.
    pub const HIGHEST: Priority = Priority(1000);
    /// 100.
    pub const HIGH: Priority = Priority(100);
    /// 0 (the default).
    pub const NORMAL: Priority = Priority(0);
    /// -100.
    pub const LOW: Priority = Priority(-100);
    /// -1000.
    pub const LOWEST: Priority = Priority(-1000);

    /// The named level, if the value is one.
    pub fn level_name(self) -> Option<&'static str> {
        match self {
            Priority::HIGHEST => Some("highest"),
            Priority::HIGH => Some("high"),
            Priority::NORMAL => Some("normal"),
            Priority::LOW => Some("low"),
            Priority::LOWEST => Some("lowest"),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl FromStr for Priority {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "highest" => Ok(Priority::HIGHEST),
            "high" => Ok(Priority::HIGH),
            "normal" | "medium" => Ok(Priority::NORMAL),
            "low" => Ok(Priority::LOW),
            "lowest" => Ok(Priority::LOWEST),
            other => other
                .parse::<i32>()
                .map(Priority)
                .map_err(|_| Error::InvalidPriority {
                    value: s.to_owned(),
                }),
        }
    }
}

impl Serialize for Priority {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.level_name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_i32(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Int(i32),
            Name(String),
        }
        match Repr::deserialize(d)? {
            Repr::Int(i) => Ok(Priority(i)),
            Repr::Name(n) => n.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_integers() {
        assert_eq!("high".parse::<Priority>().unwrap(), Priority::HIGH);
        assert_eq!("-5".parse::<Priority>().unwrap(), Priority(-5));
        assert!(Priority::HIGHEST > Priority::HIGH && Priority::LOW > Priority::LOWEST);
        let e = "urgent".parse::<Priority>().unwrap_err().to_string();
        assert!(
            e.contains("urgent") && e.contains("highest, high, normal, low, lowest"),
            "{e}"
        );
        assert_eq!(serde_json::to_string(&Priority::LOW).unwrap(), "\"low\"");
        assert_eq!(serde_json::from_str::<Priority>("7").unwrap(), Priority(7));
    }
}
