//! DuckDuckGo's HTML results page: `GET /html/?q=…`; each result is a
//! `.result` block (ads are `.result--ad`) with the title link
//! `a.result__a` (its `href` a redirect `//duckduckgo.com/l/?uddg=<the
//! URL>`) and the snippet `.result__snippet`. A bot check (`.anomaly-modal`,
//! or status 202) means the service refused the query.

use llmspell_core::{Error, Result};
use scraper::{Html, Selector};

use super::config::SearchProviderKind;
use super::provider::{Answer, Hit, Query, SearchProvider, endpoint, malformed, start};
use crate::net::SafeClient;
use crate::web::html::text;

/// DuckDuckGo's HTML results page.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DuckDuckGo;

fn css(s: &str) -> Result<Selector> {
    Selector::parse(s).map_err(|e| Error::Other {
        message: format!("selector `{s}`: {e}"),
        source: None,
    })
}

/// The target of a result link: the `uddg` parameter of DuckDuckGo's
/// redirect, else the link itself (protocol-relative links as https).
fn target(href: &str) -> Option<String> {
    let absolute = if href.starts_with("//") {
        format!("https:{href}")
    } else if href.starts_with('/') {
        format!("https://duckduckgo.com{href}")
    } else {
        href.to_owned()
    };
    let url = url::Url::parse(&absolute).ok()?;
    let redirect = url
        .host_str()
        .is_some_and(|h| h == "duckduckgo.com" || h.ends_with(".duckduckgo.com"))
        && url.path().starts_with("/l/");
    if redirect {
        return url
            .query_pairs()
            .find(|(k, _)| k == "uddg")
            .map(|(_, v)| v.into_owned());
    }
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

impl SearchProvider for DuckDuckGo {
    fn kind(&self) -> SearchProviderKind {
        SearchProviderKind::DuckDuckGo
    }

    fn request(
        &self,
        client: &SafeClient,
        base: &str,
        _key: Option<&str>,
        query: &Query<'_>,
    ) -> Result<reqwest::RequestBuilder> {
        let mut url = endpoint(client, self.kind(), base, "/html/")?;
        url.query_pairs_mut().append_pair("q", query.text);
        Ok(start(client, reqwest::Method::GET, url)?.header(reqwest::header::ACCEPT, "text/html"))
    }

    fn parse(&self, answer: &Answer) -> Result<Vec<Hit>> {
        let html = String::from_utf8_lossy(&answer.body);
        let doc = Html::parse_document(&html);
        if answer.status == 202
            || doc
                .select(&css(".anomaly-modal, #challenge-form")?)
                .next()
                .is_some()
        {
            return Err(Error::External {
                service: "web_search".to_owned(),
                message: "duckduckgo refused the query with a bot check (rate limited); retry \
                          later or configure another provider"
                    .to_owned(),
                retryable: true,
                source: None,
            });
        }
        let (result, title, snippet) = (
            css(".result")?,
            css("a.result__a")?,
            css(".result__snippet")?,
        );
        let page = css("#links, .results, .serp__results, .no-results")?;
        if doc.select(&page).next().is_none() {
            return Err(malformed(
                self.kind(),
                "the page has no result list (`#links`); is the base URL DuckDuckGo's HTML endpoint?",
            ));
        }
        let mut hits = Vec::new();
        for block in doc.select(&result) {
            let classes = block.value().attr("class").unwrap_or_default();
            if classes.split_whitespace().any(|c| c == "result--ad") {
                continue;
            }
            let Some(link) = block.select(&title).next() else {
                continue;
            };
            let Some(url) = link.value().attr("href").and_then(target) else {
                continue;
            };
            hits.push(Hit {
                title: text(link),
                url,
                snippet: block.select(&snippet).next().map(text).unwrap_or_default(),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirect_links_are_decoded() {
        assert_eq!(
            target("//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.rust-lang.org%2F&rut=abc")
                .as_deref(),
            Some("https://www.rust-lang.org/")
        );
        assert_eq!(
            target("https://example.com/a").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(target("javascript:alert(1)"), None);
    }
}
