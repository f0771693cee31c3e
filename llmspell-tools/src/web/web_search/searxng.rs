//! A SearXNG instance's JSON API: `GET /search?q=…&format=json`; results
//! in `results[]` as `{ title, url, content, engine }`. An instance whose
//! `search.formats` leaves out `json` answers 403.

use llmspell_core::Result;
use serde::Deserialize;

use super::config::SearchProviderKind;
use super::provider::{
    Answer, Hit, Query, SearchProvider, endpoint, generic_error_message, json_body, start,
    strip_tags,
};
use crate::net::SafeClient;

/// A SearXNG instance.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Searxng;

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
    content: Option<String>,
}

impl SearchProvider for Searxng {
    fn kind(&self) -> SearchProviderKind {
        SearchProviderKind::Searxng
    }

    fn request(
        &self,
        client: &SafeClient,
        base: &str,
        _key: Option<&str>,
        query: &Query<'_>,
    ) -> Result<reqwest::RequestBuilder> {
        let mut url = endpoint(client, self.kind(), base, "/search")?;
        url.query_pairs_mut()
            .append_pair("q", query.text)
            .append_pair("format", "json");
        Ok(start(client, reqwest::Method::GET, url)?
            .header(reqwest::header::ACCEPT, "application/json"))
    }

    fn parse(&self, answer: &Answer) -> Result<Vec<Hit>> {
        let response: Response = json_body(self.kind(), answer)?;
        Ok(response
            .results
            .into_iter()
            .map(|r| Hit {
                title: strip_tags(&r.title),
                url: r.url,
                snippet: strip_tags(r.content.as_deref().unwrap_or_default()),
            })
            .collect())
    }

    fn error_message(&self, answer: &Answer) -> Option<String> {
        let message = generic_error_message(&answer.body);
        if answer.status == 403 {
            let hint = "the instance may not serve JSON: enable `json` in its `search.formats`";
            return Some(match message {
                Some(m) => format!("{m} ({hint})"),
                None => hint.to_owned(),
            });
        }
        message
    }
}
