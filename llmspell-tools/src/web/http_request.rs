//! `http_request`: one HTTP request to an allowed host.

use std::collections::BTreeMap;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{Auth, Body, Method, Outgoing, QueryValue, ResponseType, decode_body, millis};
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;

/// Sends one HTTP request through the network safety layer
/// ([`crate::net`]) and returns the response.
///
/// The URL's host must be on `allowed_hosts` and every address connected
/// to (each redirect hop included) must be public or allowed by
/// `allowed_addresses`. A response of any status is a result (`ok` says
/// whether it was 2xx); refusals, timeouts, an oversized body and
/// connection failures are errors.
///
/// Output: `{ status, ok, url, address, headers, body, body_kind, bytes,
/// elapsed_ms }`, plus `json_error` when a JSON `Content-Type` did not
/// parse, or `saved_to` instead of `body` when the body was written to a
/// file (`save_to`, a path inside the file-system roots).
#[derive(Debug, Clone)]
pub struct HttpRequest {
    metadata: ComponentMetadata,
    client: SafeClient,
    sandbox: FsSandbox,
    secrets: SecretEnv,
    max_file_bytes: u64,
}

impl HttpRequest {
    /// Creates the tool: requests go through `client`; `save_to` files go
    /// under `sandbox`'s roots; credentials named by `*_env` come from
    /// `secrets`.
    pub fn new(client: SafeClient, sandbox: FsSandbox, secrets: SecretEnv) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "http_request",
                "Sends an HTTP request to an allowed host and returns the response",
            ),
            client,
            sandbox,
            secrets,
            max_file_bytes: crate::fs::DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Caps a body written with `save_to` at `bytes` (default 10 MiB, the
    /// file tools' `max_file_bytes`).
    #[must_use]
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }
}

/// The parameters of `http_request`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The `http://` or `https://` URL. Its host must be on `allowed_hosts`
    /// and its addresses public or on `allowed_addresses`.
    url: String,
    /// `GET` (the default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or
    /// `OPTIONS`.
    #[serde(default)]
    method: Method,
    /// Request headers, name to value.
    headers: Option<BTreeMap<String, String>>,
    /// Query parameters added to the URL, name to a value or a list of
    /// values (the parameter repeated).
    query: Option<BTreeMap<String, QueryValue>>,
    /// A JSON body (sent with `Content-Type: application/json`). At most
    /// one of `json`, `form` and `body`.
    json: Option<Value>,
    /// A form body, name to value (sent URL-encoded).
    form: Option<BTreeMap<String, String>>,
    /// A text body, sent as given.
    body: Option<String>,
    /// The `Content-Type` of `body` (default `text/plain; charset=utf-8`).
    content_type: Option<String>,
    /// Credentials: `{ "type": "bearer", "token" | "token_env" }`,
    /// `{ "type": "basic", "username", "password" | "password_env" }` or
    /// `{ "type": "api_key", "name"?, "value" | "value_env", "in"?:
    /// "header" | "query" }`. `*_env` names an environment variable on
    /// `secret_env`.
    auth: Option<Auth>,
    /// Time limit of the whole request in milliseconds, body included
    /// (default and maximum: `net_timeout_ms`, 20000).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
    /// Redirects to follow, 0 to return the redirect itself (default and
    /// maximum: `net_max_redirects`, 5).
    max_redirects: Option<u64>,
    /// Largest response body in bytes (default and maximum:
    /// `net_max_response_bytes`, 10 MiB).
    #[schemars(range(min = 1))]
    max_response_bytes: Option<u64>,
    /// How to return the body: `auto` (the default: JSON when the
    /// `Content-Type` says JSON and it parses, else text, else base64),
    /// `json` (an error when it does not parse), `text` or `base64`.
    #[serde(default)]
    response_type: ResponseType,
    /// Write the body to this file (inside the file-system roots) instead
    /// of returning it; at most `max_file_bytes` are written.
    save_to: Option<String>,
    /// Replace an existing `save_to` file (default false).
    #[serde(default)]
    overwrite: bool,
}

/// How `http_request` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

impl HttpRequest {
    async fn run(&self, p: Params) -> Result<Value> {
        let body = Body::from_fields(p.json, p.form, p.body, p.content_type, "")?;
        let max_bytes = self
            .client
            .max_bytes(p.max_response_bytes, "max_response_bytes")?;
        let target = match &p.save_to {
            Some(path) => Some(self.sandbox.resolve(path)?),
            None => None,
        };
        if p.save_to.is_some() && p.response_type != ResponseType::Auto {
            return Err(Error::invalid_input(
                "response_type",
                "`response_type` does not apply when the body is saved with `save_to`",
            ));
        }
        let checked = Outgoing {
            method: p.method,
            url: p.url,
            headers: p.headers,
            query: p.query,
            body,
            auth: p.auth,
            timeout_ms: p.timeout_ms,
            max_redirects: p.max_redirects,
        }
        .check(&self.client, &self.secrets, "")?;
        let started = std::time::Instant::now();
        let response = checked.send(&self.client).await?;
        let status = response.status();
        let mut out = json!({
            "status": status.as_u16(),
            "ok": status.is_success(),
            "url": response.url().as_str(),
            "address": response.remote_addr().map(|a| a.to_string()),
            "headers": response.headers_json(),
        });
        let content_type = response.header("content-type");
        if let Some(target) = target {
            let cap = max_bytes.min(self.max_file_bytes);
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| Error::External {
                        service: "filesystem".to_owned(),
                        message: format!("cannot create `{}`: {e}", dir.display()),
                        retryable: false,
                        source: None,
                    })?;
            }
            let written = response.save_to(&target, cap, p.overwrite).await?;
            out["saved_to"] = json!(self.sandbox.display_relative(&target));
            out["bytes"] = json!(written);
            out["elapsed_ms"] = json!(millis(started.elapsed()));
            return Ok(out);
        }
        let bytes = response.bytes(max_bytes).await?;
        let decoded = decode_body(&bytes, content_type.as_deref(), p.response_type)?;
        out["body"] = decoded.value;
        out["body_kind"] = json!(decoded.kind);
        out["bytes"] = json!(bytes.len());
        out["elapsed_ms"] = json!(millis(started.elapsed()));
        if let Some(e) = decoded.json_error {
            out["json_error"] = json!(e);
        }
        Ok(out)
    }
}

#[async_trait]
impl Tool for HttpRequest {
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
            json!({ "url": "https://api.example.com/items", "query": { "page": 2 } }),
            json!({
                "url": "https://api.example.com/items", "method": "POST",
                "json": { "name": "widget" },
                "auth": { "type": "bearer", "token_env": "EXAMPLE_API_TOKEN" }
            }),
            json!({ "url": "https://example.com/report.pdf", "save_to": "downloads/report.pdf" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "status": { "type": "integer" },
                "ok": { "type": "boolean", "description": "The status is 2xx" },
                "url": { "type": "string", "description": "The URL answered, after redirects" },
                "address": { "type": ["string", "null"], "description": "The address connected to" },
                "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                "body": { "description": "JSON, text or base64 as body_kind says" },
                "body_kind": { "type": "string", "enum": ["json", "text", "base64", "empty"] },
                "json_error": { "type": "string", "description": "Why a JSON Content-Type did not parse" },
                "bytes": { "type": "integer" },
                "saved_to": { "type": "string", "description": "The file the body was written to" },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["status", "ok", "url", "headers", "bytes", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?).await
    }
}
