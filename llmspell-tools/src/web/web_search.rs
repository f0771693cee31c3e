//! `web_search`: one query to a search provider, results normalised.

mod brave;
mod config;
mod duckduckgo;
mod provider;
mod searxng;
mod tavily;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub use config::{
    DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT, SearchEndpoint, SearchProviderKind, WebSearchConfig,
};
use provider::{Answer, Hit, Query, SearchProvider};

use super::request::millis;
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;

/// Longest query, in characters.
const MAX_QUERY_CHARS: usize = 2000;

/// Searches the web through one of several providers and returns the
/// results normalised to `{ title, url, snippet, rank }`.
///
/// Providers ([`SearchProviderKind`]): `duckduckgo` (its HTML results page,
/// no key), `searxng` (a SearXNG instance's JSON API, no key), `brave` (the
/// Brave Search API) and `tavily` (the Tavily API). Each is reached at its
/// configured `base_url` ([`WebSearchConfig`], `[web_search]` in
/// `llmspell.toml`) through the network safety layer ([`crate::net`]), so
/// its host must be on `allowed_hosts`; an API key is read from the
/// environment variable `api_key_env` names, which must be on
/// `secret_env`.
///
/// Output: `{ provider, query, results: [{ title, url, snippet, rank }],
/// count, elapsed_ms }`. A provider's refusal (401/403), rate limit (429,
/// retryable, with its `Retry-After`), failure (5xx, retryable) or an
/// answer not in its format is an [`Error::External`] (service
/// `web_search`) naming the provider, the status and the provider's own
/// message.
#[derive(Debug, Clone)]
pub struct WebSearch {
    metadata: ComponentMetadata,
    client: SafeClient,
    secrets: SecretEnv,
    config: WebSearchConfig,
}

impl WebSearch {
    /// Creates the tool: providers as `config` says, reached through
    /// `client`, keys read through `secrets`.
    pub fn new(client: SafeClient, secrets: SecretEnv, config: WebSearchConfig) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "web_search",
                "Searches the web through DuckDuckGo, SearXNG, Brave or Tavily and returns ranked results",
            ),
            client,
            secrets,
            config,
        }
    }
}

/// The parameters of `web_search`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The search terms (at most 2000 characters).
    query: String,
    /// The provider: `duckduckgo`, `searxng`, `brave` or `tavily` (default:
    /// `[web_search] provider`, else the first configured one, else
    /// `duckduckgo`).
    provider: Option<String>,
    /// Most results returned (default and maximum: `[web_search]
    /// max_results`, 10 unless configured).
    #[schemars(range(min = 1, max = 50))]
    max_results: Option<usize>,
    /// Time limit in milliseconds (default and maximum: `net_timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

/// How `web_search` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// The implementation of `kind`.
fn provider(kind: SearchProviderKind) -> Box<dyn SearchProvider> {
    match kind {
        SearchProviderKind::DuckDuckGo => Box::new(duckduckgo::DuckDuckGo),
        SearchProviderKind::Searxng => Box::new(searxng::Searxng),
        SearchProviderKind::Brave => Box::new(brave::Brave),
        SearchProviderKind::Tavily => Box::new(tavily::Tavily),
    }
}

/// Hits without a title or an http(s) URL dropped, repeated URLs dropped,
/// at most `max`, ranked from 1.
fn normalise(hits: Vec<Hit>, max: usize) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    hits.into_iter()
        .filter(|h| {
            !h.title.is_empty()
                && url::Url::parse(&h.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        })
        .filter(|h| seen.insert(h.url.clone()))
        .take(max)
        .enumerate()
        .map(
            |(i, h)| json!({ "title": h.title, "url": h.url, "snippet": h.snippet, "rank": i + 1 }),
        )
        .collect()
}

/// The error for a provider's non-2xx answer.
fn status_error(
    kind: SearchProviderKind,
    answer: &Answer,
    message: Option<String>,
    key_env: Option<&str>,
) -> Error {
    let status = answer.status;
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let said = message.map(|m| format!(": {m}")).unwrap_or_default();
    let (what, retryable) = match status {
        401 | 403 => (
            match key_env {
                Some(var) => format!(
                    "{kind} refused the request ({status} {reason}){said}; check the key in `{var}`"
                ),
                None => format!("{kind} refused the request ({status} {reason}){said}"),
            },
            false,
        ),
        429 => (
            format!(
                "{kind} rate limited the request (429 {reason}){said}{}",
                answer
                    .retry_after
                    .as_deref()
                    .map(|s| format!("; retry after {s} s"))
                    .unwrap_or_default()
            ),
            true,
        ),
        s if s >= 500 => (format!("{kind} failed ({status} {reason}){said}"), true),
        _ => (format!("{kind} answered {status} {reason}{said}"), false),
    };
    Error::External {
        service: "web_search".to_owned(),
        message: what,
        retryable,
        source: None,
    }
}

