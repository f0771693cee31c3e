//! `webhook_caller`: signed JSON webhooks with retries.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::request::{Body, Method, Outgoing, decode_body, millis};
use crate::net::{SafeClient, SecretEnv};
use crate::params::ParamsSpec;

/// The header carrying the signature: `sha256=<lowercase hex>`.
pub const SIGNATURE_HEADER: &str = "X-Llmspell-Signature";
/// The header carrying the Unix time (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Llmspell-Timestamp";
/// The header carrying the idempotency key, the same on every attempt.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The header carrying the attempt number, from 1.
pub const ATTEMPT_HEADER: &str = "X-Llmspell-Attempt";

/// Most retries a call may ask for.
const MAX_RETRIES: u32 = 10;
/// Longest wait between attempts.
const MAX_BACKOFF_MS: u64 = 60_000;
/// Bytes of a response body kept in the report.
const RESPONSE_EXCERPT_BYTES: u64 = 64 * 1024;

/// The signature of a webhook delivery: HMAC-SHA256 keyed with `secret`
/// over `"{timestamp}.{body}"`, where `timestamp` is the value of
/// [`TIMESTAMP_HEADER`] and `body` the exact bytes sent, written as
/// `sha256=<lowercase hex>` in [`SIGNATURE_HEADER`]. A receiver recomputes
/// it, compares in constant time, and rejects old timestamps.
///
/// ```
/// use llmspell_tools::web::webhook_signature;
///
/// let sig = webhook_signature(b"secret", 1_700_000_000, br#"{"a":1}"#)?;
/// assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
/// # Ok::<(), llmspell_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] if the HMAC implementation refuses the key
/// (HMAC accepts keys of every length, so it does not).
pub fn webhook_signature(secret: &[u8], timestamp: u64, body: &[u8]) -> Result<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|e| Error::invalid_input("secret_env", format!("unusable signing key: {e}")))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// POSTs a JSON payload to a webhook URL on an allowed host, signed with
/// HMAC-SHA256 when a secret is named, and retries with exponential backoff
/// on 5xx responses, timeouts and connection failures (never on 4xx, nor on
/// a refused host or address).
///
/// Every attempt sends the same body and [`IDEMPOTENCY_HEADER`] (given, or
/// a new UUID), a fresh [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`] (see
/// [`webhook_signature`]), and [`ATTEMPT_HEADER`]. Before attempt `n + 1`
/// the tool waits `initial_backoff_ms × 2^(n-1)`, at most `max_backoff_ms`,
/// or longer when a 5xx answer's `Retry-After` (seconds) asks for it
/// (still at most `max_backoff_ms`).
///
/// Output: `{ delivered, status, attempts: [{ attempt, status?, error?,
/// elapsed_ms, waited_ms }], idempotency_key, signed, response }`. A
/// delivery that failed (a 4xx, or retries exhausted) is a report with
/// `delivered: false`, not an error.
#[derive(Debug, Clone)]
pub struct WebhookCaller {
    metadata: ComponentMetadata,
    client: SafeClient,
    secrets: SecretEnv,
}

impl WebhookCaller {
    /// Creates the tool: requests go through `client`; `secret_env` must
    /// name a variable on `secrets`.
    pub fn new(client: SafeClient, secrets: SecretEnv) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "webhook_caller",
                "POSTs signed JSON to a webhook on an allowed host, retrying 5xx and timeouts",
            ),
            client,
            secrets,
        }
    }
}

/// The parameters of `webhook_caller`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The webhook's `http://` or `https://` URL; its host must be on
    /// `allowed_hosts`.
    url: String,
    /// The JSON payload, sent as the body.
    payload: Value,
    /// The environment variable holding the signing secret; it must be on
    /// `secret_env`. Without it the delivery is not signed.
    secret_env: Option<String>,
    /// The idempotency key sent on every attempt (default: a new UUID).
    idempotency_key: Option<String>,
    /// Extra headers, name to value.
    headers: Option<BTreeMap<String, String>>,
    /// Retries after the first attempt, 0 to 10 (default 3).
    #[serde(default = "default_retries")]
    #[schemars(range(max = MAX_RETRIES))]
    max_retries: u32,
    /// Wait before the first retry in milliseconds, doubled for each
    /// further one (default 500).
    #[serde(default = "default_initial_backoff")]
    #[schemars(range(max = MAX_BACKOFF_MS))]
    initial_backoff_ms: u64,
    /// Longest wait between attempts in milliseconds, at most 60000
    /// (default 10000).
    #[serde(default = "default_max_backoff")]
    #[schemars(range(max = MAX_BACKOFF_MS))]
    max_backoff_ms: u64,
    /// Time limit of each attempt in milliseconds (default and maximum:
    /// `net_timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

