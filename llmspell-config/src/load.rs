//! Reading `llmspell.toml`: parsing, checking every hook entry, and errors
//! that point at file:line:column with the valid keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llmspell_core::suggest::did_you_mean;
use llmspell_hooks::builtin::{BUILTIN_NAMES, BuiltinEnv, BuiltinHook, command_hook};
use serde_json::Value;

use crate::error::{ConfigError, Location};
use crate::schema::FileConfig;

/// The file name looked for in the working directory.
pub const FILE_NAME: &str = "llmspell.toml";

/// What a `[[hooks]]` entry declares.
#[derive(Debug, Clone, PartialEq)]
pub enum HookKind {
    /// A built-in hook by name (`builtin = "caching"`).
    Builtin(String),
    /// A command hook (`command = ["python3", "policy.py"]`), run in the
    /// file's directory unless the entry sets `cwd`.
    Command(Vec<String>),
    /// A script file whose code registers hooks (`script =
    /// "hooks/audit.lua"`), resolved against the file's directory.
    Script(PathBuf),
}

/// One `[[hooks]]` entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEntry {
    /// What it declares.
    pub kind: HookKind,
    /// The feature it is loaded under (default `"default"`): features are
    /// turned on and off together.
    pub feature: String,
    /// Whether its feature starts enabled (default true).
    pub enabled: bool,
    /// The options: the hook's own and the placement options (`points`,
    /// `component`, `priority`, `fail`, `timeout_ms`, `name`, `tags`).
    pub options: Value,
    /// Where the entry starts.
    pub location: Location,
}

/// A loaded configuration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// Its sections.
    pub file: FileConfig,
    /// Its hook entries, checked.
    pub hooks: Vec<HookEntry>,
}

/// The keys of a `[[hooks]]` entry besides the hook's options.
const ENTRY_KEYS: [&str; 5] = ["builtin", "command", "script", "feature", "enabled"];

impl Config {
    /// `llmspell.toml` in `dir`, if there is one.
    pub fn discover(dir: &Path) -> Option<PathBuf> {
        let p = dir.join(FILE_NAME);
        p.is_file().then_some(p)
    }

    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    /// A file that cannot be read, or any error of [`parse`](Self::parse).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            location: None,
            key: None,
            message: format!("cannot read the configuration file {}: {e}", path.display()),
        })?;
        Self::parse(&source, path)
    }

    /// Parses and checks `source`, read from `path` (relative script paths
    /// are resolved against its directory).
    ///
    /// # Errors
    /// TOML syntax, an unknown section or key (with the valid keys and the
    /// closest match), a value of the wrong type, or a hook entry that does
    /// not build; each names file:line:column.
    pub fn parse(source: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(source).map_err(|e| toml_error(&e, source, path))?;
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let hooks = file
            .hooks
            .iter()
            .enumerate()
            .map(|(i, entry)| hook_entry(i, entry, source, path, base))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            path: Some(path.to_path_buf()),
            file,
            hooks,
        })
    }

    /// The hook time budgets of `[[hook_budgets]]`.
    ///
    /// # Errors
    /// A budget that is not a positive number of milliseconds.
    pub fn hook_budgets(&self) -> Result<Vec<llmspell_hooks::ComponentBudget>, ConfigError> {
        self.file
            .hook_budgets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if !(b.per_call_ms.is_finite() && b.per_call_ms > 0.0) {
                    return Err(ConfigError {
                        location: None,
                        key: Some(format!("hook_budgets[{}].per_call_ms", i + 1)),
                        message: format!(
                            "must be a positive number of milliseconds, got {}",
                            b.per_call_ms
                        ),
                    });
                }
                let mut budget = llmspell_hooks::ComponentBudget::new(
                    b.component.clone(),
                    std::time::Duration::from_secs_f64(b.per_call_ms / 1000.0),
                )
                .policy(b.policy);
                if let Some(k) = b.kind {
                    budget = budget.kind(k);
                }
                Ok(budget)
            })
            .collect()
    }

    /// The effective configuration as TOML (what `llmspell config show`
    /// prints).
    ///
    /// # Errors
    /// When a value cannot be written as TOML.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(&self.file).map_err(|e| ConfigError::new(e.to_string()))
    }
}

