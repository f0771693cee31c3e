//! The HTTP exchange both providers share: one POST with a JSON body, a
//! time limit per attempt, optional retries, and the mapping of every
//! failure into [`llmspell_core::Error`].
//!
//! | failure | error | retryable |
//! |---|---|---|
//! | connection refused, DNS, reset | `External` naming the URL | yes |
//! | no answer within the timeout | `Timeout` | (transient) |
//! | HTTP 408, 409, 429 (with `retry-after`), 5xx | `External` | yes |
//! | other HTTP 4xx | `External` with the provider's message | no |
//! | a body that is not the expected JSON | `External` naming what was missing | no |

use std::error::Error as StdError;
use std::time::Duration;

use llmspell_core::{Error, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::Value;

/// The longest a retry waits, whatever the server's `retry-after` says.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The first retry's wait when the server suggests none; doubled each time.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// The largest `retry-after` reported (one day); larger values are clamped.
const MAX_RETRY_AFTER_SECS: f64 = 86_400.0;
/// How much of an unparseable body goes into an error message.
const BODY_EXCERPT_CHARS: usize = 300;

/// Connection settings shared by a provider's calls. Immutable once built.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    service: String,
    base_url: Url,
    timeout: Duration,
    max_retries: u32,
    headers: HeaderMap,
    client: reqwest::Client,
}

/// A successful exchange: the parsed JSON body, or the response whose body
/// is still to be streamed.
pub(crate) enum Reply {
    /// A complete JSON body.
    Json(Value),
    /// A 2xx response with its body unread.
    Stream(reqwest::Response),
}

/// A failed attempt and the wait the server asked for, if any.
struct Failure {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Transport {
    /// Checks `base_url` and builds the HTTP client.
    ///
    /// `headers` are sent with every request (authentication, versions).
    pub(crate) fn new(
        service: &str,
        base_url: &str,
        timeout: Duration,
        max_retries: u32,
        headers: HeaderMap,
    ) -> Result<Self> {
        let parsed = Url::parse(base_url).map_err(|e| {
            Error::invalid_input(
                "base_url",
                format!(
                    "{base_url:?} is not a valid URL ({e}); expected e.g. http://localhost:11434/v1"
                ),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid_input(
                "base_url",
                format!("{base_url:?} must start with http:// or https://"),
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::invalid_input(
                "base_url",
                format!("{base_url:?} must not have a query or fragment"),
            ));
        }
        if timeout.is_zero() {
            return Err(Error::invalid_input("timeout", "must be greater than zero"));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("llmspell/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout);
        if is_loopback(&parsed) {
            // A local server (Ollama, llama.cpp) is never reached through a
            // proxy, whatever HTTP_PROXY says.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| Error::Provider {
            provider: service.to_owned(),
            message: format!("could not set up the HTTP client: {}", error_chain(&e)),
            retryable: false,
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        Ok(Self {
            service: service.to_owned(),
            base_url: parsed,
            timeout,
            max_retries,
            headers,
            client,
        })
    }

    /// The provider name used in errors.
    pub(crate) fn service(&self) -> &str {
        &self.service
    }

    /// The configured time limit per attempt.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The base URL, as configured.
    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `path` appended to the base URL (`https://h/v1` + `chat/completions`
    /// = `https://h/v1/chat/completions`).
    pub(crate) fn endpoint(&self, path: &str) -> Result<Url> {
        let joined = format!(
            "{}/{}",
            self.base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&joined)
            .map_err(|e| Error::invalid_input("base_url", format!("{joined:?}: {e}")))
    }

    /// POSTs `body` to `url`; with `stream`, returns as soon as the response
    /// headers arrive, unless the server answered with a JSON body instead
    /// of an event stream; otherwise reads and parses the whole JSON body. Each
    /// attempt has the transport's time limit; failures that may pass are
    /// retried up to `max_retries` times.
    pub(crate) async fn post(&self, url: &Url, body: &Value, stream: bool) -> Result<Reply> {
        let mut attempt = 0u32;
        loop {
            tracing::debug!(service = %self.service, %url, attempt, stream, "llm request");
            let outcome =
                match tokio::time::timeout(self.timeout, self.attempt(url, body, stream)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failure::from(self.timeout_error(url))),
                };
            match outcome {
                Ok(reply) => return Ok(reply),
                Err(failure) if attempt < self.max_retries && failure.error.is_transient() => {
                    let wait = failure
                        .retry_after
                        .unwrap_or_else(|| BASE_BACKOFF.saturating_mul(1 << attempt.min(16)))
                        .min(MAX_BACKOFF);
                    tracing::debug!(
                        service = %self.service, %url, attempt, ?wait,
                        error = %failure.error, "retrying llm request"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        body: &Value,
        stream: bool,
    ) -> std::result::Result<Reply, Failure> {
        let response = self
            .client
            .post(url.clone())
            .headers(self.headers.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(url, &e))?;
            return Err(Failure {
                error: self.status_error(url, status, retry_after, &bytes),
                retry_after,
            });
        }
        if stream && !is_json(response.headers()) {
            return Ok(Reply::Stream(response));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        serde_json::from_slice(&bytes)
            .map(Reply::Json)
            .map_err(|e| {
                Failure::from(
                    self.malformed(url, format!("body is not JSON ({e}): {}", excerpt(&bytes))),
                )
            })
    }

    /// The error for a request that got no complete answer.
    pub(crate) fn transport_error(&self, url: &Url, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.timeout_error(url);
        }
        let what = if e.is_connect() {
            format!("could not connect to {url}")
        } else if e.is_body() || e.is_decode() {
            format!("connection to {url} failed while reading the response")
        } else {
            format!("request to {url} failed")
        };
        Error::Provider {
            provider: self.service.clone(),
            message: format!("{what}: {}", error_chain(e)),
            retryable: !e.is_builder(),
            source: None,
        }
    }

    /// The error for no answer within the time limit.
    pub(crate) fn timeout_error(&self, url: &Url) -> Error {
        Error::Timeout {
            operation: format!("{} request to {url}", self.service),
            after: self.timeout,
        }
    }

    /// The error for a 2xx answer whose body is not what the protocol
    /// promises; retrying the same request would not help.
    pub(crate) fn malformed(&self, url: &Url, what: impl std::fmt::Display) -> Error {
        Error::Provider {
            provider: self.service.clone(),
            message: format!("malformed response from {url}: {what}"),
            retryable: false,
            source: None,
        }
    }

    fn status_error(
        &self,
        url: &Url,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Error {
        let detail = provider_message(body);
        let code = status.as_u16();
        let retryable = status.is_server_error() || matches!(code, 408 | 409 | 429);
        let mut message = if code == 429 {
            format!("rate limited by {url} (HTTP 429): {detail}")
        } else {
            format!("HTTP {code} from {url}: {detail}")
        };
        if let Some(wait) = retry_after {
            message.push_str(&format!("; retry after {} s", wait.as_secs_f64()));
        }
        Error::Provider {
            provider: self.service.clone(),
            message,
            retryable,
            source: None,
        }
    }
}

/// A key that `Debug` does not print, so a builder or provider logged with
/// `{:?}` does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Whether a response says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"))
}

/// Builds a header value, refusing characters HTTP forbids (a pasted key
/// with a newline, say) with an error naming `field`.
pub(crate) fn header_value(field: &str, value: &str, sensitive: bool) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid_input(
            field,
            "contains characters not allowed in an HTTP header (control characters or newlines)",
        )
    })?;
    v.set_sensitive(sensitive);
    Ok(v)
}

/// Adds one header to `headers`.
pub(crate) fn insert_header(
    headers: &mut HeaderMap,
    name: &'static str,
    field: &str,
    value: &str,
    sensitive: bool,
) -> Result<()> {
    headers.insert(
        HeaderName::from_static(name),
        header_value(field, value, sensitive)?,
    );
    Ok(())
}

/// The wait the server asked for: `retry-after-ms` (milliseconds) or
/// `retry-after` in seconds. HTTP-date values are not interpreted.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(
            ms.min(MAX_RETRY_AFTER_SECS * 1000.0) / 1000.0,
        ));
    }
    get(RETRY_AFTER.as_str())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER_SECS)))
}

