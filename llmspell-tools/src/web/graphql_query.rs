//! `graphql_query`: GraphQL queries, mutations and introspection over HTTP.

use std::collections::BTreeMap;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use reqwest::header::ACCEPT;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::introspection;
use super::request::{Auth, Body, Method, Outgoing, millis, text_of};
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;

/// Runs GraphQL operations against an endpoint on an allowed host
/// (GraphQL over HTTP: a `POST` of `{ query, variables, operationName }`).
///
/// - `query { endpoint, query, variables?, operation_name? }` →
///   `{ data, errors, partial, status, elapsed_ms }`;
/// - `introspect { endpoint, include_builtin? }` runs the standard
///   introspection query → `{ query_type, mutation_type, subscription_type,
///   types, directives, status, elapsed_ms }`.
///
/// GraphQL errors: when the answer has `data` and a non-empty `errors`
/// array (a partial result), the call succeeds with both and `partial:
/// true`; when it has `errors` and no `data` (a query the server refused,
/// or a failure of the whole operation), the call fails with
/// [`Error::Execution`] listing every error's message and path. An answer
/// that is not a GraphQL response (not JSON, or neither `data` nor
/// `errors`) is an [`Error::External`] naming the HTTP status.
#[derive(Debug, Clone)]
pub struct GraphqlQuery {
    metadata: ComponentMetadata,
    client: SafeClient,
    secrets: SecretEnv,
}

impl GraphqlQuery {
    /// Creates the tool: requests go through `client`; credentials named
    /// by `*_env` come from `secrets`.
    pub fn new(client: SafeClient, secrets: SecretEnv) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "graphql_query",
                "Runs GraphQL queries, mutations and introspection against an allowed endpoint",
            ),
            client,
            secrets,
        }
    }
}

/// The operations of `graphql_query`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Runs a query or mutation; output `{ data, errors, partial, status,
    /// elapsed_ms }`. Errors with data are returned (`partial: true`);
    /// errors without data fail the call.
    Query {
        /// The endpoint's `http://` or `https://` URL; its host must be on
        /// `allowed_hosts`.
        endpoint: String,
        /// The GraphQL document.
        query: String,
        /// Values of the document's variables.
        variables: Option<Map<String, Value>>,
        /// Which operation of the document to run, when it has several.
        operation_name: Option<String>,
        /// Extra request headers, name to value.
        headers: Option<BTreeMap<String, String>>,
        /// Credentials, as for `http_request`: `bearer`, `basic` or
        /// `api_key`.
        auth: Option<Auth>,
        /// Time limit in milliseconds (default and maximum:
        /// `net_timeout_ms`).
        #[schemars(range(min = 1))]
        timeout_ms: Option<u64>,
    },
    /// Runs the standard introspection query; output `{ query_type,
    /// mutation_type, subscription_type, types, directives }`, each type
    /// with its kind, fields (name, type as `[User!]!`, arguments), input
    /// fields, enum values, interfaces and possible types.
    Introspect {
        /// The endpoint's `http://` or `https://` URL; its host must be on
        /// `allowed_hosts`.
        endpoint: String,
        /// Also list the introspection types (`__Schema`, ...) and the
        /// built-in scalars (default false).
        #[serde(default)]
        include_builtin: bool,
        /// Extra request headers, name to value.
        headers: Option<BTreeMap<String, String>>,
        /// Credentials, as for `http_request`.
        auth: Option<Auth>,
        /// Time limit in milliseconds (default and maximum:
        /// `net_timeout_ms`).
        #[schemars(range(min = 1))]
        timeout_ms: Option<u64>,
    },
}

/// How `graphql_query` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

/// A GraphQL response read from HTTP.
struct Answer {
    status: u16,
    data: Value,
    errors: Vec<Value>,
    elapsed_ms: f64,
}