/// Reads entry `i` of `[[hooks]]`: its kind, feature, and options, checked
/// by building the hook.
fn hook_entry(
    i: usize,
    entry: &toml::Spanned<toml::Table>,
    source: &str,
    path: &Path,
    base: &Path,
) -> Result<HookEntry, ConfigError> {
    let span = entry.span();
    let table = entry.get_ref();
    let at = |key: Option<&str>| match key.and_then(|k| find_key(source, span.clone(), k)) {
        Some(off) => Location::at(path, source, off),
        None => Location::at(path, source, span.start),
    };
    let fail = |key: Option<&str>, message: String| ConfigError {
        location: Some(at(key)),
        key: Some(match key {
            Some(k) => format!("hooks[{}].{k}", i + 1),
            None => format!("hooks[{}]", i + 1),
        }),
        message,
    };
    let kinds: Vec<&str> = ["builtin", "command", "script"]
        .into_iter()
        .filter(|k| table.contains_key(*k))
        .collect();
    if kinds.len() != 1 {
        return Err(fail(
            kinds.get(1).copied(),
            "a hook entry declares exactly one of `builtin = \"<name>\"`, `command = [\"program\", \
             \"arg\", ...]` or `script = \"<file>\"`"
                .into(),
        ));
    }
    let feature = match table.get("feature") {
        None => "default".to_owned(),
        Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(fail(Some("feature"), "must be a non-empty string".into())),
    };
    let enabled = match table.get("enabled") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(fail(Some("enabled"), "must be true or false".into())),
    };
    let mut options = serde_json::Map::new();
    for (k, v) in table {
        if !ENTRY_KEYS.contains(&k.as_str()) {
            let v = serde_json::to_value(v).map_err(|e| fail(Some(k), e.to_string()))?;
            options.insert(k.clone(), v);
        }
    }
    let mut options = Value::Object(options);
    // The key a hook's error names, to point at its line.
    let key_of = |message: &str| -> Option<String> {
        let start = message.find('`')? + 1;
        let len = message.get(start..)?.find('`')?;
        let key = message.get(start..start + len)?;
        table.contains_key(key).then(|| key.to_owned())
    };
    let kind = match kinds[0] {
        "builtin" => {
            let Some(toml::Value::String(name)) = table.get("builtin") else {
                return Err(fail(
                    Some("builtin"),
                    format!("must be a name; valid: {}", BUILTIN_NAMES.join(", ")),
                ));
            };
            // Built once to check it (the audit store here is a stand-in:
            // the runtime builds it again on its own store).
            let env = BuiltinEnv::new()
                .with_audit_store(Arc::new(llmspell_storage::MemoryBackend::new()));
            if let Err(e) = BuiltinHook::build(name, &options, &env) {
                let message = config_message(&e);
                let key = key_of(&message).or_else(|| {
                    (!BUILTIN_NAMES.contains(&name.as_str())).then(|| "builtin".to_owned())
                });
                return Err(fail(key.as_deref(), message));
            }
            HookKind::Builtin(name.clone())
        }
        "command" => {
            let argv: Vec<String> = table
                .get("command")
                .and_then(|v| v.clone().try_into().ok())
                .ok_or_else(|| {
                    fail(
                        Some("command"),
                        "must be a list of strings: the program and its arguments (no shell)"
                            .into(),
                    )
                })?;
            // A command runs in the configuration file's directory unless
            // the entry sets `cwd` (relative to that directory too).
            if let Value::Object(o) = &mut options {
                let cwd = match o.get("cwd").and_then(Value::as_str) {
                    Some(dir) => base.join(dir),
                    None => base.to_path_buf(),
                };
                o.insert("cwd".into(), serde_json::json!(cwd));
            }
            let mut with_argv = options.clone();
            if let Value::Object(o) = &mut with_argv {
                o.insert("argv".into(), serde_json::json!(argv));
            }
            if let Err(e) = command_hook(&with_argv) {
                let message = config_message(&e);
                return Err(fail(key_of(&message).as_deref(), message));
            }
            HookKind::Command(argv)
        }
        _ => {
            let Some(toml::Value::String(file)) = table.get("script") else {
                return Err(fail(Some("script"), "must be a file path".into()));
            };
            if let Some(k) = options.as_object().and_then(|o| o.keys().next()) {
                return Err(fail(
                    Some(k),
                    format!(
                        "unknown key `{k}` for a script hook file (its code registers its hooks \
                         and sets their options){}; valid: script, feature, enabled",
                        did_you_mean(k, ENTRY_KEYS)
                    ),
                ));
            }
            let resolved = base.join(file);
            if !resolved.is_file() {
                return Err(fail(
                    Some("script"),
                    format!("the script {} does not exist", resolved.display()),
                ));
            }
            HookKind::Script(resolved)
        }
    };
    Ok(HookEntry {
        kind,
        feature,
        enabled,
        options,
        location: at(None),
    })
}

