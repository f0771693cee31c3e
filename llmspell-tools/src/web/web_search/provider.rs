//! The interface every search provider implements, and what providers
//! share: answers, hits, errors.

use llmspell_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::config::SearchProviderKind;
use crate::net::{Redirects, SafeClient};

/// A query as a provider receives it.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    /// The search terms.
    pub(crate) text: &'a str,
    /// How many results the caller wants.
    pub(crate) count: usize,
}

/// One result as a provider gave it, before ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    /// The title, as plain text.
    pub(crate) title: String,
    /// The result's URL.
    pub(crate) url: String,
    /// The snippet, as plain text.
    pub(crate) snippet: String,
}

/// What a provider answered.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: u16,
    /// The media type, lower case, without parameters.
    pub(crate) media_type: Option<String>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// The `Retry-After` header.
    pub(crate) retry_after: Option<String>,
}

/// A search provider: how to ask it, and how to read what it answers.
/// Sending, size caps, timeouts and the network policy are the tool's
/// ([`crate::net::SafeClient`]); a provider only builds and reads.
pub(crate) trait SearchProvider: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn kind(&self) -> SearchProviderKind;

    /// The request for `query` to the service at `base`, with the API key
    /// when the provider takes one.
    ///
    /// # Errors
    /// A URL the network policy refuses; a key that is not a valid header
    /// value.
    fn request(
        &self,
        client: &SafeClient,
        base: &str,
        key: Option<&str>,
        query: &Query<'_>,
    ) -> Result<reqwest::RequestBuilder>;

    /// The results of a 2xx answer, in the provider's order.
    ///
    /// # Errors
    /// [`Error::External`] (service `web_search`) when the body is not in
    /// the provider's format.
    fn parse(&self, answer: &Answer) -> Result<Vec<Hit>>;

    /// The provider's own message in an error answer (4xx, 5xx).
    fn error_message(&self, answer: &Answer) -> Option<String> {
        generic_error_message(&answer.body)
    }
}

/// `base` with `path` appended (keeping a path the base has), checked by
/// the network policy; the field named in errors is the provider's
/// `base_url` setting.
pub(crate) fn endpoint(
    client: &SafeClient,
    kind: SearchProviderKind,
    base: &str,
    path: &str,
) -> Result<Url> {
    let joined = format!("{}{path}", base.trim().trim_end_matches('/'));
    client.check_url(&joined, &format!("web_search.providers.{kind}.base_url"))
}

/// A GET or POST to `url` that follows redirects only within its origin
/// (an API key must not travel to another host).
pub(crate) fn start(
    client: &SafeClient,
    method: reqwest::Method,
    url: Url,
) -> Result<reqwest::RequestBuilder> {
    let redirects = Redirects {
        max: client.limits().max_redirects,
        same_origin_only: true,
    };
    client.request(method, url, redirects)
}

/// A header value holding a key, marked sensitive (never logged).
pub(crate) fn secret_header(
    value: &str,
    kind: SearchProviderKind,
) -> Result<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        Error::invalid_input(
            format!("web_search.providers.{kind}.api_key_env"),
            "the key is not a valid header value",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// An answer that is not in the provider's format.
pub(crate) fn malformed(kind: SearchProviderKind, what: impl std::fmt::Display) -> Error {
    Error::External {
        service: "web_search".to_owned(),
        message: format!("{kind} answered in an unexpected format: {what}"),
        retryable: false,
        source: None,
    }
}

/// The body of `answer` read as `T` from JSON.
///
/// # Errors
/// [`malformed`] naming the JSON error.
pub(crate) fn json_body<T: DeserializeOwned>(
    kind: SearchProviderKind,
    answer: &Answer,
) -> Result<T> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        let ct = answer.media_type.as_deref().unwrap_or("no content type");
        malformed(
            kind,
            format!("the body ({ct}) is not the expected JSON: {e}"),
        )
    })
}

/// The message of the usual JSON error shapes: `{ "error": { "detail" |
/// "message" } }`, `{ "error": "..." }`, `{ "detail": { "error" } }`,
/// `{ "detail": "..." }`, `{ "message": "..." }`; else the start of a
/// short text body.
pub(crate) fn generic_error_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let found = v
            .pointer("/error/detail")
            .and_then(text)
            .or_else(|| v.pointer("/error/message").and_then(text))
            .or_else(|| v.get("error").and_then(text))
            .or_else(|| v.pointer("/detail/error").and_then(text))
            .or_else(|| v.get("detail").and_then(text))
            .or_else(|| v.get("message").and_then(text));
        if found.is_some() {
            return found;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = super::super::html::collapse(&strip_tags(&text));
    (!text.is_empty()).then(|| text.chars().take(200).collect())
}

/// The text of an HTML fragment (`<strong>rust</strong> &amp; co` →
/// `rust & co`), whitespace collapsed.
pub(crate) fn strip_tags(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return super::super::html::collapse(html);
    }
    let fragment = scraper::Html::parse_fragment(html);
    super::super::html::collapse(&fragment.root_element().text().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_the_usual_shapes() {
        for (body, expected) in [
            (
                r#"{"error":{"code":"X","detail":"bad token"}}"#,
                "bad token",
            ),
            (
                r#"{"detail":{"error":"Unauthorized: missing key"}}"#,
                "Unauthorized: missing key",
            ),
            (r#"{"detail":"slow down"}"#, "slow down"),
            (r#"{"message":"oops"}"#, "oops"),
            (
                "<html><body><h1>403 Forbidden</h1></body></html>",
                "403 Forbidden",
            ),
        ] {
            assert_eq!(
                generic_error_message(body.as_bytes()).as_deref(),
                Some(expected)
            );
        }
        assert_eq!(generic_error_message(b""), None);
        assert_eq!(strip_tags("<strong>rust</strong> &amp; co"), "rust & co");
    }
}