fn default_retries() -> u32 {
    3
}
fn default_initial_backoff() -> u64 {
    500
}
fn default_max_backoff() -> u64 {
    10_000
}

/// How `webhook_caller` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// The outcome of one attempt.
enum Outcome {
    /// A response: its status, `Retry-After` seconds and body.
    Answered {
        status: u16,
        retry_after: Option<u64>,
        body: Value,
    },
    /// No response; whether it is worth retrying, and why.
    Failed { retryable: bool, error: String },
}

impl WebhookCaller {
    async fn run(&self, p: Params) -> Result<Value> {
        if p.max_retries > MAX_RETRIES {
            return Err(Error::invalid_input(
                "max_retries",
                format!("expected 0 to {MAX_RETRIES}, got {}", p.max_retries),
            ));
        }
        for (field, v) in [
            ("initial_backoff_ms", p.initial_backoff_ms),
            ("max_backoff_ms", p.max_backoff_ms),
        ] {
            if v > MAX_BACKOFF_MS {
                return Err(Error::invalid_input(
                    field,
                    format!("expected 0 to {MAX_BACKOFF_MS}, got {v}"),
                ));
            }
        }
        let secret = match &p.secret_env {
            Some(name) => Some(self.secrets.read(name, "secret_env")?),
            None => None,
        };
        let key = p
            .idempotency_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if key.is_empty() || reqwest::header::HeaderValue::from_str(&key).is_err() {
            return Err(Error::invalid_input(
                "idempotency_key",
                "expected a non-empty header value (no line breaks)",
            ));
        }
        let body = serde_json::to_vec(&p.payload).map_err(|e| {
            Error::invalid_input("payload", format!("cannot be written as JSON: {e}"))
        })?;

        let mut attempts = Vec::new();
        let mut waited = Duration::ZERO;
        let mut last: Option<(u16, Value)> = None;
        let mut delivered = false;
        let total = p.max_retries + 1;
        for attempt in 1..=total {
            let timestamp = chrono::Utc::now().timestamp().max(0) as u64;
            let mut headers = p.headers.clone().unwrap_or_default();
            headers.insert(IDEMPOTENCY_HEADER.into(), key.clone());
            headers.insert(ATTEMPT_HEADER.into(), attempt.to_string());
            if let Some(secret) = &secret {
                headers.insert(TIMESTAMP_HEADER.into(), timestamp.to_string());
                headers.insert(
                    SIGNATURE_HEADER.into(),
                    webhook_signature(secret.as_bytes(), timestamp, &body)?,
                );
            }
            let checked = Outgoing {
                method: Method::Post,
                url: p.url.clone(),
                headers: Some(headers),
                query: None,
                body: Body::Text {
                    text: String::from_utf8_lossy(&body).into_owned(),
                    content_type: Some("application/json".into()),
                },
                auth: None,
                timeout_ms: p.timeout_ms,
                max_redirects: Some(0),
            }
            .check(&self.client, &self.secrets, "")?;
            let started = std::time::Instant::now();
            let outcome = match checked.send(&self.client).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let content_type = response.header("content-type");
                    match response.bytes(RESPONSE_EXCERPT_BYTES).await {
                        Ok(bytes) => Outcome::Answered {
                            status,
                            retry_after,
                            body: decode_body(
                                &bytes,
                                content_type.as_deref(),
                                super::request::ResponseType::Auto,
                            )
                            .map(|d| d.value)
                            .unwrap_or(Value::Null),
                        },
                        // The status arrived; a body over the excerpt cap
                        // does not change it.
                        Err(Error::ResourceLimitExceeded { .. }) => Outcome::Answered {
                            status,
                            retry_after,
                            body: Value::Null,
                        },
                        Err(e) => Outcome::Failed {
                            retryable: true,
                            error: e.to_string(),
                        },
                    }
                }
                Err(e @ (Error::SecurityViolation { .. } | Error::InvalidInput { .. })) => {
                    return Err(e);
                }
                Err(e) => Outcome::Failed {
                    retryable: matches!(
                        e,
                        Error::Timeout { .. }
                            | Error::External {
                                retryable: true,
                                ..
                            }
                    ),
                    error: e.to_string(),
                },
            };
            let elapsed_ms = millis(started.elapsed());
            let (retry, retry_after, entry) = match outcome {
                Outcome::Answered {
                    status,
                    retry_after,
                    body,
                } => {
                    last = Some((status, body));
                    let ok = (200..300).contains(&status);
                    delivered = ok;
                    (
                        status >= 500,
                        retry_after,
                        json!({ "attempt": attempt, "status": status, "elapsed_ms": elapsed_ms }),
                    )
                }
                Outcome::Failed { retryable, error } => (
                    retryable,
                    None,
                    json!({ "attempt": attempt, "error": error, "elapsed_ms": elapsed_ms }),
                ),
            };
            attempts.push(entry);
            if delivered || !retry || attempt == total {
                break;
            }
            let wait = backoff(attempt, p.initial_backoff_ms, p.max_backoff_ms, retry_after);
            if let Some(entry) = attempts.last_mut() {
                entry["retry_in_ms"] = json!(wait.as_millis() as u64);
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        let (status, response) = match last {
            Some((s, body)) => (json!(s), body),
            None => (Value::Null, Value::Null),
        };
        Ok(json!({
            "delivered": delivered,
            "status": status,
            "attempts": attempts,
            "waited_ms": waited.as_millis() as u64,
            "idempotency_key": key,
            "signed": secret.is_some(),
            "response": response,
        }))
    }
}

