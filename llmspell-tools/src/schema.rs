//! JSON Schemas derived from the parameter types of the tools.
//!
//! A tool's parameters are one serde type that also derives
//! [`schemars::JsonSchema`]; the schema that `Tool.info` shows and the
//! registry validates against is generated from that type, so the two cannot
//! drift apart. Doc comments on fields become `description`s, serde's
//! `default`, `rename` and `deny_unknown_fields` become "not required",
//! property names and `additionalProperties: false`.
//!
//! Two shapes exist, matching the two readers of [`crate::params`]:
//!
//! - [`object`]: a struct read by `params::parse`, shown as schemars derives
//!   it (every subschema inlined, no `$schema`, `$defs` or `title`);
//! - [`operations`]: an externally tagged enum read by
//!   `params::parse_operation`. Scripts send `{ "operation": "split", ... }`,
//!   not serde's `{ "split": { ... } }`, so the enum's schema is reshaped
//!   into that form: an object whose `operation` is a string enum, with a
//!   `oneOf` holding one complete object per operation,
//!   `{ "operation": { "const": "split" }, ...its fields }`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// The description of `operation` in every operation tool's schema.
const OPERATION_DESCRIPTION: &str = "The operation to run. Each entry of `oneOf` describes one \
                                     operation: the `operation` value it takes, its parameters \
                                     and which of them are required.";

/// The schema of `T` read as a plain object.
pub(crate) fn object<T: JsonSchema>() -> Value {
    derive::<T>()
}

/// The schema of the externally tagged enum `T` read with an `operation`
/// member naming the variant.
///
/// Every variant must be a struct variant (`Name {}` for an operation
/// without parameters) or a newtype variant holding a struct, as
/// `params::parse_operation` requires. Each variant's doc comment becomes the
/// `description` of its entry in `oneOf`.
pub(crate) fn operations<T: JsonSchema>() -> Value {
    let tagged = derive::<T>();
    let variants = tagged
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut names = Vec::with_capacity(variants.len());
    let mut branches = Vec::with_capacity(variants.len());
    for variant in variants {
        if let Some((name, branch)) = operation_branch(variant) {
            names.push(Value::String(name));
            branches.push(branch);
        }
    }
    json!({
        "type": "object",
        "properties": {
            "operation": {
                "type": "string",
                "enum": names,
                "description": OPERATION_DESCRIPTION,
            }
        },
        "required": ["operation"],
        "oneOf": branches,
    })
}

/// Sets `keyword` of property `field` of an object schema to `value`, for
/// what only a configured tool knows (a configured maximum, an allow-list in
/// a description). The tool itself must enforce the same bound.
pub(crate) fn refine(schema: &mut Value, field: &str, keyword: &str, value: Value) {
    if let Some(Value::Object(property)) = schema
        .get_mut("properties")
        .and_then(|properties| properties.get_mut(field))
    {
        property.insert(keyword.to_owned(), value);
    }
}

/// Turns one variant of schemars' externally tagged form,
/// `{ "properties": { "split": { ...fields } }, "required": ["split"] }`,
/// into `{ "properties": { "operation": { "const": "split" }, ...fields } }`.
fn operation_branch(variant: Value) -> Option<(String, Value)> {
    let Value::Object(mut variant) = variant else {
        return None;
    };
    let Some(Value::Object(tag)) = variant.remove("properties") else {
        return None;
    };
    let mut tag = tag.into_iter();
    let (name, fields) = tag.next()?;
    if tag.next().is_some() {
        return None;
    }
    let Value::Object(mut fields) = fields else {
        return None;
    };

    let mut properties = Map::new();
    properties.insert("operation".to_owned(), json!({ "const": name }));
    if let Some(Value::Object(own)) = fields.remove("properties") {
        properties.extend(own);
    }
    let mut required = vec![Value::String("operation".to_owned())];
    if let Some(Value::Array(own)) = fields.remove("required") {
        required.extend(own);
    }

    let mut branch = Map::new();
    // The variant's doc comment sits on the outer object; a newtype
    // variant's struct may carry one of its own.
    let description = variant
        .remove("description")
        .or_else(|| fields.remove("description"));
    if let Some(description) = description {
        branch.insert("description".to_owned(), description);
    }
    branch.insert("type".to_owned(), Value::String("object".to_owned()));
    branch.insert("properties".to_owned(), Value::Object(properties));
    branch.insert("required".to_owned(), Value::Array(required));
    if let Some(additional) = fields.remove("additionalProperties") {
        branch.insert("additionalProperties".to_owned(), additional);
    }
    Some((name, Value::Object(branch)))
}

