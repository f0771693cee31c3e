//! The settings of a command hook.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The settings of a [`CommandHook`](super::CommandHook): the program and the limits it runs
/// under. The serde names are the option names of configuration files and
/// scripts; unknown keys are refused.
///
/// ```
/// use llmspell_hooks::CommandHookConfig;
///
/// let config: CommandHookConfig = serde_json::from_value(serde_json::json!({
///     "argv": ["python3", "policy.py"],
///     "timeout_ms": 2000,
///     "set_env": { "POLICY_MODE": "strict" },
/// }))?;
/// assert_eq!(config.env, CommandHookConfig::DEFAULT_ENV);
/// assert_eq!(config.max_stdout_bytes, CommandHookConfig::DEFAULT_MAX_STDOUT_BYTES);
///
/// let typo = serde_json::from_value::<CommandHookConfig>(serde_json::json!({
///     "argv": ["policy"], "timeout": 10,
/// }));
/// assert!(typo.unwrap_err().to_string().contains("unknown field `timeout`"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandHookConfig {
    /// The program and its arguments. The program is a path or a name
    /// looked up in `PATH`; no shell is involved, so nothing is expanded or
    /// split. Required, and the program must not be empty.
    pub argv: Vec<String>,
    /// How long the program may run, in milliseconds, before its process
    /// group is killed and the call fails. Default
    /// [`DEFAULT_TIMEOUT_MS`](Self::DEFAULT_TIMEOUT_MS); at least 1.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The names of the host's environment variables the program gets
    /// (those unset in the host stay unset); every other variable is
    /// withheld. Giving a list replaces the default
    /// [`DEFAULT_ENV`](Self::DEFAULT_ENV).
    #[serde(default = "default_env")]
    pub env: Vec<String>,
    /// Variables set to fixed values for the program, after (and over)
    /// those passed through by `env`. Default none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set_env: BTreeMap<String, String>,
    /// The program's working directory. Default: the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// The most the program may write to stdout, in bytes; more kills it
    /// and fails the call. Default
    /// [`DEFAULT_MAX_STDOUT_BYTES`](Self::DEFAULT_MAX_STDOUT_BYTES); at
    /// least 1.
    #[serde(default = "default_max_stdout_bytes")]
    pub max_stdout_bytes: usize,
    /// How much of stderr is kept, in bytes (for cancel reasons and error
    /// messages); the rest is read and discarded. Default
    /// [`DEFAULT_MAX_STDERR_BYTES`](Self::DEFAULT_MAX_STDERR_BYTES); at
    /// least 1.
    #[serde(default = "default_max_stderr_bytes")]
    pub max_stderr_bytes: usize,
}

fn default_timeout_ms() -> u64 {
    CommandHookConfig::DEFAULT_TIMEOUT_MS
}

fn default_env() -> Vec<String> {
    CommandHookConfig::DEFAULT_ENV
        .iter()
        .map(|&name| name.to_owned())
        .collect()
}

fn default_max_stdout_bytes() -> usize {
    CommandHookConfig::DEFAULT_MAX_STDOUT_BYTES
}

fn default_max_stderr_bytes() -> usize {
    CommandHookConfig::DEFAULT_MAX_STDERR_BYTES
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidConfig {
        field,
        message: message.into(),
    }
}

