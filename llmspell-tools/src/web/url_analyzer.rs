//! `url_analyzer`: parse, normalise and resolve URLs; read a page's
//! metadata.

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{Body, Method, Outgoing, millis, text_of};
use super::url_parts::{NormalizeOptions, normalize, page_metadata, parse, parts};
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;

/// Works with URLs. Parsing, normalising and resolving never touch the
/// network; `fetch` requests the page through the network safety layer
/// ([`crate::net`]), so its host must be allowed.
///
/// - `parse { url }` → `{ scheme, username, has_password, host, host_kind,
///   port, effective_port, path, segments, query, params, params_by_name,
///   fragment, origin, href }`;
/// - `normalize { url, sort_query?, strip_fragment? }` → `{ normalized,
///   changed }` (RFC 3986 section 6 syntax-based normalisation, as the
///   WHATWG URL parser applies it, plus percent-encoding normalisation);
/// - `resolve { base, reference }` → `{ resolved }`;
/// - `fetch { url, timeout_ms?, max_bytes? }` → `{ url, status,
///   content_type, title, description, canonical, lang, open_graph,
///   twitter, elapsed_ms }`, read from the HTML with `scraper`.
#[derive(Debug, Clone)]
pub struct UrlAnalyzer {
    metadata: ComponentMetadata,
    client: SafeClient,
}

impl UrlAnalyzer {
    /// Creates the tool; `fetch` goes through `client`.
    pub fn new(client: SafeClient) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "url_analyzer",
                "Parses, normalizes and resolves URLs and reads a page's title and OpenGraph tags",
            ),
            client,
        }
    }
}

/// The operations of `url_analyzer`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Splits an absolute URL into its parts; output `{ scheme, host, port,
    /// path, query, params, fragment, ... }`.
    Parse {
        /// The absolute URL.
        url: String,
    },
    /// Normalises a URL: lower-case scheme and host, no default port, no
    /// dot segments, percent-encoding normalised; output `{ normalized,
    /// changed }`.
    Normalize {
        /// The absolute URL.
        url: String,
        /// Sort the query parameters by name, keeping the order of
        /// repeated names (default false).
        #[serde(default)]
        sort_query: bool,
        /// Drop the fragment (default false).
        #[serde(default)]
        strip_fragment: bool,
    },
    /// Resolves a relative reference against a base URL (RFC 3986
    /// section 5); output `{ resolved }`.
    Resolve {
        /// The absolute base URL.
        base: String,
        /// The reference: relative (`../a?b`) or absolute.
        reference: String,
    },
    /// Fetches an HTML page from an allowed host and reads its title, meta
    /// description, canonical link, language, OpenGraph and Twitter card
    /// tags; output `{ url, status, title, description, open_graph, ... }`.
    Fetch {
        /// The page's `http://` or `https://` URL; its host must be on
        /// `allowed_hosts`.
        url: String,
        /// Time limit in milliseconds (default and maximum:
        /// `net_timeout_ms`).
        #[schemars(range(min = 1))]
        timeout_ms: Option<u64>,
        /// Largest page read, in bytes (default and maximum:
        /// `net_max_response_bytes`).
        #[schemars(range(min = 1))]
        max_bytes: Option<u64>,
    },
}

/// How `url_analyzer` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

impl UrlAnalyzer {
    async fn fetch(
        &self,
        url: String,
        timeout_ms: Option<u64>,
        max_bytes: Option<u64>,
    ) -> Result<Value> {
        let max_bytes = self.client.max_bytes(max_bytes, "max_bytes")?;
        let mut headers = std::collections::BTreeMap::new();
        headers.insert(
            "accept".to_owned(),
            "text/html, application/xhtml+xml;q=0.9, */*;q=0.1".to_owned(),
        );
        let checked = Outgoing {
            method: Method::Get,
            url,
            headers: Some(headers),
            query: None,
            body: Body::None,
            auth: None,
            timeout_ms,
            max_redirects: None,
        }
        .check(&self.client, &SecretEnv::default(), "")?;
        let started = std::time::Instant::now();
        let response = checked.send(&self.client).await?;
        let status = response.status().as_u16();
        let final_url = response.url().clone();
        let content_type = response.header("content-type");
        let media = response.content_type();
        let bytes = response.bytes(max_bytes).await?;
        let is_html = media
            .as_deref()
            .is_none_or(|m| m == "text/html" || m == "application/xhtml+xml");
        let mut out = if is_html {
            let (html, _) = text_of(&bytes, content_type.as_deref());
            page_metadata(&html, &final_url)
        } else {
            json!({
                "title": null, "description": null, "canonical": null, "lang": null,
                "open_graph": {}, "twitter": {}
            })
        };
        out["url"] = json!(final_url.as_str());
        out["status"] = json!(status);
        out["content_type"] = json!(media);
        out["html"] = json!(is_html);
        out["elapsed_ms"] = json!(millis(started.elapsed()));
        Ok(out)
    }
}

#[async_trait]
impl Tool for UrlAnalyzer {
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
            json!({ "operation": "parse", "url": "https://user@example.com:8443/a/b?x=1&x=2#top" }),
            json!({ "operation": "normalize", "url": "HTTP://Example.COM:80/a/./b/../%7euser?b=2&a=1", "sort_query": true }),
            json!({ "operation": "resolve", "base": "https://example.com/docs/guide/", "reference": "../api?v=2" }),
            json!({ "operation": "fetch", "url": "https://example.com/" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "scheme": { "type": "string" },
                "host": { "type": ["string", "null"] },
                "host_kind": { "type": "string", "enum": ["domain", "ipv4", "ipv6", "none"] },
                "port": { "type": ["integer", "null"] },
                "effective_port": { "type": ["integer", "null"] },
                "path": { "type": "string" },
                "segments": { "type": "array", "items": { "type": "string" } },
                "query": { "type": ["string", "null"] },
                "params": { "type": "array", "description": "[name, value] pairs in order" },
                "params_by_name": { "type": "object" },
                "fragment": { "type": ["string", "null"] },
                "origin": { "type": "string" },
                "normalized": { "type": "string" },
                "changed": { "type": "boolean" },
                "resolved": { "type": "string" },
                "url": { "type": "string", "description": "fetch: the page's URL after redirects" },
                "status": { "type": "integer" },
                "title": { "type": ["string", "null"] },
                "description": { "type": ["string", "null"] },
                "canonical": { "type": ["string", "null"] },
                "lang": { "type": ["string", "null"] },
                "open_graph": { "type": "object", "description": "og:* tags without the prefix" },
                "twitter": { "type": "object", "description": "twitter:* tags without the prefix" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Parse { url } => Ok(parts(&parse(&url, "url")?)),
            Operation::Normalize {
                url,
                sort_query,
                strip_fragment,
            } => {
                let normalized = normalize(
                    &parse(&url, "url")?,
                    NormalizeOptions {
                        sort_query,
                        strip_fragment,
                    },
                )?;
                Ok(json!({
                    "normalized": normalized.as_str(),
                    "changed": normalized.as_str() != url.trim(),
                }))
            }
            Operation::Resolve { base, reference } => {
                let base = parse(&base, "base")?;
                let resolved = base.join(reference.trim()).map_err(|e| {
                    llmspell_core::Error::invalid_input(
                        "reference",
                        format!("cannot be resolved against `{base}`: {e}"),
                    )
                })?;
                Ok(json!({ "resolved": resolved.as_str() }))
            }
            Operation::Fetch {
                url,
                timeout_ms,
                max_bytes,
            } => self.fetch(url, timeout_ms, max_bytes).await,
        }
    }
}
