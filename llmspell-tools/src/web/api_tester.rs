//! `api_tester`: one request and checks of its response, as a report.

use std::collections::BTreeMap;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::assertions::{Assertion, Observed, Prepared, excerpt};
use super::request::{Auth, Body, Method, Outgoing, QueryValue, millis, text_of};
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;

/// Most assertions in one call.
const MAX_ASSERTIONS: usize = 100;

/// Sends one request (as `http_request` does, through the network safety
/// layer) and checks the response against assertions: status (exact or
/// range), values in the JSON body (JSONPath, RFC 9535, or JSON Pointer,
/// RFC 6901: equals, matches a regular expression, exists), headers
/// (equals, contains, exists), latency and body text.
///
/// Output: `{ passed, total, failed, status, latency_ms, url, assertions:
/// [{ index, type, passed, expected, actual, message? }], body_excerpt?,
/// error? }`. A failed check is a report, not an error; so is a request
/// that got no response (a timeout, a refused connection, an oversized
/// body): `error` says why and every assertion fails. Invalid assertions
/// are refused before the request is sent, and a refused host or address
/// is an error as for every network tool.
#[derive(Debug, Clone)]
pub struct ApiTester {
    metadata: ComponentMetadata,
    client: SafeClient,
    secrets: SecretEnv,
}

impl ApiTester {
    /// Creates the tool: requests go through `client`; credentials named
    /// by `*_env` come from `secrets`.
    pub fn new(client: SafeClient, secrets: SecretEnv) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "api_tester",
                "Sends a request to an allowed host and checks status, JSON values, headers and latency",
            ),
            client,
            secrets,
        }
    }
}

/// The request `api_tester` sends.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
struct ApiRequest {
    /// The `http://` or `https://` URL; its host must be on
    /// `allowed_hosts`.
    url: String,
    /// `GET` (the default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or
    /// `OPTIONS`.
    #[serde(default)]
    method: Method,
    /// Request headers, name to value.
    headers: Option<BTreeMap<String, String>>,
    /// Query parameters, name to a value or a list of values.
    query: Option<BTreeMap<String, QueryValue>>,
    /// A JSON body. At most one of `json`, `form` and `body`.
    json: Option<Value>,
    /// A form body, name to value.
    form: Option<BTreeMap<String, String>>,
    /// A text body.
    body: Option<String>,
    /// The `Content-Type` of `body`.
    content_type: Option<String>,
    /// Credentials, as for `http_request`.
    auth: Option<Auth>,
    /// Time limit in milliseconds (default and maximum: `net_timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
    /// Redirects to follow (default and maximum: `net_max_redirects`).
    max_redirects: Option<u64>,
}

/// The parameters of `api_tester`.
#[derive(Deserialize, JsonSchema, Debug)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The request: `url`, `method`, `headers`, `query`, `json` | `form` |
    /// `body`, `auth`, `timeout_ms`, `max_redirects`, as for
    /// `http_request`.
    request: ApiRequest,
    /// The checks, each `{ "type": ... }`: `status` (`equals`, or `min`
    /// and/or `max`), `json_path` (`path` as JSONPath `$.a[0]` or JSON
    /// Pointer `/a/0`, and one of `equals`, `matches`, `exists`), `header`
    /// (`name`, and one of `equals`, `contains`, `exists`), `latency`
    /// (`max_ms`), `body_contains` (`text`). At most 100.
    assertions: Vec<Assertion>,
}

/// How `api_tester` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

