//! The language an operation or event originated from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The language that started an operation or published an event.
///
/// Serialises as a lowercase string (`"lua"`, `"javascript"`, `"python"`,
/// `"native"`), the same form scripts see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Language {
    /// Rust code in the host process.
    #[default]
    Native,
    /// A Lua script.
    Lua,
    /// A JavaScript script.
    Javascript,
    /// A Python script.
    Python,
    /// A remote peer reached over the network.
    Remote,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: [Language; 5] = [
        Language::Native,
        Language::Lua,
        Language::Javascript,
        Language::Python,
        Language::Remote,
    ];

    /// The canonical lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Native => "native",
            Language::Lua => "lua",
            Language::Javascript => "javascript",
            Language::Python => "python",
            Language::Remote => "remote",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = crate::Error;

    /// Parses a language name; `js` is accepted for `javascript`, `rust` for `native`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "native" | "rust" => Ok(Language::Native),
            "lua" => Ok(Language::Lua),
            "javascript" | "js" => Ok(Language::Javascript),
            "python" | "py" => Ok(Language::Python),
            "remote" => Ok(Language::Remote),
            _ => Err(crate::Error::invalid_input(
                "language",
                format!("unknown language {s:?}; valid: native, lua, javascript, python, remote"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_string_and_json() {
        for lang in Language::ALL {
            assert_eq!(lang.as_str().parse::<Language>().unwrap(), lang);
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.as_str()));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), lang);
        }
        assert_eq!("js".parse::<Language>().unwrap(), Language::Javascript);
    }

    #[test]
    fn unknown_language_names_valid_ones() {
        let err = "cobol".parse::<Language>().unwrap_err().to_string();
        assert!(err.contains("cobol") && err.contains("javascript"), "{err}");
    }
}