/// The message of a hook configuration error, without the field prefix.
fn config_message(e: &llmspell_hooks::Error) -> String {
    match e {
        llmspell_hooks::Error::InvalidConfig { field, message } if *field != "options" => {
            format!("`{field}`: {message}")
        }
        llmspell_hooks::Error::InvalidConfig { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The byte offset of key `key` inside `span` of `source` (a line that
/// starts with it), if found.
fn find_key(source: &str, span: std::ops::Range<usize>, key: &str) -> Option<usize> {
    // The span of an array-of-tables entry may cover its header only: the
    // entry runs to the next table header.
    let rest = source.get(span.start..)?;
    let body_start = rest.find('\n').map_or(rest.len(), |i| i + 1);
    let end = rest
        .get(body_start..)?
        .find("\n[")
        .map_or(rest.len(), |i| body_start + i + 1)
        .max(span.end - span.start);
    let span = span.start..span.start + end.min(rest.len());
    let text = source.get(span.clone())?;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(span.start + offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

/// A TOML or schema error, located, with the closest valid key for an
/// unknown one.
fn toml_error(e: &toml::de::Error, source: &str, path: &Path) -> ConfigError {
    let location = e.span().map(|s| Location::at(path, source, s.start));
    let message = e.message().trim().to_owned();
    // serde's wording: "unknown field `x`, expected one of `a`, `b`".
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return ConfigError {
            location,
            key: Some(key.to_owned()),
            message: format!(
                "unknown key{}; valid keys: {}",
                did_you_mean(key, valid.iter().copied()),
                valid.join(", ")
            ),
        };
    }
    ConfigError {
        location,
        key: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        Config::parse(src, Path::new("llmspell.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn hook_option_errors_point_at_the_key() {
        let e =
            err("[storage]\nbackend = \"memory\"\n\n[[hooks]]\nbuiltin = \"caching\"\nttl = 5\n");
        assert!(e.starts_with("llmspell.toml:6:1: `hooks[1].ttl`: "), "{e}");
        assert!(
            e.contains("did you mean `ttl_ms`") && e.contains("points"),
            "{e}"
        );
        let e = err("[[hooks]]\nbuiltin = \"cache\"\n");
        assert!(
            e.starts_with("llmspell.toml:2:1: `hooks[1].builtin`"),
            "{e}"
        );
        assert!(e.contains("did you mean `caching`"), "{e}");
        let e = err("[[hooks]]\nbuiltin = \"retry\"\npoints = [\"ToolEror\"]\n");
        assert!(e.contains("ToolError"), "{e}");
        let e = err("[[hooks]]\ncommand = \"rm -rf /\"\n");
        assert!(e.contains("list of strings") && e.contains(":2:1"), "{e}");
        let e = err("[[hooks]]\nbuiltin = \"caching\"\ncommand = [\"x\"]\n");
        assert!(e.contains("exactly one of"), "{e}");
        let e = err("[[hooks]]\nscript = \"missing.lua\"\n");
        assert!(e.contains("does not exist"), "{e}");
        let e = err("[[hooks]]\ncommand = [\"python3\", \"p.py\"]\ntimout_ms = 5\n");
        assert!(
            e.contains(":3:1") && e.contains("did you mean `timeout_ms`"),
            "{e}"
        );
    }

    #[test]
    fn section_errors_name_the_valid_keys() {
        let e = err("[storage]\nbackend = \"memory\"\npersits = []\n");
        assert!(e.starts_with("llmspell.toml:3:1: `persits`"), "{e}");
        assert!(
            e.contains("did you mean `persist`") && e.contains("retention"),
            "{e}"
        );
        let e = err("[sandbx]\n");
        assert!(e.contains("did you mean `sandbox`"), "{e}");
        let e = err("[storage]\nbackend = \"disk\"\n");
        assert!(
            e.contains(":2:") && e.contains("sled") && e.contains("memory"),
            "{e}"
        );
        let e = err("[storage\n");
        assert!(e.starts_with("llmspell.toml:1:"), "{e}");
    }

    #[test]
    fn a_full_file_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audit.lua"), "-- hooks").unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            r#"
[runtime]
slow_operation_ms = 500

[storage]
backend = "sled"
data_dir = ".llmspell"
persist = ["tool.**"]
retention = { max_events = 100000, max_age_secs = 86400 }

[sandbox]
fs_roots = ["./data"]
commands = ["echo"]

[providers.openai]
api_key_env = "OPENAI_API_KEY"

[[hooks]]
builtin = "rate_limit"
per_second = 5
component = "web_*"
mode = "cancel"

[[hooks]]
command = ["python3", "policy.py"]
points = ["BeforeToolExecution"]
fail = "closed"
feature = "policy"
enabled = false

[[hooks]]
script = "audit.lua"
"#,
        )
        .unwrap();
        assert_eq!(Config::discover(dir.path()), Some(path.clone()));
        let c = Config::load(&path).unwrap();
        assert_eq!(c.hooks.len(), 3);
        assert_eq!(c.hooks[1].feature, "policy");
        assert!(!c.hooks[1].enabled);
        assert_eq!(
            c.hooks[2].kind,
            HookKind::Script(dir.path().join("audit.lua"))
        );
        assert_eq!(c.hooks[0].location.line, 18);
        let shown = c.to_toml().unwrap();
        assert!(
            shown.contains("per_second = 5") && shown.contains("max_events = 100000"),
            "{shown}"
        );
        assert!(crate::providers(&c.file).is_ok());
    }
}
