//! The tool contract.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ComponentMetadata, ExecutionContext, Result};

/// How much trust a tool needs from its caller.
///
/// Levels are ordered: a caller allowed `Restricted` may run `Safe` and
/// `Restricted` tools but not `Privileged` ones.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SecurityLevel {
    /// No side effects outside the process (calculator, hashing, ...).
    #[default]
    Safe,
    /// Confined side effects (files under configured roots, allow-listed hosts).
    Restricted,
    /// Runs processes or reads the system; needs explicit trust.
    Privileged,
}

impl SecurityLevel {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Safe => "safe",
            SecurityLevel::Restricted => "restricted",
            SecurityLevel::Privileged => "privileged",
        }
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityLevel {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "safe" => Ok(SecurityLevel::Safe),
            "restricted" => Ok(SecurityLevel::Restricted),
            "privileged" => Ok(SecurityLevel::Privileged),
            other => Err(crate::Error::invalid_input(
                "security_level",
                format!("unknown security level {other:?}; valid: safe, restricted, privileged"),
            )),
        }
    }
}

/// The family a tool belongs to, for listings and search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ToolCategory {
    /// General-purpose helpers.
    #[default]
    Utility,
    /// Data processing (JSON, CSV, ...).
    Data,
    /// File-system access.
    Filesystem,
    /// Host system access (processes, environment, monitoring).
    System,
    /// Network access.
    Web,
    /// Images, audio and video.
    Media,
    /// Messages to people (email).
    Communication,
    /// Databases (SQLite, PostgreSQL).
    Database,
    /// Tools defined by scripts at runtime.
    Script,
}

impl ToolCategory {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolCategory::Utility => "utility",
            ToolCategory::Data => "data",
            ToolCategory::Filesystem => "filesystem",
            ToolCategory::System => "system",
            ToolCategory::Web => "web",
            ToolCategory::Media => "media",
            ToolCategory::Communication => "communication",
            ToolCategory::Database => "database",
            ToolCategory::Script => "script",
        }
    }
}

impl fmt::Display for ToolCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tool: a named operation that takes JSON parameters and returns JSON.
///
/// Implementers owe [`metadata`](Tool::metadata) and [`execute`](Tool::execute);
/// the rest is defaulted. `execute` must not panic on bad input: it returns
/// [`crate::Error::InvalidInput`] naming the field. Callers normally go through
/// the hooked executor of `llmspell-tools`, which validates `parameters`
/// against [`parameters_schema`](Tool::parameters_schema) first.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Identity and description.
    fn metadata(&self) -> &ComponentMetadata;

    /// Runs the tool.
    ///
    /// # Errors
    /// Whatever the tool reports; bad parameters are [`crate::Error::InvalidInput`].
    async fn execute(&self, params: Value, ctx: &ExecutionContext) -> Result<Value>;

    /// The tool's family.
    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    /// The trust a caller needs.
    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Safe
    }

    /// The parameters as a JSON Schema (default: any object).
    fn parameters_schema(&self) -> Value {
        json!({ "type": "object" })
    }

    /// The output shape as a JSON Schema (default: any object).
    fn output_schema(&self) -> Value {
        json!({ "type": "object" })
    }

    /// Example parameters, each a complete call the tool accepts (default:
    /// none). They conform to [`parameters_schema`](Tool::parameters_schema)
    /// and pass [`check_params`](Tool::check_params).
    fn examples(&self) -> Vec<Value> {
        Vec::new()
    }

    /// Reads `params` with the tool's own parser, as
    /// [`execute`](Tool::execute) would, without running the tool.
    ///
    /// The default accepts anything: a tool without a typed parser checks its
    /// parameters only when it runs.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the field, as `execute` reports it.
    fn check_params(&self, params: &Value) -> Result<()> {
        let _ = params;
        Ok(())
    }
}

#[async_trait]
impl<T: Tool + ?Sized> Tool for std::sync::Arc<T> {
    fn metadata(&self) -> &ComponentMetadata {
        (**self).metadata()
    }
    async fn execute(&self, params: Value, ctx: &ExecutionContext) -> Result<Value> {
        (**self).execute(params, ctx).await
    }
    fn category(&self) -> ToolCategory {
        (**self).category()
    }
    fn security_level(&self) -> SecurityLevel {
        (**self).security_level()
    }
    fn parameters_schema(&self) -> Value {
        (**self).parameters_schema()
    }
    fn output_schema(&self) -> Value {
        (**self).output_schema()
    }
    fn examples(&self) -> Vec<Value> {
        (**self).examples()
    }
    fn check_params(&self, params: &Value) -> Result<()> {
        (**self).check_params(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_levels_are_ordered() {
        assert!(SecurityLevel::Safe < SecurityLevel::Restricted);
        assert!(SecurityLevel::Restricted < SecurityLevel::Privileged);
        assert_eq!(
            "privileged".parse::<SecurityLevel>().unwrap(),
            SecurityLevel::Privileged
        );
        assert!("root".parse::<SecurityLevel>().is_err());
    }
}