impl WebSearch {
    async fn run(&self, p: Params) -> Result<Value> {
        let query = p.query.trim();
        if query.is_empty() {
            return Err(Error::invalid_input(
                "query",
                "expected search terms, got an empty string",
            ));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::invalid_input(
                "query",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let kind = match &p.provider {
            Some(name) => name
                .parse::<SearchProviderKind>()
                .map_err(|e| Error::invalid_input("provider", e))?,
            None => self.config.default_provider(),
        };
        let cap = self.config.max_results.clamp(1, MAX_RESULTS_LIMIT);
        let max = match p.max_results {
            None => cap,
            Some(n) if (1..=cap).contains(&n) => n,
            Some(n) => {
                return Err(Error::invalid_input(
                    "max_results",
                    format!("expected 1 to {cap} (the configured `max_results`), got {n}"),
                ));
            }
        };
        let timeout = self.client.timeout(p.timeout_ms, "timeout_ms")?;
        let endpoint = self.config.endpoint(kind);
        let base = endpoint
            .base_url
            .clone()
            .or_else(|| kind.default_base_url().map(str::to_owned))
            .ok_or_else(|| {
                Error::invalid_input(
                    "provider",
                    format!(
                        "{kind} has no public service: configure its `base_url` under \
                         [web_search.providers.{kind}]"
                    ),
                )
            })?;
        let key = match (&endpoint.api_key_env, kind.needs_key()) {
            (Some(var), _) => Some(
                self.secrets
                    .read(var, &format!("web_search.providers.{kind}.api_key_env"))?,
            ),
            (None, true) => {
                return Err(Error::invalid_input(
                    "provider",
                    format!(
                        "{kind} needs an API key: set `api_key_env` under \
                         [web_search.providers.{kind}] to the variable holding it, and list \
                         that variable in `secret_env`"
                    ),
                ));
            }
            (None, false) => None,
        };
        let search = provider(kind);
        let request = search.request(
            &self.client,
            &base,
            key.as_deref(),
            &Query {
                text: query,
                count: max,
            },
        )?;
        let started = std::time::Instant::now();
        let response = self.client.send(request, timeout).await?;
        let status = response.status().as_u16();
        let retry_after = response.header("retry-after");
        let answer_location = response.header("location");
        let media_type = response.content_type();
        let body = response
            .bytes(self.client.limits().max_response_bytes)
            .await?;
        let answer = Answer {
            status,
            media_type,
            body,
            retry_after,
        };
        if (300..400).contains(&status) {
            let location = answer_location.unwrap_or_default();
            return Err(Error::External {
                service: "web_search".to_owned(),
                message: format!(
                    "{kind} answered a redirect ({status}) to `{location}` on another origin, \
                     which is not followed: configure the final `base_url`"
                ),
                retryable: false,
                source: None,
            });
        }
        if !(200..300).contains(&status) {
            let message = search.error_message(&answer);
            return Err(status_error(
                kind,
                &answer,
                message,
                endpoint.api_key_env.as_deref(),
            ));
        }
        let results = normalise(search.parse(&answer)?, max);
        Ok(json!({
            "provider": kind.as_str(),
            "query": query,
            "count": results.len(),
            "results": results,
            "elapsed_ms": millis(started.elapsed()),
        }))
    }
}

#[async_trait]
impl Tool for WebSearch {
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
            json!({ "query": "rust async runtime", "max_results": 2 }),
            json!({ "query": "llmspell hooks", "provider": "searxng" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "provider": { "type": "string", "enum": ["duckduckgo", "searxng", "brave", "tavily"] },
                "query": { "type": "string" },
                "count": { "type": "integer" },
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": { "type": "string" },
                            "url": { "type": "string" },
                            "snippet": { "type": "string" },
                            "rank": { "type": "integer", "minimum": 1 }
                        },
                        "required": ["title", "url", "snippet", "rank"]
                    }
                },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["provider", "query", "count", "results", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_ranked_deduplicated_and_capped() {
        let hit = |t: &str, u: &str| Hit {
            title: t.into(),
            url: u.into(),
            snippet: String::new(),
        };
        let out = normalise(
            vec![
                hit("A", "https://a.example/"),
                hit("", "https://empty-title.example/"),
                hit("A again", "https://a.example/"),
                hit("Bad", "javascript:alert(1)"),
                hit("B", "https://b.example/"),
                hit("C", "https://c.example/"),
            ],
            2,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0]["title"].clone(), out[0]["rank"].clone()),
            (json!("A"), json!(1))
        );
        assert_eq!(
            (out[1]["title"].clone(), out[1]["rank"].clone()),
            (json!("B"), json!(2))
        );
    }
}
