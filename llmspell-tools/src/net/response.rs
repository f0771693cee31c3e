//! [`SafeResponse`]: a response whose body is read with a byte cap, into
//! memory or into a file.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use llmspell_core::{Error, Result};
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::client::map_error;

/// A response from [`SafeClient::send`](super::SafeClient::send). Its body
/// can only be read with a byte cap: [`bytes`](Self::bytes) or
/// [`save_to`](Self::save_to). A `Content-Length` above the cap is refused
/// before reading; a body without one is refused as soon as it passes the
/// cap.
#[derive(Debug)]
pub struct SafeResponse {
    response: reqwest::Response,
    what: String,
    timeout: Duration,
    started: Instant,
    head: bool,
}

impl SafeResponse {
    pub(crate) fn new(
        response: reqwest::Response,
        what: String,
        timeout: Duration,
        started: Instant,
        head: bool,
    ) -> Self {
        Self {
            response,
            what,
            timeout,
            started,
            head,
        }
    }

    /// The status.
    pub fn status(&self) -> reqwest::StatusCode {
        self.response.status()
    }

    /// The headers.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        self.response.headers()
    }

    /// One header as text (lossy), when present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.response
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// The headers as a JSON object, names lowercased, repeated headers
    /// joined with `, `.
    pub fn headers_json(&self) -> Value {
        let mut out = Map::new();
        for (name, value) in self.response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match out.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                _ => {
                    out.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        Value::Object(out)
    }

    /// The URL of the response (after redirects).
    pub fn url(&self) -> &Url {
        self.response.url()
    }

    /// The address connected to.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.response.remote_addr()
    }

    /// The `Content-Type` without parameters, lowercased.
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// Time since the request was sent.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn too_large(&self, limit: u64, requested: u64) -> Error {
        tracing::debug!(request = %self.what, limit, requested, "response body over the cap");
        Error::ResourceLimitExceeded {
            resource: "response_bytes".to_owned(),
            limit,
            requested,
        }
    }

    fn check_length(&self, max: u64) -> Result<()> {
        match self.response.content_length() {
            Some(len) if !self.head && len > max => Err(self.too_large(max, len)),
            _ => Ok(()),
        }
    }

    /// Reads the body, at most `max` bytes.
    ///
    /// # Errors
    /// [`Error::ResourceLimitExceeded`] (resource `response_bytes`) past
    /// `max`; [`Error::Timeout`] when the request's time runs out while
    /// reading; [`Error::External`] when the connection fails.
    pub async fn bytes(mut self, max: u64) -> Result<Vec<u8>> {
        self.check_length(max)?;
        let mut body = Vec::new();
        while let Some(chunk) = self
            .response
            .chunk()
            .await
            .map_err(|e| map_error(&e, &self.what, self.timeout))?
        {
            let total = body.len() as u64 + chunk.len() as u64;
            if total > max {
                return Err(self.too_large(max, total));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Streams the body into the file `target` (an absolute path the
    /// caller has confined, e.g. with [`FsSandbox`](crate::FsSandbox)),
    /// at most `max` bytes. The body goes to a temporary file in the same
    /// directory that is renamed into place when complete, so `target` is
    /// never left partial; an existing file is replaced only when
    /// `overwrite`. Returns the bytes written.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes); [`Error::InvalidInput`] (field `save_to`)
    /// when `target` exists and not `overwrite`; [`Error::External`]
    /// (service `filesystem`) when writing fails.
    pub async fn save_to(mut self, target: &Path, max: u64, overwrite: bool) -> Result<u64> {
        self.check_length(max)?;
        let dir = target.parent().ok_or_else(|| {
            Error::invalid_input("save_to", format!("`{}` has no parent", target.display()))
        })?;
        if !overwrite && target.exists() {
            return Err(exists(target));
        }
        let temp = tempfile::Builder::new()
            .prefix(".llmspell-download-")
            .tempfile_in(dir)
            .map_err(|e| fs_error("create a temporary file in", dir, &e))?;
        let handle = temp
            .as_file()
            .try_clone()
            .map_err(|e| fs_error("open", temp.path(), &e))?;
        let mut file = tokio::fs::File::from_std(handle);
        let mut written: u64 = 0;
        while let Some(chunk) = self
            .response
            .chunk()
            .await
            .map_err(|e| map_error(&e, &self.what, self.timeout))?
        {
            written += chunk.len() as u64;
            if written > max {
                return Err(self.too_large(max, written));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| fs_error("write", target, &e))?;
        }
        file.flush()
            .await
            .and(file.sync_all().await)
            .map_err(|e| fs_error("write", target, &e))?;
        drop(file);
        let persisted = if overwrite {
            temp.persist(target).map(drop)
        } else {
            temp.persist_noclobber(target).map(drop)
        };
        persisted.map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                exists(target)
            } else {
                fs_error("replace", target, &e.error)
            }
        })?;
        Ok(written)
    }
}

fn exists(target: &Path) -> Error {
    Error::invalid_input(
        "save_to",
        format!(
            "`{}` already exists; pass overwrite: true to replace it",
            target.display()
        ),
    )
}

fn fs_error(action: &str, path: &Path, e: &io::Error) -> Error {
    Error::External {
        service: "filesystem".to_owned(),
        message: format!("cannot {action} `{}`: {e}", path.display()),
        retryable: false,
        source: None,
    }
}
