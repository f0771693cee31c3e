//! The Brave Search API: `GET /res/v1/web/search?q=…&count=…` with the key
//! in `X-Subscription-Token`; results in `web.results[]` as `{ title, url,
//! description }` (with `<strong>` markup); errors as `{ "type":
//! "ErrorResponse", "error": { "code", "detail", "status" } }`.

use llmspell_core::Result;
use serde::Deserialize;

use super::config::SearchProviderKind;
use super::provider::{
    Answer, Hit, Query, SearchProvider, endpoint, json_body, secret_header, start, strip_tags,
};
use crate::net::SafeClient;

/// The most results Brave returns for one request.
const MAX_COUNT: usize = 20;

/// The Brave Search API.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Brave;

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    web: Option<Web>,
}

#[derive(Deserialize)]
struct Web {
    #[serde(default)]
    results: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
}

impl SearchProvider for Brave {
    fn kind(&self) -> SearchProviderKind {
        SearchProviderKind::Brave
    }

    fn request(
        &self,
        client: &SafeClient,
        base: &str,
        key: Option<&str>,
        query: &Query<'_>,
    ) -> Result<reqwest::RequestBuilder> {
        let mut url = endpoint(client, self.kind(), base, "/res/v1/web/search")?;
        url.query_pairs_mut()
            .append_pair("q", query.text)
            .append_pair("count", &query.count.min(MAX_COUNT).to_string());
        let mut request = start(client, reqwest::Method::GET, url)?
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = key {
            request = request.header("x-subscription-token", secret_header(key, self.kind())?);
        }
        Ok(request)
    }

    fn parse(&self, answer: &Answer) -> Result<Vec<Hit>> {
        let response: Response = json_body(self.kind(), answer)?;
        Ok(response
            .web
            .map(|w| w.results)
            .unwrap_or_default()
            .into_iter()
            .map(|r| Hit {
                title: strip_tags(&r.title),
                url: r.url,
                snippet: strip_tags(&r.description),
            })
            .collect())
    }
}