impl GraphqlQuery {
    async fn post(
        &self,
        endpoint: String,
        document: Value,
        headers: Option<BTreeMap<String, String>>,
        auth: Option<Auth>,
        timeout_ms: Option<u64>,
    ) -> Result<Answer> {
        let mut headers = headers.unwrap_or_default();
        if !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case(ACCEPT.as_str()))
        {
            headers.insert(
                ACCEPT.as_str().to_owned(),
                "application/graphql-response+json, application/json".to_owned(),
            );
        }
        let checked = Outgoing {
            method: Method::Post,
            url: endpoint,
            headers: Some(headers),
            query: None,
            body: Body::Json(document),
            auth,
            timeout_ms,
            max_redirects: None,
        }
        .check(&self.client, &self.secrets, "")
        .map_err(|e| match e {
            Error::InvalidInput { field, message } if field == "url" => {
                Error::invalid_input("endpoint", message)
            }
            other => other,
        })?;
        let started = std::time::Instant::now();
        let response = checked.send(&self.client).await?;
        let status = response.status();
        let content_type = response.header("content-type");
        let bytes = response
            .bytes(self.client.limits().max_response_bytes)
            .await?;
        let elapsed_ms = millis(started.elapsed());
        let not_graphql = |why: String| Error::External {
            service: "graphql".to_owned(),
            message: format!("the endpoint answered HTTP {status} with {why}"),
            retryable: status.is_server_error(),
            source: None,
        };
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            let (text, _) = text_of(&bytes, content_type.as_deref());
            let excerpt: String = text.chars().take(200).collect();
            not_graphql(format!("a body that is not JSON ({e}): {excerpt:?}"))
        })?;
        let Value::Object(mut body) = body else {
            return Err(not_graphql("JSON that is not an object".to_owned()));
        };
        let data = body.remove("data");
        let errors = body.remove("errors");
        if data.is_none() && errors.is_none() {
            return Err(not_graphql(
                "JSON holding neither `data` nor `errors`".to_owned(),
            ));
        }
        let errors = match errors {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list,
            Some(other) => vec![other],
        };
        let data = data.unwrap_or(Value::Null);
        if data.is_null() && !errors.is_empty() {
            return Err(Error::Execution {
                component: "tool:graphql_query".to_owned(),
                message: format!(
                    "the GraphQL endpoint returned errors and no data (HTTP {status}): {}",
                    describe_errors(&errors)
                ),
            });
        }
        Ok(Answer {
            status: status.as_u16(),
            data,
            errors,
            elapsed_ms,
        })
    }
}

/// `message (at a.b.0)` for each error, joined with `; `.
fn describe_errors(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|e| {
            let message = e["message"]
                .as_str()
                .map_or_else(|| e.to_string(), str::to_owned);
            match e["path"].as_array() {
                Some(path) if !path.is_empty() => {
                    let path: Vec<String> = path
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect();
                    format!("{message} (at {})", path.join("."))
                }
                _ => message,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[async_trait]
impl Tool for GraphqlQuery {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Web
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({
                "operation": "query", "endpoint": "https://api.example.com/graphql",
                "query": "query Repo($name: String!) { repository(name: $name) { stars } }",
                "variables": { "name": "llmspell" }
            }),
            json!({ "operation": "introspect", "endpoint": "https://api.example.com/graphql" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "data": { "description": "query: the `data` of the response" },
                "errors": { "type": "array", "description": "query: GraphQL errors that came with data" },
                "partial": { "type": "boolean", "description": "query: errors came with the data" },
                "query_type": { "type": ["string", "null"] },
                "mutation_type": { "type": ["string", "null"] },
                "subscription_type": { "type": ["string", "null"] },
                "types": { "type": "array", "description": "introspect: the schema's types" },
                "directives": { "type": "array", "items": { "type": "string" } },
                "status": { "type": "integer", "description": "The HTTP status" },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["status", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Query {
                endpoint,
                query,
                variables,
                operation_name,
                headers,
                auth,
                timeout_ms,
            } => {
                let mut document = json!({ "query": query });
                if let Some(v) = variables {
                    document["variables"] = Value::Object(v);
                }
                if let Some(name) = operation_name {
                    document["operationName"] = json!(name);
                }
                let answer = self
                    .post(endpoint, document, headers, auth, timeout_ms)
                    .await?;
                Ok(json!({
                    "data": answer.data,
                    "partial": !answer.errors.is_empty(),
                    "errors": answer.errors,
                    "status": answer.status,
                    "elapsed_ms": answer.elapsed_ms,
                }))
            }
            Operation::Introspect {
                endpoint,
                include_builtin,
                headers,
                auth,
                timeout_ms,
            } => {
                let document = json!({
                    "query": introspection::QUERY,
                    "operationName": "IntrospectionQuery",
                });
                let answer = self
                    .post(endpoint, document, headers, auth, timeout_ms)
                    .await?;
                let schema = &answer.data["__schema"];
                if !schema.is_object() {
                    return Err(Error::External {
                        service: "graphql".to_owned(),
                        message: format!(
                            "the endpoint's answer to the introspection query has no \
                             `data.__schema` (introspection may be disabled){}",
                            if answer.errors.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", describe_errors(&answer.errors))
                            }
                        ),
                        retryable: false,
                        source: None,
                    });
                }
                let mut out = introspection::summarize(schema, include_builtin);
                out["status"] = json!(answer.status);
                out["elapsed_ms"] = json!(answer.elapsed_ms);
                Ok(out)
            }
        }
    }
}
