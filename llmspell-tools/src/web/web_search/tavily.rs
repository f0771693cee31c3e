//! The Tavily search API: `POST /search` with a JSON body `{ query,
//! max_results, search_depth }` and the key as a bearer token; results in
//! `results[]` as `{ title, url, content, score }`; errors as `{ "detail":
//! { "error": "…" } }`.

use llmspell_core::Result;
use serde::Deserialize;
use serde_json::json;

use super::config::SearchProviderKind;
use super::provider::{
    Answer, Hit, Query, SearchProvider, endpoint, json_body, secret_header, start, strip_tags,
};
use crate::net::SafeClient;

/// The most results Tavily returns for one request.
const MAX_COUNT: usize = 20;

/// The Tavily search API.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tavily;

#[derive(Deserialize)]
struct Response {
    results: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    content: String,
}

impl SearchProvider for Tavily {
    fn kind(&self) -> SearchProviderKind {
        SearchProviderKind::Tavily
    }

    fn request(
        &self,
        client: &SafeClient,
        base: &str,
        key: Option<&str>,
        query: &Query<'_>,
    ) -> Result<reqwest::RequestBuilder> {
        let url = endpoint(client, self.kind(), base, "/search")?;
        let mut request = start(client, reqwest::Method::POST, url)?.json(&json!({
            "query": query.text,
            "max_results": query.count.min(MAX_COUNT),
            "search_depth": "basic",
            "include_answer": false,
            "include_raw_content": false,
            "include_images": false,
        }));
        if let Some(key) = key {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                secret_header(&format!("Bearer {key}"), self.kind())?,
            );
        }
        Ok(request)
    }

    fn parse(&self, answer: &Answer) -> Result<Vec<Hit>> {
        let response: Response = json_body(self.kind(), answer)?;
        Ok(response
            .results
            .into_iter()
            .map(|r| Hit {
                title: strip_tags(&r.title),
                url: r.url,
                snippet: strip_tags(&r.content),
            })
            .collect())
    }
}
