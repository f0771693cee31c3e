//! Every built-in tool's parameter schema agrees with its parameter parser.
//!
//! For each tool: its examples (`Tool::examples`) are exactly the examples
//! the user guide shows for it, and each is accepted by the schema and by
//! the parser (`Tool::check_params`); a minimal call built from each
//! operation's required fields is accepted by both; every value the schema
//! enumerates is accepted by both; and a value of the wrong type for any
//! field is refused by both, each naming the field. A tool whose hand-written
//! schema disagrees with its parser is caught (last test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool};
use llmspell_tools::{BuiltinToolsConfig, ToolRegistry, builtin_tools};
use serde_json::{Value, json};

/// The `params` of every example in the user guide, by tool: each tool's
/// section (`## name`) holds ```json blocks that start with
/// `{ "name": ..., "params": ... }`.
fn guide_examples() -> BTreeMap<String, Vec<Value>> {
    let guide = include_str!("../../docs/user-guide/tools.md");
    let mut examples: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut section = String::new();
    let mut block: Option<String> = None;
    for line in guide.lines() {
        if let Some(text) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                let text = block.take().unwrap_or_default();
                let first = serde_json::Deserializer::from_str(&text)
                    .into_iter::<Value>()
                    .next();
                if let Some(Ok(call)) =
                    first.filter(|c| c.as_ref().is_ok_and(|c| c.get("params").is_some()))
                {
                    assert_eq!(
                        call["name"], section,
                        "an example in section `{section}` calls another tool: {call}"
                    );
                    examples
                        .entry(section.clone())
                        .or_default()
                        .push(call["params"].clone());
                }
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if let Some(title) = line.strip_prefix("## ") {
            section = title.trim().to_owned();
        } else if line.trim_start() == "```json" {
            block = Some(String::new());
        }
    }
    examples
}

/// The JSON types a property schema allows, or `None` when it allows any.
fn allowed_types(schema: &Value) -> Option<Vec<String>> {
    if let Some(t) = schema.get("type") {
        return Some(match t {
            Value::String(t) => vec![t.clone()],
            Value::Array(ts) => ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => return None,
        });
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return Some(values.iter().map(|v| json_type(v).to_owned()).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(allowed_types(branch)?);
            }
            return Some(all);
        }
    }
    None
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value whose JSON type `types` does not allow.
fn wrong_value(types: &[String]) -> Option<Value> {
    let allows = |t: &str| {
        types
            .iter()
            .any(|a| a == t || (a == "number" && t == "integer"))
    };
    [
        json!(12345),
        json!("not this type"),
        json!(true),
        json!([1]),
        json!({ "x": 1 }),
    ]
    .into_iter()
    .find(|v| !allows(json_type(v)))
}

/// A value the property schema accepts, built from its `const`, `enum`,
/// `default`, `minimum` or type.
fn sample(schema: &Value) -> Value {
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    if let Some(Value::Array(branches)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        return branches.first().map_or(Value::Null, sample);
    }
    let types = allowed_types(schema).unwrap_or_default();
    match types.iter().find(|t| *t != "null").map(String::as_str) {
        Some("string") => json!("x"),
        Some("integer" | "number") => schema.get("minimum").cloned().unwrap_or(json!(1)),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") => {
            let mut object = serde_json::Map::new();
            for name in required(schema) {
                object.insert(name.clone(), sample(&schema["properties"][&name]));
            }
            Value::Object(object)
        }
        _ => Value::Null,
    }
}

