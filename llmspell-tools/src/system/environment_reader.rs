//! `environment_reader`: reads allow-listed environment variables.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Reads environment variables of the host process, but only those on an
/// allow-list fixed when the tool is built.
///
/// An allow-list entry is an exact name (`PATH`) or a prefix ending in `*`
/// (`APP_*` allows every variable starting with `APP_`). The default list is
/// empty, so nothing can be read.
///
/// - `get { name, default? }` → `{ name, value, set }` (`value` is `default`,
///   or null, when the variable is unset);
/// - `list {}` → `{ variables: { name: value } }` for every allowed variable
///   that is set, and `allowed` (the allow-list).
///
/// Asking for a variable that is not allowed is an
/// [`Error::SecurityViolation`] naming the allow-list.
#[derive(Debug, Clone)]
pub struct EnvironmentReader {
    metadata: ComponentMetadata,
    allowed: Arc<[String]>,
}

impl EnvironmentReader {
    /// Creates the tool; only variables matching `allowed` can be read.
    pub fn new<I, S>(allowed: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            metadata: ComponentMetadata::tool(
                "environment_reader",
                "Reads environment variables that are on the configured allow-list",
            ),
            allowed: allowed.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `name` is on the allow-list.
    pub fn is_allowed(&self, name: &str) -> bool {
        self.allowed
            .iter()
            .any(|entry| match entry.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => entry == name,
            })
    }

    fn refuse(&self, name: &str) -> Error {
        Error::SecurityViolation {
            message: if self.allowed.is_empty() {
                format!(
                    "environment variable `{name}` is not readable: the allow-list is empty \
                     (configure `allowed_env_vars`)"
                )
            } else {
                format!(
                    "environment variable `{name}` is not in the allow-list [{}]",
                    self.allowed.join(", ")
                )
            },
        }
    }
}

/// The operations of `environment_reader`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Reads one variable; output `{ name, value, set }`.
    Get {
        /// The variable's name; it must be on the configured allow-list.
        name: String,
        /// The value to return when the variable is not set (default:
        /// null).
        default: Option<String>,
    },
    /// Reads every allowed variable that is set; output
    /// `{ variables, allowed }`.
    List {},
}

/// How `environment_reader` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

impl EnvironmentReader {
    fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Get { name, default } => {
                if name.is_empty() || name.contains('=') || name.contains('\0') {
                    return Err(Error::invalid_input(
                        "name",
                        "expected a variable name (non-empty, without '=' or NUL)",
                    ));
                }
                if !self.is_allowed(&name) {
                    return Err(self.refuse(&name));
                }
                Ok(match std::env::var_os(&name) {
                    Some(value) => {
                        json!({ "name": name, "value": value.to_string_lossy(), "set": true })
                    }
                    None => json!({ "name": name, "value": default, "set": false }),
                })
            }
            Operation::List {} => {
                let variables: BTreeMap<String, String> = std::env::vars_os()
                    .filter_map(|(k, v)| {
                        let k = k.into_string().ok()?;
                        self.is_allowed(&k)
                            .then(|| (k, v.to_string_lossy().into_owned()))
                    })
                    .collect();
                Ok(json!({ "variables": variables, "allowed": &*self.allowed }))
            }
        }
    }
}

#[async_trait]
impl Tool for EnvironmentReader {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::System
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Privileged
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "get", "name": "HOME" }),
            json!({ "operation": "get", "name": "PATH" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": { "type": "string" },
                "value": { "type": ["string", "null"] },
                "set": { "type": "boolean" },
                "variables": { "type": "object", "additionalProperties": { "type": "string" } },
                "allowed": { "type": "array", "items": { "type": "string" } }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(t: &EnvironmentReader, params: Value) -> Result<Value> {
        t.run(PARAMS.read(params)?)
    }

    #[test]
    fn reads_allowed_variables_only() {
        // PATH is set in any environment the tests run in.
        let t = EnvironmentReader::new(["PATH", "LLMSPELL_TEST_UNSET_*"]);
        let out = exec(&t, json!({ "operation": "get", "name": "PATH" })).unwrap();
        assert_eq!(out["set"], true);
        assert_eq!(out["value"], std::env::var("PATH").unwrap());
        let out = exec(
            &t,
            json!({ "operation": "get", "name": "LLMSPELL_TEST_UNSET_X", "default": "d" }),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({ "name": "LLMSPELL_TEST_UNSET_X", "value": "d", "set": false })
        );
        let err = exec(&t, json!({ "operation": "get", "name": "HOME" })).unwrap_err();
        assert!(matches!(err, Error::SecurityViolation { .. }));
        assert!(
            err.to_string().contains("[PATH, LLMSPELL_TEST_UNSET_*]"),
            "{err}"
        );
    }

    #[test]
    fn list_shows_only_allowed_and_set_variables() {
        let t = EnvironmentReader::new(["PATH"]);
        let out = exec(&t, json!({ "operation": "list" })).unwrap();
        let vars = out["variables"].as_object().unwrap();
        assert_eq!(vars.len(), 1);
        assert!(vars.contains_key("PATH"));
        assert_eq!(out["allowed"], json!(["PATH"]));
    }

    #[test]
    fn an_empty_allow_list_refuses_with_a_hint() {
        let t = EnvironmentReader::new(Vec::<String>::new());
        let err = exec(&t, json!({ "operation": "get", "name": "PATH" })).unwrap_err();
        assert!(err.to_string().contains("allowed_env_vars"), "{err}");
        let err = exec(&t, json!({ "operation": "get", "name": "A=B" })).unwrap_err();
        assert!(err.to_string().contains("`name`"), "{err}");
    }
}