impl ApiTester {
    async fn run(&self, p: Params) -> Result<Value> {
        if p.assertions.is_empty() || p.assertions.len() > MAX_ASSERTIONS {
            return Err(Error::invalid_input(
                "assertions",
                format!(
                    "expected 1 to {MAX_ASSERTIONS} assertions, got {}",
                    p.assertions.len()
                ),
            ));
        }
        let prepared = p
            .assertions
            .into_iter()
            .enumerate()
            .map(|(i, a)| Prepared::new(a, i))
            .collect::<Result<Vec<_>>>()?;
        let r = p.request;
        let body = Body::from_fields(r.json, r.form, r.body, r.content_type, "request.")?;
        let checked = Outgoing {
            method: r.method,
            url: r.url,
            headers: r.headers,
            query: r.query,
            body,
            auth: r.auth,
            timeout_ms: r.timeout_ms,
            max_redirects: r.max_redirects,
        }
        .check(&self.client, &self.secrets, "request.")?;
        let started = std::time::Instant::now();
        let max_bytes = self.client.limits().max_response_bytes;
        let answer = match checked.send(&self.client).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let url = response.url().to_string();
                let content_type = response.header("content-type");
                response
                    .bytes(max_bytes)
                    .await
                    .map(|bytes| (status, headers, url, content_type, bytes))
            }
            Err(e) => Err(e),
        };
        let latency_ms = millis(started.elapsed());
        let (status, headers, url, content_type, bytes) = match answer {
            Ok(a) => a,
            Err(e @ (Error::SecurityViolation { .. } | Error::InvalidInput { .. })) => {
                return Err(e);
            }
            Err(e) => {
                let why = e.to_string();
                let entries: Vec<Value> = prepared
                    .iter()
                    .enumerate()
                    .map(|(i, a)| a.unanswered(i, &why))
                    .collect();
                return Ok(json!({
                    "passed": false,
                    "total": entries.len(),
                    "failed": entries.len(),
                    "status": null,
                    "latency_ms": latency_ms,
                    "assertions": entries,
                    "error": why,
                }));
            }
        };
        let (text, _) = text_of(&bytes, content_type.as_deref());
        let parsed: std::result::Result<Value, String> =
            serde_json::from_slice(&bytes).map_err(|e| e.to_string());
        let seen = Observed {
            status,
            headers: &headers,
            latency_ms,
            text: &text,
            json: parsed.as_ref().map_err(String::as_str),
        };
        let entries: Vec<Value> = prepared
            .iter()
            .enumerate()
            .map(|(i, a)| a.check(i, &seen))
            .collect();
        let failed = entries.iter().filter(|e| e["passed"] != true).count();
        let mut out = json!({
            "passed": failed == 0,
            "total": entries.len(),
            "failed": failed,
            "status": status,
            "latency_ms": latency_ms,
            "url": url,
            "assertions": entries,
        });
        if failed > 0 {
            out["body_excerpt"] = json!(excerpt(&text, 500));
        }
        Ok(out)
    }
}

#[async_trait]
impl Tool for ApiTester {
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
        vec![json!({
            "request": { "url": "https://api.example.com/items/7" },
            "assertions": [
                { "type": "status", "equals": 200 },
                { "type": "json_path", "path": "$.id", "equals": 7 },
                { "type": "json_path", "path": "/name", "matches": "^[A-Z]" },
                { "type": "header", "name": "content-type", "contains": "json" },
                { "type": "latency", "max_ms": 500 }
            ]
        })]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "passed": { "type": "boolean", "description": "Every assertion passed" },
                "total": { "type": "integer" },
                "failed": { "type": "integer" },
                "status": { "type": ["integer", "null"] },
                "latency_ms": { "type": "number" },
                "url": { "type": "string" },
                "assertions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "index": { "type": "integer" },
                            "type": { "type": "string" },
                            "passed": { "type": "boolean" },
                            "expected": {},
                            "actual": {},
                            "message": { "type": "string" }
                        },
                        "required": ["index", "type", "passed", "expected", "actual"]
                    }
                },
                "body_excerpt": { "type": "string", "description": "The body's start, when a check failed" },
                "error": { "type": "string", "description": "Why no response came" }
            },
            "required": ["passed", "total", "failed", "status", "latency_ms", "assertions"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?).await
    }
}