fn required(schema: &Value) -> Vec<String> {
    schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The objects a call may be: each `oneOf` entry of an operation tool, or
/// the schema itself.
fn call_shapes(schema: &Value) -> Vec<Value> {
    match schema.get("oneOf") {
        Some(Value::Array(branches)) => branches.clone(),
        _ => vec![schema.clone()],
    }
}

/// Whether `error` is an `InvalidInput` naming `field`.
fn names_field(error: &Error, field: &str) -> bool {
    matches!(error, Error::InvalidInput { field: f, .. } if f == field)
}

/// Everything on which `tool`'s schema and parser disagree, one sentence
/// each; `documented` are the examples the user guide shows for it.
async fn disagreements(tool: Arc<dyn Tool>, documented: &[Value]) -> Vec<String> {
    let name = tool.metadata().name().to_owned();
    let schema = tool.parameters_schema();
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => return vec![format!("{name}: the schema does not compile: {e}")],
    };
    let registry = ToolRegistry::builder().build();
    if let Err(e) = registry.register(tool.clone()) {
        return vec![format!("{name}: not registrable: {e}")];
    }
    let exec = ExecutionContext::native();
    let mut problems = Vec::new();

    let accepted = |params: &Value, what: &str, problems: &mut Vec<String>| {
        let errors: Vec<String> = validator
            .iter_errors(params)
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            problems.push(format!(
                "{name}: the schema refuses {what} {params}: {errors:?}"
            ));
        }
        if let Err(e) = tool.check_params(params) {
            problems.push(format!("{name}: the parser refuses {what} {params}: {e}"));
        }
    };

    // (a) the examples: the tool's own are the guide's, and both accept them.
    let examples = tool.examples();
    if examples.is_empty() {
        problems.push(format!("{name}: no examples"));
    }
    for example in &examples {
        if !documented.contains(example) {
            problems.push(format!(
                "{name}: the user guide does not show the example {example}"
            ));
        }
        accepted(example, "its example", &mut problems);
    }
    for example in documented {
        if !examples.contains(example) {
            problems.push(format!(
                "{name}: the user guide's example {example} is not among `examples()`"
            ));
        }
    }

    for shape in call_shapes(&schema) {
        let base = sample(&shape);
        accepted(&base, "the minimal call", &mut problems);
        let Some(properties) = shape["properties"].as_object() else {
            continue;
        };
        for (field, property) in properties {
            // Every value the schema lists is one the parser reads.
            if let Some(Value::Array(values)) = property.get("enum") {
                for value in values {
                    let mut call = base.clone();
                    call[field.as_str()] = value.clone();
                    accepted(&call, &format!("`{field}` = {value} in"), &mut problems);
                }
            }
            // (b) a wrong type is refused by both, each naming the field.
            let Some(wrong) = allowed_types(property).as_deref().and_then(wrong_value) else {
                continue;
            };
            let mut call = base.clone();
            call[field.as_str()] = wrong.clone();
            if validator.is_valid(&call) {
                problems.push(format!(
                    "{name}: the schema accepts `{field}` = {wrong} in {call}"
                ));
            } else {
                match registry.invoke(&name, call.clone(), &exec).await {
                    Err(e) if names_field(&e, field) => {}
                    other => problems.push(format!(
                        "{name}: the registry's error for `{field}` = {wrong} does not name it: \
                         {other:?}"
                    )),
                }
            }
            match tool.check_params(&call) {
                Err(e) if names_field(&e, field) => {}
                Err(e) => problems.push(format!(
                    "{name}: the parser's error for `{field}` = {wrong} does not name it: {e}"
                )),
                Ok(()) => problems.push(format!(
                    "{name}: the parser accepts `{field}` = {wrong} in {call}"
                )),
            }
        }
    }

    // An operation tool refuses a nameless or unknown operation both ways.
    if schema["properties"].get("operation").is_some() {
        for call in [
            json!({ "operation": 7 }),
            json!({ "operation": "no_such_operation" }),
        ] {
            if validator.is_valid(&call) {
                problems.push(format!("{name}: the schema accepts {call}"));
            }
            if tool.check_params(&call).is_ok() {
                problems.push(format!("{name}: the parser accepts {call}"));
            }
        }
    }
    problems
}

#[tokio::test]
async fn every_builtin_schema_agrees_with_its_parser_and_the_guide() {
    let guide = guide_examples();
    let tools = builtin_tools(&BuiltinToolsConfig::default());
    let mut problems = Vec::new();
    for tool in &tools {
        let name = tool.metadata().name().to_owned();
        let documented = guide.get(&name).cloned().unwrap_or_default();
        problems.extend(disagreements(tool.clone(), &documented).await);
    }
    for section in guide.keys() {
        if !tools.iter().any(|t| t.metadata().name() == section) {
            problems.push(format!(
                "the user guide has examples for `{section}`, not a tool"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A tool whose hand-written schema says `count` is a string while its
/// parser reads an integer, and whose example the schema refuses.
struct Disagreeing {
    metadata: ComponentMetadata,
}

#[async_trait]
impl Tool for Disagreeing {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        Ok(params)
    }

    fn parameters_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "count": { "type": "string", "description": "How many" } },
            "required": ["count"],
            "additionalProperties": false
        })
    }

    fn examples(&self) -> Vec<Value> {
        vec![json!({ "count": 3 })]
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        match params.get("count") {
            Some(Value::Number(n)) if n.is_u64() => Ok(()),
            _ => Err(Error::invalid_input(
                "count",
                "expected a non-negative integer",
            )),
        }
    }
}

#[tokio::test]
async fn a_schema_that_disagrees_with_its_parser_is_caught() {
    let tool = Arc::new(Disagreeing {
        metadata: ComponentMetadata::tool("disagreeing", "Its schema and parser disagree"),
    });
    let problems = disagreements(tool, &[json!({ "count": 3 })]).await;
    let all = problems.join("\n");
    assert!(all.contains("the schema refuses its example"), "{all}");
    assert!(all.contains("the parser refuses the minimal call"), "{all}");
    assert!(all.contains("the parser accepts `count` = 12345"), "{all}");
}
