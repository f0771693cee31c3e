//! Fetching a document (an HTML page, a sitemap, robots.txt) through the
//! network safety layer, for the tools that read what they fetch.

use std::collections::BTreeMap;
use std::time::Duration;

use llmspell_core::{Error, Result};
use url::Url;

use super::request::{Body, Method, Outgoing, text_of};
use crate::net::{SafeClient, SecretEnv};

/// A fetched document.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    /// The URL answered, after redirects.
    pub(crate) url: Url,
    /// The status.
    pub(crate) status: u16,
    /// The full `Content-Type` header.
    pub(crate) content_type: Option<String>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// How long the request took.
    pub(crate) elapsed: Duration,
}

impl Fetched {
    /// The media type, lower case, without parameters.
    pub(crate) fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as text in the charset of its `Content-Type` (default
    /// UTF-8).
    pub(crate) fn text(&self) -> String {
        text_of(&self.body, self.content_type.as_deref()).0
    }

    /// An error for a status that is not 2xx: `External` (service
    /// `http`), retryable for 429 and 5xx.
    pub(crate) fn require_success(&self) -> Result<()> {
        if (200..300).contains(&self.status) {
            return Ok(());
        }
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        Err(Error::External {
            service: "http".to_owned(),
            message: format!("GET {} answered {} {reason}", self.url, self.status)
                .trim_end()
                .to_owned(),
            retryable: self.status == 429 || self.status >= 500,
            source: None,
        })
    }

    /// Whether the body is HTML by its `Content-Type` (or has none).
    pub(crate) fn is_html(&self) -> bool {
        self.media_type()
            .is_none_or(|m| m == "text/html" || m == "application/xhtml+xml")
    }
}

/// GETs `url` (a call's field `field`) through `client`, sending `accept`,
/// within `timeout_ms` (default and maximum `net_timeout_ms`), reading at
/// most `max_bytes`.
///
/// # Errors
/// As [`SafeClient::send`] and [`crate::net::SafeResponse::bytes`]: a
/// refused URL or address, a timeout, a connection failure, a body over
/// `max_bytes`.
pub(crate) async fn get(
    client: &SafeClient,
    url: &str,
    field: &str,
    accept: &str,
    timeout_ms: Option<u64>,
    max_bytes: u64,
) -> Result<Fetched> {
    let mut headers = BTreeMap::new();
    headers.insert("accept".to_owned(), accept.to_owned());
    let checked = Outgoing {
        method: Method::Get,
        url: url.to_owned(),
        headers: Some(headers),
        query: None,
        body: Body::None,
        auth: None,
        timeout_ms,
        max_redirects: None,
    }
    .check(client, &SecretEnv::default(), "")
    .map_err(|e| rename_url_field(e, field))?;
    let started = std::time::Instant::now();
    let response = checked.send(client).await?;
    let status = response.status().as_u16();
    let final_url = response.url().clone();
    let content_type = response.header("content-type");
    let body = response.bytes(max_bytes).await?;
    Ok(Fetched {
        url: final_url,
        status,
        content_type,
        body,
        elapsed: started.elapsed(),
    })
}

/// An `InvalidInput` about `url` renamed to `field`.
fn rename_url_field(e: Error, field: &str) -> Error {
    match e {
        Error::InvalidInput { field: f, message } if f == "url" => Error::InvalidInput {
            field: field.to_owned(),
            message,
        },
        other => other,
    }
}

/// HTML pages, preferred to anything else.
pub(crate) const ACCEPT_HTML: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";
