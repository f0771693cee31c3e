//! `service_checker`: TCP and HTTP(S) reachability checks against
//! allow-listed hosts.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::net::{NetLimits, NetPolicy, Redirects, SafeClient};
use crate::params::ParamsSpec;

/// Default time one check may take.
const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Longest timeout a call may ask for.
const MAX_TIMEOUT_MS: u64 = 60_000;

/// Checks whether network services answer: a TCP connect to `host:port`, or
/// an HTTP(S) request to a URL. Every check goes through the network safety
/// layer ([`crate::net`]): only hosts on the allow-list may be checked (the
/// entry `*` allows every host, `*.example.com` the subdomains of
/// `example.com`), and only at public addresses or addresses configuration
/// allows (`allowed_addresses`, or an IP address or `localhost` named
/// exactly on the allow-list).
///
/// - `tcp { host, port, timeout_ms? }` → `{ reachable, address?, latency_ms, error? }`;
/// - `http { url, method?, timeout_ms?, expected_status? }` →
///   `{ reachable, status?, ok, latency_ms, location?, error? }`. `method` is
///   `GET` (default) or `HEAD`; `ok` is whether the status matched
///   `expected_status` (default: any 2xx or 3xx). Redirects are not
///   followed (a redirect could lead to a host that is not allowed); the
///   `Location` header is reported instead.
///
/// An unreachable service is a normal result (`reachable: false` with the
/// reason), not an error; a host or address that is not allowed is an
/// [`Error::SecurityViolation`] naming the allow-list or the address.
#[derive(Debug, Clone)]
pub struct ServiceChecker {
    metadata: ComponentMetadata,
    client: SafeClient,
}

impl ServiceChecker {
    /// Creates the tool; only `allowed_hosts` may be checked (`*` for all),
    /// at public addresses or ones they name exactly.
    pub fn new<I, S>(allowed_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_client(SafeClient::new(
            NetPolicy::new(allowed_hosts),
            NetLimits::default(),
        ))
    }

    /// Creates the tool checking through `client` (its policy decides what
    /// may be checked).
    pub fn with_client(client: SafeClient) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "service_checker",
                "Checks TCP and HTTP(S) reachability of allow-listed hosts",
            ),
            client: client.with_user_agent(concat!(
                "llmspell-service-checker/",
                env!("CARGO_PKG_VERSION")
            )),
        }
    }

    /// Whether `host` is on the allow-list.
    pub fn is_allowed(&self, host: &str) -> bool {
        self.client.policy().hosts().allows(host)
    }
}

/// An HTTP request method.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "UPPERCASE")]
enum Method {
    #[default]
    Get,
    Head,
}

/// The operations of `service_checker`. An unreachable service is a
/// result (`reachable: false` with an `error`), not a failure.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Opens a TCP connection; output `{ reachable, address, latency_ms }`.
    Tcp {
        /// The host name or IP address; it must be on the configured
        /// allow-list.
        host: String,
        /// The TCP port, from 1 to 65535.
        #[schemars(range(min = 1))]
        port: u16,
        /// Give up after this many milliseconds, from 1 to 60000 (default
        /// 5000).
        #[serde(default = "default_timeout")]
        #[schemars(range(min = 1, max = MAX_TIMEOUT_MS))]
        timeout_ms: u64,
    },
    /// Sends one HTTP request, without following redirects; output
    /// `{ reachable, status, ok, latency_ms, location }`.
    Http {
        /// The `http://` or `https://` URL; its host must be on the
        /// configured allow-list.
        url: String,
        /// `GET` (the default) or `HEAD`.
        #[serde(default)]
        method: Method,
        /// Give up after this many milliseconds, from 1 to 60000 (default
        /// 5000).
        #[serde(default = "default_timeout")]
        #[schemars(range(min = 1, max = MAX_TIMEOUT_MS))]
        timeout_ms: u64,
        /// The status that counts as ok (default: any 2xx or 3xx).
        #[schemars(range(min = 100, max = 599))]
        expected_status: Option<u16>,
    },
}

