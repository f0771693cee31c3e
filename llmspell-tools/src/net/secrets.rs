//! Credentials from environment variables that configuration names.

use std::sync::Arc;

use llmspell_core::{Error, Result};

/// The environment variables whose values network tools may send as
/// credentials (bearer tokens, passwords, API keys, webhook signing
/// secrets), as configured in `secret_env`. A call names the variable
/// (`"token_env": "GITHUB_TOKEN"`), never the value, so the secret stays
/// out of scripts, prompts, parameters and logs. Names match exactly.
///
/// ```
/// use llmspell_tools::net::SecretEnv;
///
/// let secrets = SecretEnv::new(["PATH"]);
/// assert!(secrets.read("PATH", "token_env").is_ok());
/// let err = secrets.read("HOME", "token_env").unwrap_err();
/// assert!(err.to_string().contains("secret_env"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretEnv {
    names: Arc<[String]>,
}

impl SecretEnv {
    /// Allows the variables `names`.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// The allowed names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The value of the variable `name`, which a call passed in `field`.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] when `name` is not allowed;
    /// [`Error::InvalidInput`] naming `field` when it is not set, empty or
    /// not Unicode.
    pub fn read(&self, name: &str, field: &str) -> Result<String> {
        if !self.names.iter().any(|n| n == name) {
            return Err(Error::SecurityViolation {
                message: if self.names.is_empty() {
                    format!(
                        "environment variable `{name}` refused: no secret variables are allowed \
                         (configure `secret_env`)"
                    )
                } else {
                    format!(
                        "environment variable `{name}` is not in `secret_env` [{}]",
                        self.names.join(", ")
                    )
                },
            });
        }
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Err(Error::invalid_input(
                field,
                format!("environment variable `{name}` is empty"),
            )),
            Err(std::env::VarError::NotPresent) => Err(Error::invalid_input(
                field,
                format!("environment variable `{name}` is not set"),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::invalid_input(
                field,
                format!("environment variable `{name}` is not valid Unicode"),
            )),
        }
    }
}