/// Generates `T`'s schema with every subschema inlined and the parts a
/// script author has no use for removed.
fn derive<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(root) = &mut schema {
        // The Rust type's name, meaningless to a script.
        root.remove("title");
    }
    tidy(&mut schema);
    schema
}

/// Integer formats schemars adds for Rust's integer and float types
/// (`uint64`, `double`, ...); the range is already given by `minimum` and
/// `maximum`.
fn is_rust_number_format(format: &str) -> bool {
    matches!(
        format,
        "int"
            | "uint"
            | "int8"
            | "uint8"
            | "int16"
            | "uint16"
            | "int32"
            | "uint32"
            | "int64"
            | "uint64"
            | "int128"
            | "uint128"
            | "float"
            | "double"
    )
}

/// Removes Rust number formats and joins the lines of doc-comment
/// descriptions (a single line break is the source's wrapping, a blank line
/// a paragraph), in `schema` and every subschema.
fn tidy(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(is_rust_number_format)
    {
        map.remove("format");
    }
    if let Some(Value::String(description)) = map.get_mut("description") {
        *description = unwrap_lines(description);
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "patternProperties" => {
                if let Value::Object(children) = value {
                    children.values_mut().for_each(tidy);
                }
            }
            "oneOf" | "anyOf" | "allOf" | "prefixItems" => {
                if let Value::Array(children) = value {
                    children.iter_mut().for_each(tidy);
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames" => tidy(value),
            _ => {}
        }
    }
}

/// Joins lines within paragraphs: `"a\nb\n\nc"` → `"a b\n\nc"`.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Arguments of a test tool.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Calc {
        /// The expression,
        /// wrapped over two lines.
        expression: String,
        /// How many digits (default 2).
        #[serde(default = "two")]
        digits: u32,
        /// An optional label.
        label: Option<String>,
    }

    fn two() -> u32 {
        2
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Text {
        /// The text.
        text: String,
    }

    /// Operations of a test tool.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Op {
        /// Upper-cases `text`.
        Upper(Text),
        /// Splits `text`.
        Split {
            /// The text to split.
            text: String,
            /// At most this many parts.
            limit: Option<u32>,
        },
        /// Reports the time.
        Now {},
    }

    #[test]
    fn object_schemas_are_plain_and_described() {
        let s = object::<Calc>();
        assert!(
            s.get("$schema").is_none() && s.get("title").is_none(),
            "{s}"
        );
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["expression"]));
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(
            s["properties"]["expression"]["description"],
            "The expression, wrapped over two lines."
        );
        assert_eq!(s["properties"]["digits"]["default"], 2);
        assert!(s["properties"]["digits"].get("format").is_none(), "{s}");
        assert_eq!(s["properties"]["label"]["type"], json!(["string", "null"]));
    }

    #[test]
    fn operation_schemas_are_what_scripts_send() {
        let s = operations::<Op>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["operation"]));
        assert_eq!(
            s["properties"]["operation"]["enum"],
            json!(["upper", "split", "now"])
        );
        let branches = s["oneOf"].as_array().unwrap();
        assert_eq!(branches.len(), 3);
        assert_eq!(
            branches[0],
            json!({
                "description": "Upper-cases `text`.",
                "type": "object",
                "properties": {
                    "operation": { "const": "upper" },
                    "text": { "type": "string", "description": "The text." }
                },
                "required": ["operation", "text"],
                "additionalProperties": false
            })
        );
        assert_eq!(branches[1]["required"], json!(["operation", "text"]));
        assert_eq!(branches[1]["additionalProperties"], false);
        assert_eq!(
            branches[2]["properties"],
            json!({ "operation": { "const": "now" } })
        );

        let v = jsonschema::validator_for(&s).unwrap();
        assert!(v.is_valid(&json!({ "operation": "split", "text": "a b", "limit": 2 })));
        assert!(v.is_valid(&json!({ "operation": "now" })));
        assert!(!v.is_valid(&json!({ "operation": "split" })));
        assert!(!v.is_valid(&json!({ "operation": "now", "text": "x" })));
        assert!(!v.is_valid(&json!({ "operation": "shout" })));
    }
}