/// The wait after failed attempt `n` (from 1): `initial × 2^(n-1)`, at
/// least a `Retry-After`, at most `max`.
fn backoff(n: u32, initial_ms: u64, max_ms: u64, retry_after_s: Option<u64>) -> Duration {
    let exp = initial_ms.saturating_mul(1u64 << (n - 1).min(32));
    let asked = retry_after_s.map_or(0, |s| s.saturating_mul(1000));
    Duration::from_millis(exp.max(asked).min(max_ms))
}

#[async_trait]
impl Tool for WebhookCaller {
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
        vec![json!({
            "url": "https://hooks.example.com/orders",
            "payload": { "event": "order.shipped", "order_id": 7 },
            "secret_env": "ORDERS_WEBHOOK_SECRET",
            "max_retries": 3
        })]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "delivered": { "type": "boolean", "description": "An attempt got a 2xx answer" },
                "status": { "type": ["integer", "null"], "description": "The last status" },
                "attempts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "attempt": { "type": "integer" },
                            "status": { "type": "integer" },
                            "error": { "type": "string" },
                            "elapsed_ms": { "type": "number" },
                            "retry_in_ms": { "type": "integer" }
                        },
                        "required": ["attempt", "elapsed_ms"]
                    }
                },
                "waited_ms": { "type": "integer" },
                "idempotency_key": { "type": "string" },
                "signed": { "type": "boolean" },
                "response": { "description": "The last answer's body (JSON or text)" }
            },
            "required": ["delivered", "status", "attempts", "idempotency_key", "signed"]
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
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let ms = |n, ra| backoff(n, 100, 1_000, ra).as_millis();
        assert_eq!(
            [
                ms(1, None),
                ms(2, None),
                ms(3, None),
                ms(4, None),
                ms(5, None)
            ],
            [100, 200, 400, 800, 1000]
        );
        assert_eq!(ms(1, Some(0)), 100);
        assert_eq!(backoff(1, 100, 5_000, Some(2)).as_millis(), 2_000);
        assert_eq!(backoff(1, 100, 1_000, Some(30)).as_millis(), 1_000);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?";
        // here the data is "{timestamp}.{body}" = "0." + the rest.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"k").unwrap();
        mac.update(b"12.{}");
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(webhook_signature(b"k", 12, b"{}").unwrap(), expected);
        assert_ne!(
            webhook_signature(b"k", 12, b"{}").unwrap(),
            webhook_signature(b"k", 13, b"{}").unwrap()
        );
    }
}