impl CommandHookConfig {
    /// The default `timeout_ms`: 5 seconds.
    pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
    /// The default `env`: the variables most programs need to find their
    /// interpreter and speak the host's language and time zone.
    pub const DEFAULT_ENV: [&'static str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
    /// The default `max_stdout_bytes`: 1 MiB.
    pub const DEFAULT_MAX_STDOUT_BYTES: usize = 1 << 20;
    /// The default `max_stderr_bytes`: 64 KiB.
    pub const DEFAULT_MAX_STDERR_BYTES: usize = 64 << 10;

    /// Settings for `argv` with every default.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            env: default_env(),
            set_env: BTreeMap::new(),
            cwd: None,
            max_stdout_bytes: Self::DEFAULT_MAX_STDOUT_BYTES,
            max_stderr_bytes: Self::DEFAULT_MAX_STDERR_BYTES,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting and what is valid: an
    /// empty `argv` or program, a NUL byte in an argument, a zero
    /// `timeout_ms`, `max_stdout_bytes` or `max_stderr_bytes`, a variable
    /// name that is empty or holds `=` or NUL, a value holding NUL.
    pub fn validate(&self) -> Result<()> {
        match self.argv.first() {
            None => {
                return Err(invalid(
                    "argv",
                    concat!(
                        "is empty; valid: the program followed by its arguments, ",
                        "e.g. [\"python3\", \"policy.py\"] (no shell is used)"
                    ),
                ));
            }
            Some(program) if program.is_empty() => {
                return Err(invalid(
                    "argv",
                    "names an empty program; valid: a program name or path first",
                ));
            }
            Some(_) => {}
        }
        if let Some(i) = self.argv.iter().position(|a| a.contains('\0')) {
            return Err(invalid(
                "argv",
                format!("argument {i} holds a NUL byte, which a program cannot receive"),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(invalid(
                "timeout_ms",
                format!(
                    "is 0; valid: at least 1 millisecond (default {})",
                    Self::DEFAULT_TIMEOUT_MS
                ),
            ));
        }
        if self.max_stdout_bytes == 0 {
            return Err(invalid(
                "max_stdout_bytes",
                format!(
                    "is 0; valid: at least 1 byte (default {})",
                    Self::DEFAULT_MAX_STDOUT_BYTES
                ),
            ));
        }
        if self.max_stderr_bytes == 0 {
            return Err(invalid(
                "max_stderr_bytes",
                format!(
                    "is 0; valid: at least 1 byte (default {})",
                    Self::DEFAULT_MAX_STDERR_BYTES
                ),
            ));
        }
        let bad_name = |name: &str| name.is_empty() || name.contains(['=', '\0']);
        if let Some(name) = self.env.iter().find(|n| bad_name(n)) {
            return Err(invalid(
                "env",
                format!(
                    "{name:?} is not a variable name; valid: a non-empty name without `=` or NUL"
                ),
            ));
        }
        for (name, value) in &self.set_env {
            if bad_name(name) {
                return Err(invalid(
                    "set_env",
                    format!(
                        "{name:?} is not a variable name; valid: a non-empty name without `=` or NUL"
                    ),
                ));
            }
            if value.contains('\0') {
                return Err(invalid(
                    "set_env",
                    format!("the value of {name} holds a NUL byte"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::CommandHook;

    #[test]
    fn settings_are_checked_naming_the_field() {
        let check = |config: CommandHookConfig| match CommandHook::new(config) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        let base = CommandHookConfig::new(["policy"]);
        assert_eq!(check(base.clone()), "");
        assert!(
            check(CommandHookConfig::new(Vec::<String>::new()))
                .starts_with("invalid argv: is empty")
        );
        assert!(check(CommandHookConfig::new([""])).contains("empty program"));
        assert!(check(CommandHookConfig::new(["p", "a\0b"])).contains("argument 1 holds a NUL"));
        let e = check(CommandHookConfig {
            timeout_ms: 0,
            ..base.clone()
        });
        assert_eq!(
            e,
            "invalid timeout_ms: is 0; valid: at least 1 millisecond (default 5000)"
        );
        let e = check(CommandHookConfig {
            max_stdout_bytes: 0,
            ..base.clone()
        });
        assert!(e.starts_with("invalid max_stdout_bytes: is 0"), "{e}");
        let e = check(CommandHookConfig {
            max_stderr_bytes: 0,
            ..base.clone()
        });
        assert!(e.starts_with("invalid max_stderr_bytes: is 0"), "{e}");
        let e = check(CommandHookConfig {
            env: vec!["A=B".into()],
            ..base.clone()
        });
        assert!(
            e.starts_with("invalid env: \"A=B\" is not a variable name"),
            "{e}"
        );
        let e = check(CommandHookConfig {
            set_env: BTreeMap::from([(String::new(), "x".into())]),
            ..base
        });
        assert!(e.starts_with("invalid set_env"), "{e}");
    }

    #[test]
    fn settings_read_from_their_documented_names_with_defaults() {
        let config: CommandHookConfig =
            serde_json::from_value(json!({ "argv": ["./hooks/policy.py", "--strict"] })).unwrap();
        assert_eq!(
            config,
            CommandHookConfig::new(["./hooks/policy.py", "--strict"])
        );
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            json!({
                "argv": ["./hooks/policy.py", "--strict"],
                "timeout_ms": 5000,
                "env": ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"],
                "max_stdout_bytes": 1_048_576,
                "max_stderr_bytes": 65_536,
            })
        );
        let e =
            serde_json::from_value::<CommandHookConfig>(json!({ "timeout_ms": 1 })).unwrap_err();
        assert!(e.to_string().contains("missing field `argv`"), "{e}");
    }
}
