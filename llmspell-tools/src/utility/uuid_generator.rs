//! `uuid_generator`: generates and validates UUIDs.

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::params::ParamsSpec;

/// Most UUIDs one call may generate.
const MAX_COUNT: usize = 1000;

/// Generates UUIDs (version 4, random, or version 7, time-ordered) in
/// hyphenated, simple or URN form, and validates UUID strings.
///
/// - `generate { version?: "v4"|"v7", count?: 1..=1000, format?: "hyphenated"|"simple"|"urn" }`
///   → `{ uuid, uuids }` (`uuid` is the first of `uuids`);
/// - `validate { uuid }` → `{ valid, version?, format?, canonical?, error? }`.
#[derive(Debug, Clone)]
pub struct UuidGenerator {
    metadata: ComponentMetadata,
}

impl UuidGenerator {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "uuid_generator",
                "Generates v4/v7 UUIDs in several formats and validates UUID strings",
            ),
        }
    }
}

impl Default for UuidGenerator {
    fn default() -> Self {
        Self::new()
    }
}

/// A UUID version to generate.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Version {
    #[default]
    V4,
    V7,
}

/// A text form of a UUID.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Format {
    #[default]
    Hyphenated,
    Simple,
    Urn,
}

/// The operations of `uuid_generator`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Generates UUIDs; output `{ uuid, uuids }`, `uuid` being the first of
    /// `uuids`.
    Generate {
        /// `v4` (random, the default) or `v7` (time-ordered: later UUIDs sort
        /// after earlier ones).
        #[serde(default)]
        version: Version,
        /// How many UUIDs to generate, from 1 to 1000 (default 1).
        #[serde(default = "one")]
        #[schemars(range(min = 1, max = MAX_COUNT))]
        count: usize,
        /// The text form: `hyphenated` (the default,
        /// `67e55044-10b1-426f-9247-bb680e5fe0c8`), `simple` (32 hex digits)
        /// or `urn` (`urn:uuid:...`).
        #[serde(default)]
        format: Format,
    },
    /// Checks whether a string is a UUID; output
    /// `{ valid, version, format, canonical, nil }`, or `{ valid: false, error }`.
    Validate {
        /// The string to check, in any of the hyphenated, simple, URN or
        /// braced forms.
        uuid: String,
    },
}

/// How `uuid_generator` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn one() -> usize {
    1
}

fn render(id: Uuid, format: Format) -> String {
    match format {
        Format::Hyphenated => id.hyphenated().to_string(),
        Format::Simple => id.simple().to_string(),
        Format::Urn => id.urn().to_string(),
    }
}

fn run(op: Operation) -> Result<Value> {
    match op {
        Operation::Generate {
            version,
            count,
            format,
        } => {
            if count == 0 || count > MAX_COUNT {
                return Err(Error::invalid_input(
                    "count",
                    format!("expected an integer from 1 to {MAX_COUNT}, got {count}"),
                ));
            }
            let uuids: Vec<String> = (0..count)
                .map(|_| {
                    let id = match version {
                        Version::V4 => Uuid::new_v4(),
                        Version::V7 => Uuid::now_v7(),
                    };
                    render(id, format)
                })
                .collect();
            Ok(json!({ "uuid": uuids[0], "uuids": uuids }))
        }
        Operation::Validate { uuid } => {
            let trimmed = uuid.trim();
            let format = if trimmed.starts_with("urn:uuid:") {
                "urn"
            } else if trimmed.starts_with('{') {
                "braced"
            } else if trimmed.len() == 32 {
                "simple"
            } else {
                "hyphenated"
            };
            Ok(match Uuid::try_parse(trimmed) {
                Ok(id) => json!({
                    "valid": true,
                    "version": id.get_version_num(),
                    "format": format,
                    "canonical": id.hyphenated().to_string(),
                    "nil": id.is_nil(),
                }),
                Err(e) => json!({ "valid": false, "error": e.to_string() }),
            })
        }
    }
}

#[async_trait]
impl Tool for UuidGenerator {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "validate", "uuid": "67E55044-10B1-426F-9247-BB680E5FE0C8" }),
            json!({ "operation": "generate", "version": "v7", "count": 2 }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "uuid": { "type": "string", "description": "generate: the first UUID" },
                "uuids": { "type": "array", "items": { "type": "string" }, "description": "generate: all UUIDs" },
                "valid": { "type": "boolean", "description": "validate: whether the string is a UUID" },
                "version": { "type": "integer", "description": "validate: the UUID version number" },
                "format": { "type": "string", "description": "validate: hyphenated, simple, urn or braced" },
                "canonical": { "type": "string", "description": "validate: the hyphenated lowercase form" },
                "nil": { "type": "boolean", "description": "validate: whether it is the all-zero UUID" },
                "error": { "type": "string", "description": "validate: why the string is not a UUID" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(params: Value) -> Result<Value> {
        run(PARAMS.read(params)?)
    }

    #[test]
    fn generates_distinct_v4_uuids_in_each_format() {
        let out = exec(json!({"operation": "generate", "count": 3})).unwrap();
        let uuids: Vec<&str> = out["uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(uuids.len(), 3);
        assert_ne!(uuids[0], uuids[1]);
        for u in &uuids {
            let id = Uuid::parse_str(u).unwrap();
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(u.len(), 36);
        }
        let simple = exec(json!({"operation": "generate", "format": "simple"})).unwrap();
        assert_eq!(simple["uuid"].as_str().unwrap().len(), 32);
        let urn = exec(json!({"operation": "generate", "format": "urn"})).unwrap();
        assert!(urn["uuid"].as_str().unwrap().starts_with("urn:uuid:"));
    }

    #[test]
    fn v7_uuids_are_time_ordered() {
        let out = exec(json!({"operation": "generate", "version": "v7", "count": 50})).unwrap();
        let ids: Vec<Uuid> = out["uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Uuid::parse_str(v.as_str().unwrap()).unwrap())
            .collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn validates_and_canonicalises() {
        let out =
            exec(json!({"operation": "validate", "uuid": "67E55044-10B1-426F-9247-BB680E5FE0C8"}))
                .unwrap();
        assert_eq!(out["valid"], true);
        assert_eq!(out["version"], 4);
        assert_eq!(out["canonical"], "67e55044-10b1-426f-9247-bb680e5fe0c8");
        let out =
            exec(json!({"operation": "validate", "uuid": "67e5504410b1426f9247bb680e5fe0c8"}))
                .unwrap();
        assert_eq!(out["format"], "simple");
        let out = exec(json!({"operation": "validate", "uuid": "not-a-uuid"})).unwrap();
        assert_eq!(out["valid"], false);
        assert!(out["error"].as_str().unwrap().len() > 5);
    }

    #[test]
    fn count_and_version_are_checked() {
        let err = exec(json!({"operation": "generate", "count": 0})).unwrap_err();
        assert!(err.to_string().contains("`count`"), "{err}");
        let err = exec(json!({"operation": "generate", "version": "v1"})).unwrap_err();
        assert!(
            err.to_string().contains("`version`") && err.to_string().contains("v4"),
            "{err}"
        );
    }
}