/// How `service_checker` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn check_timeout(ms: u64) -> Result<Duration> {
    if ms == 0 || ms > MAX_TIMEOUT_MS {
        Err(Error::invalid_input(
            "timeout_ms",
            format!("expected 1 to {MAX_TIMEOUT_MS}, got {ms}"),
        ))
    } else {
        Ok(Duration::from_millis(ms))
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

impl ServiceChecker {
    async fn tcp(&self, host: &str, port: u16, timeout: Duration) -> Result<Value> {
        let policy = self.client.policy();
        policy.check_host(host)?;
        let started = Instant::now();
        Ok(match policy.connect_tcp(host, port, timeout).await {
            Ok(stream) => json!({
                "reachable": true,
                "address": stream.peer_addr().map(|a| a.to_string()).ok(),
                "latency_ms": millis(started.elapsed()),
            }),
            Err(e @ Error::SecurityViolation { .. }) => return Err(e),
            Err(e) => json!({
                "reachable": false,
                "latency_ms": millis(started.elapsed()),
                "error": unreachable_reason(&e, timeout),
            }),
        })
    }

    async fn http(
        &self,
        url: &str,
        method: Method,
        timeout: Duration,
        expected: Option<u16>,
    ) -> Result<Value> {
        let url = self.client.check_url(url, "url")?;
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
        };
        let request = self.client.request(method, url, Redirects::none())?;
        let started = Instant::now();
        Ok(match self.client.send(request, timeout).await {
            Ok(response) => {
                let status = response.status();
                let ok = match expected {
                    Some(code) => status.as_u16() == code,
                    None => status.is_success() || status.is_redirection(),
                };
                let mut out = json!({
                    "reachable": true,
                    "status": status.as_u16(),
                    "ok": ok,
                    "latency_ms": millis(started.elapsed()),
                });
                if let Some(location) = response.header("location") {
                    out["location"] = json!(location);
                }
                out
            }
            Err(e @ (Error::SecurityViolation { .. } | Error::InvalidInput { .. })) => {
                return Err(e);
            }
            Err(e) => json!({
                "reachable": false,
                "ok": false,
                "latency_ms": millis(started.elapsed()),
                "error": unreachable_reason(&e, timeout),
            }),
        })
    }
}

/// Why a service did not answer, for the output's `error`.
fn unreachable_reason(e: &Error, timeout: Duration) -> String {
    match e {
        Error::Timeout { .. } => format!("no answer within {} ms", timeout.as_millis()),
        Error::External { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl Tool for ServiceChecker {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::System
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
            json!({ "operation": "tcp", "host": "localhost", "port": 5432 }),
            json!({ "operation": "http", "url": "http://localhost:8080/health", "method": "HEAD" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "reachable": { "type": "boolean" },
                "ok": { "type": "boolean", "description": "http: the status matched" },
                "status": { "type": "integer" },
                "address": { "type": ["string", "null"], "description": "tcp: the address connected to" },
                "latency_ms": { "type": "number" },
                "location": { "type": "string", "description": "http: redirect target" },
                "error": { "type": "string", "description": "Why the service was not reached" }
            },
            "required": ["reachable", "latency_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Tcp {
                host,
                port,
                timeout_ms,
            } => {
                if port == 0 {
                    return Err(Error::invalid_input("port", "expected 1 to 65535, got 0"));
                }
                self.tcp(&host, port, check_timeout(timeout_ms)?).await
            }
            Operation::Http {
                url,
                method,
                timeout_ms,
                expected_status,
            } => {
                self.http(&url, method, check_timeout(timeout_ms)?, expected_status)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn allow_list_matching() {
        let t = ServiceChecker::new(["localhost", "*.example.com", "127.0.0.1"]);
        assert!(t.is_allowed("LOCALHOST"));
        assert!(t.is_allowed("api.example.com"));
        assert!(!t.is_allowed("example.com.evil.net"));
        assert!(!t.is_allowed("evil.com"));
        assert!(ServiceChecker::new(["*"]).is_allowed("anything.test"));
    }

    #[tokio::test]
    async fn tcp_reachable_and_closed_ports() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = ServiceChecker::new(["127.0.0.1"]);
        let out = t
            .execute(
                json!({ "operation": "tcp", "host": "127.0.0.1", "port": port }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        assert_eq!(out["reachable"], true);
        assert_eq!(out["address"], format!("127.0.0.1:{port}"));
        drop(listener);
        let out = t
            .execute(
                json!({ "operation": "tcp", "host": "127.0.0.1", "port": port }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        assert_eq!(out["reachable"], false);
        assert!(
            out["error"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("refused"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn http_status_and_redirects_are_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            for response in [
                "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
                "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.test/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await.unwrap();
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
        });
        let t = ServiceChecker::new(["127.0.0.1"]);
        let url = format!("http://127.0.0.1:{port}/health");
        let out = t
            .execute(
                json!({ "operation": "http", "url": url }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                out["reachable"].clone(),
                out["status"].clone(),
                out["ok"].clone()
            ),
            (json!(true), json!(204), json!(true))
        );
        let out = t
            .execute(
                json!({ "operation": "http", "url": url, "expected_status": 200 }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap();
        assert_eq!(out["status"], 302);
        assert_eq!(out["ok"], false);
        assert_eq!(out["location"], "http://elsewhere.test/");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn bad_urls_are_input_errors() {
        let t = ServiceChecker::new(["*"]);
        let err = t
            .execute(
                json!({ "operation": "http", "url": "ftp://x.test/" }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`url`"), "{err}");
        let err = t
            .execute(
                json!({ "operation": "tcp", "host": "x", "port": 80, "timeout_ms": 0 }),
                &ExecutionContext::native(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`timeout_ms`"), "{err}");
    }
}
