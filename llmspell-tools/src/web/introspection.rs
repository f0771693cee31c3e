//! The GraphQL introspection query and a compact reading of its answer.

use serde_json::{Map, Value, json};

/// The standard introspection query: the root operation types, every type
/// with its fields (deprecated ones included), arguments, input fields,
/// interfaces, enum values and possible types, and the directives. Type
/// references are followed seven levels deep (`[[Int!]!]!` and deeper).
pub(crate) const QUERY: &str = r"query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  fields(includeDeprecated: true) {
    name
    description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
}

fragment TypeRef on __Type {
  kind
  name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
";

/// The built-in scalars every schema has.
const BUILTIN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// A type reference in GraphQL notation: `[User!]!`.
pub(crate) fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("?").to_owned(),
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| l.iter().map(type_ref).collect())
        .unwrap_or_default()
}

fn input_value(v: &Value) -> Value {
    let mut out = json!({ "name": v["name"], "type": type_ref(&v["type"]) });
    if !v["defaultValue"].is_null() {
        out["default_value"] = v["defaultValue"].clone();
    }
    if let Some(d) = v["description"].as_str().filter(|d| !d.is_empty()) {
        out["description"] = json!(d);
    }
    out
}

/// One type of an introspection answer, compact: its kind, name and
/// description, then what its kind has (fields with their arguments and
/// types, input fields, enum values, interfaces, possible types).
fn summarize_type(t: &Value) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), t["name"].clone());
    out.insert("kind".into(), t["kind"].clone());
    if let Some(d) = t["description"].as_str().filter(|d| !d.is_empty()) {
        out.insert("description".into(), json!(d));
    }
    if let Some(fields) = t["fields"].as_array() {
        let fields: Vec<Value> = fields
            .iter()
            .map(|f| {
                let mut field = json!({ "name": f["name"], "type": type_ref(&f["type"]) });
                let args: Vec<Value> = f["args"]
                    .as_array()
                    .map(|a| a.iter().map(input_value).collect())
                    .unwrap_or_default();
                if !args.is_empty() {
                    field["args"] = json!(args);
                }
                if let Some(d) = f["description"].as_str().filter(|d| !d.is_empty()) {
                    field["description"] = json!(d);
                }
                if f["isDeprecated"] == true {
                    field["deprecated"] = f["deprecationReason"].clone();
                }
                field
            })
            .collect();
        out.insert("fields".into(), json!(fields));
    }
    if let Some(inputs) = t["inputFields"].as_array() {
        let inputs: Vec<Value> = inputs.iter().map(input_value).collect();
        out.insert("input_fields".into(), json!(inputs));
    }
    if let Some(values) = t["enumValues"].as_array() {
        let values: Vec<&Value> = values.iter().map(|v| &v["name"]).collect();
        out.insert("enum_values".into(), json!(values));
    }
    for (key, name) in [
        ("interfaces", "interfaces"),
        ("possibleTypes", "possible_types"),
    ] {
        let list = names(&t[key]);
        if !list.is_empty() {
            out.insert(name.into(), json!(list));
        }
    }
    Value::Object(out)
}

/// The compact form of `schema` (the `__schema` of an introspection
/// answer): root type names, the types (without the introspection types
/// and built-in scalars unless `include_builtin`), and directive names.
pub(crate) fn summarize(schema: &Value, include_builtin: bool) -> Value {
    let types: Vec<Value> = schema["types"]
        .as_array()
        .map(|types| {
            types
                .iter()
                .filter(|t| {
                    let name = t["name"].as_str().unwrap_or_default();
                    include_builtin || !(name.starts_with("__") || BUILTIN_SCALARS.contains(&name))
                })
                .map(summarize_type)
                .collect()
        })
        .unwrap_or_default();
    let directives: Vec<&Value> = schema["directives"]
        .as_array()
        .map(|d| d.iter().map(|d| &d["name"]).collect())
        .unwrap_or_default();
    json!({
        "query_type": schema["queryType"]["name"],
        "mutation_type": schema["mutationType"]["name"],
        "subscription_type": schema["subscriptionType"]["name"],
        "types": types,
        "directives": directives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_references_read_as_graphql() {
        let t = json!({ "kind": "NON_NULL", "name": null, "ofType": { "kind": "LIST", "name": null,
            "ofType": { "kind": "NON_NULL", "name": null, "ofType": { "kind": "OBJECT", "name": "User" } } } });
        assert_eq!(type_ref(&t), "[User!]!");
    }
}