/// The human message in an error body: `error.message` (OpenAI, Anthropic,
/// vLLM), a string `error` (Ollama's native form), a top-level `message`,
/// or else the start of the body.
fn provider_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = v
            .pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))
            .and_then(Value::as_str);
        if let Some(m) = found {
            return m.to_owned();
        }
    }
    if body.is_empty() {
        "(empty body)".to_owned()
    } else {
        excerpt(body)
    }
}

/// The start of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().count() > BODY_EXCERPT_CHARS {
        out.push_str("...");
    }
    out
}

/// An error and its causes, most general first, so a message says both
/// "error sending request" and "Connection refused".
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Transport {
        Transport::new("test", base, Duration::from_secs(1), 0, HeaderMap::new()).unwrap()
    }

    #[test]
    fn endpoint_appends_to_the_base_path() {
        let t = transport("https://api.example.com/v1/");
        assert_eq!(
            t.endpoint("chat/completions").unwrap().as_str(),
            "https://api.example.com/v1/chat/completions"
        );
        let t = transport("http://127.0.0.1:8080");
        assert_eq!(
            t.endpoint("/v1/messages").unwrap().as_str(),
            "http://127.0.0.1:8080/v1/messages"
        );
    }

    #[test]
    fn bad_base_urls_are_refused_at_build() {
        for bad in ["localhost:11434", "ftp://x", "http://h/v1?x=1", ""] {
            let err =
                Transport::new("t", bad, Duration::from_secs(1), 0, HeaderMap::new()).unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { ref field, .. } if field == "base_url"),
                "{bad}: {err}"
            );
        }
        let err = Transport::new("t", "http://h", Duration::ZERO, 0, HeaderMap::new()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "timeout"));
    }

    #[test]
    fn provider_messages_are_found_in_each_error_shape() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"bad key"}}"#),
            "bad key"
        );
        assert_eq!(
            provider_message(br#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(provider_message(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(provider_message(b""), "(empty body)");
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn status_errors_classify_retryable() {
        let t = transport("http://h");
        let url = t.endpoint("x").unwrap();
        let e = t.status_error(
            &url,
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            b"{}",
        );
        assert!(e.is_transient());
        assert!(e.to_string().contains("retry after 3 s"), "{e}");
        let e = t.status_error(&url, StatusCode::BAD_GATEWAY, None, b"");
        assert!(e.is_transient());
        let e = t.status_error(
            &url,
            StatusCode::UNAUTHORIZED,
            None,
            br#"{"error":{"message":"no"}}"#,
        );
        assert!(!e.is_transient());
        assert!(e.to_string().contains("HTTP 401") && e.to_string().contains("no"));
    }

    #[test]
    fn header_values_refuse_newlines() {
        let err = header_value("api_key", "sk-abc\n", true).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "api_key"));
        assert!(
            header_value("api_key", "sk-abc", true)
                .unwrap()
                .is_sensitive()
        );
    }
}
