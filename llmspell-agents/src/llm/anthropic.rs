//! The Anthropic messages protocol.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::{Error, Result};
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::config::DEFAULT_TIMEOUT;
use super::provider::LlmProvider;
use super::request::{LlmRequest, Role};
use super::response::{FinishReason, LlmResponse, TokenUsage};
use super::sse::SseEvent;
use super::stream::{ChunkParser, LlmChunk, LlmStream, chunk_stream};
use super::transport::{Reply, Secret, Transport, excerpt, insert_header};

/// The base URL used when none is given.
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent when none is given.
pub const ANTHROPIC_API_VERSION: &str = "2023-06-01";
/// The `max_tokens` sent when a request sets none (the protocol requires one).
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 1024;

/// Body keys filled from the request's own fields, which `extra` may not
/// repeat.
const RESERVED: &[&str] = &[
    "model",
    "messages",
    "system",
    "stream",
    "temperature",
    "max_tokens",
    "stop_sequences",
];

/// A provider speaking Anthropic's messages protocol.
///
/// Sends `POST {base_url}/v1/messages` with `x-api-key` and
/// `anthropic-version` headers. The body is
/// `{ model, max_tokens, messages, system?, temperature?, stop_sequences?,
/// stream, ...extra }`: the system prompt and any `system` messages are
/// joined into the top-level `system` text, `tool` messages become `user`
/// messages holding a `tool_result` block, and `max_tokens` defaults to
/// [`ANTHROPIC_DEFAULT_MAX_TOKENS`]. Usage is read from `usage.input_tokens`
/// and `usage.output_tokens` (prompt-cache tokens, reported separately by
/// the protocol, are left in `raw`).
///
/// # Examples
///
/// ```no_run
/// use llmspell_agents::llm::{Anthropic, LlmProvider, LlmRequest};
///
/// # async fn run() -> llmspell_core::Result<()> {
/// let claude = Anthropic::builder()
///     .api_key(std::env::var("ANTHROPIC_API_KEY").unwrap_or_default())
///     .default_model("claude-3-5-haiku-latest")
///     .build()?;
/// let res = claude.complete(&LlmRequest::user("Say hi").with_max_tokens(64)).await?;
/// println!("{}", res.content);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Anthropic {
    transport: Transport,
    endpoint: Url,
    default_model: Option<String>,
    default_max_tokens: u32,
    keep_raw: bool,
}

/// Builds an [`Anthropic`] provider; see the setters for defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct AnthropicBuilder {
    name: String,
    base_url: String,
    api_key: Option<Secret>,
    api_version: String,
    timeout: Duration,
    max_retries: u32,
    default_model: Option<String>,
    default_max_tokens: u32,
    keep_raw: bool,
}

impl Default for AnthropicBuilder {
    fn default() -> Self {
        Self {
            name: "anthropic".to_owned(),
            base_url: ANTHROPIC_DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            api_version: ANTHROPIC_API_VERSION.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_retries: 0,
            default_model: None,
            default_max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
            keep_raw: false,
        }
    }
}

impl AnthropicBuilder {
    /// The provider's name in responses and errors. Default `"anthropic"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The URL that `/v1/messages` is appended to. Default
    /// [`ANTHROPIC_DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The key sent as `x-api-key`. Required.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
        self
    }

    /// The `anthropic-version` header. Default [`ANTHROPIC_API_VERSION`].
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Time limit for each attempt: until the whole answer for
    /// [`complete`](LlmProvider::complete), until the response headers and
    /// then between reads for streams. Default [`DEFAULT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Extra attempts after a retryable failure (connection, 408, 409, 429,
    /// 5xx including 529 "overloaded", timeout). Default 0: retrying is the
    /// job of hooks.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The model used for requests whose `model` is empty. Default none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// The `max_tokens` sent when a request sets none. Default
    /// [`ANTHROPIC_DEFAULT_MAX_TOKENS`].
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// Whether responses carry the provider's body in `raw`. Default false.
    pub fn keep_raw_response(mut self, keep: bool) -> Self {
        self.keep_raw = keep;
        self
    }

    /// Checks the settings and builds the provider.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a missing or empty API key, an empty name,
    /// a base URL that is not `http(s)://`, a zero timeout or default
    /// `max_tokens`, or header values HTTP cannot carry.
    pub fn build(self) -> Result<Anthropic> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid_input("name", "a provider needs a name"));
        }
        let Some(Secret(key)) = self.api_key.filter(|k| !k.0.is_empty()) else {
            return Err(Error::invalid_input(
                "api_key",
                "the Anthropic provider needs an API key; set ANTHROPIC_API_KEY or call api_key()",
            ));
        };
        if self.default_max_tokens == 0 {
            return Err(Error::invalid_input(
                "default_max_tokens",
                "expected at least 1 token",
            ));
        }
        let mut headers = HeaderMap::new();
        insert_header(&mut headers, "x-api-key", "api_key", &key, true)?;
        insert_header(
            &mut headers,
            "anthropic-version",
            "api_version",
            &self.api_version,
            false,
        )?;
        let transport = Transport::new(
            &self.name,
            &self.base_url,
            self.timeout,
            self.max_retries,
            headers,
        )?;
        let endpoint = transport.endpoint("v1/messages")?;
        Ok(Anthropic {
            transport,
            endpoint,
            default_model: self.default_model.filter(|m| !m.is_empty()),
            default_max_tokens: self.default_max_tokens,
            keep_raw: self.keep_raw,
        })
    }
}

impl Anthropic {
    /// A builder with the defaults.
    pub fn builder() -> AnthropicBuilder {
        AnthropicBuilder::default()
    }

    /// The URL requests are sent to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The model used when a request names none.
    pub fn default_model(&self) -> Option<&str> {
        self.default_model.as_deref()
    }

    /// The JSON body for `req`.
    fn body(&self, req: &LlmRequest, stream: bool) -> Result<Value> {
        req.validate()?;
        let model = req.resolve_model(self.default_model.as_deref())?;
        let mut system: Vec<&str> = req.system_prompt.iter().map(String::as_str).collect();
        let mut messages = Vec::with_capacity(req.messages.len());
        for m in &req.messages {
            match m.role {
                Role::System => system.push(&m.content),
                Role::User | Role::Assistant => {
                    messages.push(json!({ "role": m.role.as_str(), "content": m.content }));
                }
                Role::Tool => messages.push(json!({
                    "role": "user",
                    "content": [{
                        "type": "tool_result",
                        "tool_use_id": m.tool_call_id,
                        "content": m.content,
                    }]
                })),
            }
        }
        if messages.is_empty() {
            return Err(Error::invalid_input(
                "messages",
                "the Anthropic protocol needs at least one user or assistant message besides system messages",
            ));
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(model));
        body.insert(
            "max_tokens".into(),
            json!(req.max_tokens.unwrap_or(self.default_max_tokens)),
        );
        body.insert("messages".into(), Value::Array(messages));
        if !system.is_empty() {
            body.insert("system".into(), json!(system.join("\n\n")));
        }
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if !req.stop.is_empty() {
            body.insert("stop_sequences".into(), json!(req.stop));
        }
        body.insert("stream".into(), json!(stream));
        req.merge_extra(&mut body, RESERVED)?;
        Ok(Value::Object(body))
    }

    /// Reads a message body.
    fn parse(&self, body: Value, requested_model: &str) -> Result<LlmResponse> {
        if body.get("type").and_then(Value::as_str) == Some("error") {
            return Err(in_band_error(
                self.name(),
                &self.endpoint,
                body.get("error").unwrap_or(&Value::Null),
            ));
        }
        let blocks = body
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                self.transport
                    .malformed(&self.endpoint, "missing `content`")
            })?;
        let content: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(requested_model)
            .to_owned();
        let usage = body.get("usage");
        let n = |k: &str| {
            usage
                .and_then(|u| u.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Ok(LlmResponse {
            content,
            model,
            provider: self.name().to_owned(),
            usage: TokenUsage::new(n("input_tokens"), n("output_tokens")),
            finish_reason: stop_reason(body.get("stop_reason")),
            raw: self.keep_raw.then_some(body),
        })
    }
}

#[async_trait]
impl LlmProvider for Anthropic {
    fn name(&self) -> &str {
        self.transport.service()
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse> {
        let body = self.body(req, false)?;
        let model = req.resolve_model(self.default_model.as_deref())?;
        match self.transport.post(&self.endpoint, &body, false).await? {
            Reply::Json(v) => self.parse(v, model),
            Reply::Stream(_) => Err(self
                .transport
                .malformed(&self.endpoint, "expected a JSON body")),
        }
    }

    async fn complete_stream(&self, req: &LlmRequest) -> Result<LlmStream> {
        let body = self.body(req, true)?;
        match self.transport.post(&self.endpoint, &body, true).await? {
            Reply::Stream(response) => Ok(chunk_stream(
                &self.transport,
                self.endpoint.clone(),
                response,
                AnthropicEvents::new(self.name(), self.endpoint.clone()),
            )),
            Reply::Json(v) => match v.get("type").and_then(Value::as_str) {
                Some("error") => Err(in_band_error(
                    self.name(),
                    &self.endpoint,
                    v.get("error").unwrap_or(&Value::Null),
                )),
                _ => Err(self.transport.malformed(
                    &self.endpoint,
                    format!(
                        "expected an event stream, got a JSON body: {}",
                        excerpt(v.to_string().as_bytes())
                    ),
                )),
            },
        }
    }
}

fn stop_reason(v: Option<&Value>) -> FinishReason {
    match v.and_then(Value::as_str) {
        None => FinishReason::Unknown,
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// An `{"type": "error", "error": {"type", "message"}}` body, sent inside a
/// stream (or, rarely, with a 2xx status). Overload and server errors may
/// pass on a retry.
fn in_band_error(service: &str, url: &Url, err: &Value) -> Error {
    let kind = err.get("type").and_then(Value::as_str).unwrap_or("error");
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unspecified error");
    Error::Provider {
        provider: service.to_owned(),
        message: format!("{kind} from {url}: {message}"),
        retryable: matches!(kind, "overloaded_error" | "api_error" | "rate_limit_error"),
        source: None,
    }
}

/// Reads `message_start`, `content_block_delta`, `message_delta` and
/// `message_stop` events; `ping` and block boundaries carry nothing we need.
struct AnthropicEvents {
    service: String,
    endpoint: Url,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    stop_reason: Option<FinishReason>,
}

impl AnthropicEvents {
    fn new(service: &str, endpoint: Url) -> Self {
        Self {
            service: service.to_owned(),
            endpoint,
            input_tokens: None,
            output_tokens: None,
            stop_reason: None,
        }
    }
}

impl ChunkParser for AnthropicEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<LlmChunk>,
        malformed: &dyn Fn(String) -> Error,
    ) -> Result<bool> {
        if event.data.trim().is_empty() {
            return Ok(false);
        }
        let v: Value = serde_json::from_str(&event.data).map_err(|e| {
            malformed(format!(
                "`{}` event is not JSON ({e}): {}",
                event.event, event.data
            ))
        })?;
        let kind = if event.event.is_empty() {
            v.get("type").and_then(Value::as_str).unwrap_or_default()
        } else {
            event.event.as_str()
        };
        let tokens = |u: Option<&Value>, k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64);
        match kind {
            "message_start" => {
                let usage = v.pointer("/message/usage");
                self.input_tokens = tokens(usage, "input_tokens").or(self.input_tokens);
                self.output_tokens = tokens(usage, "output_tokens").or(self.output_tokens);
            }
            "content_block_delta" => {
                let delta = v
                    .get("delta")
                    .ok_or_else(|| malformed("`content_block_delta` without `delta`".into()))?;
                if delta.get("type").and_then(Value::as_str) == Some("text_delta")
                    && let Some(text) = delta.get("text").and_then(Value::as_str)
                    && !text.is_empty()
                {
                    out.push_back(LlmChunk::text(text));
                }
            }
            "message_delta" => {
                if let Some(reason) = v.pointer("/delta/stop_reason").filter(|r| !r.is_null()) {
                    self.stop_reason = Some(stop_reason(Some(reason)));
                }
                // Counts in message_delta are cumulative.
                let usage = v.get("usage");
                self.input_tokens = tokens(usage, "input_tokens").or(self.input_tokens);
                self.output_tokens = tokens(usage, "output_tokens").or(self.output_tokens);
            }
            "message_stop" => {
                let usage =
                    (self.input_tokens.is_some() || self.output_tokens.is_some()).then(|| {
                        TokenUsage::new(
                            self.input_tokens.unwrap_or(0),
                            self.output_tokens.unwrap_or(0),
                        )
                    });
                out.push_back(LlmChunk::finish(
                    self.stop_reason.take().unwrap_or_default(),
                    usage,
                ));
                return Ok(true);
            }
            "error" => {
                return Err(in_band_error(
                    &self.service,
                    &self.endpoint,
                    v.get("error").unwrap_or(&Value::Null),
                ));
            }
            _ => {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::request::ChatMessage;

    fn provider() -> Anthropic {
        Anthropic::builder()
            .api_key("k")
            .base_url("http://127.0.0.1:9")
            .default_model("claude")
            .build()
            .unwrap()
    }

    #[test]
    fn body_hoists_system_and_defaults_max_tokens() {
        let req = LlmRequest::new(
            "",
            vec![
                ChatMessage::system("extra rules"),
                ChatMessage::user("q"),
                ChatMessage::assistant("a"),
                ChatMessage::tool("tu_1", "42"),
            ],
        )
        .with_system_prompt("be brief")
        .with_stop("END")
        .with_temperature(0.1);
        let body = provider().body(&req, false).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude",
                "max_tokens": 1024,
                "messages": [
                    { "role": "user", "content": "q" },
                    { "role": "assistant", "content": "a" },
                    { "role": "user", "content": [
                        { "type": "tool_result", "tool_use_id": "tu_1", "content": "42" }
                    ] }
                ],
                "system": "be brief\n\nextra rules",
                "temperature": 0.1,
                "stop_sequences": ["END"],
                "stream": false
            })
        );
    }

    #[test]
    fn only_system_messages_is_invalid() {
        let req = LlmRequest::new("", vec![ChatMessage::system("s")]);
        let err = provider().body(&req, false).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "messages"));
    }

    #[test]
    fn missing_key_is_refused_at_build() {
        let err = Anthropic::builder().build().unwrap_err();
        assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
    }

    #[test]
    fn parse_joins_text_blocks_and_maps_stop_reason() {
        let res = provider()
            .parse(
                json!({
                    "type": "message",
                    "model": "claude-x",
                    "content": [
                        { "type": "text", "text": "Hel" },
                        { "type": "tool_use", "id": "t", "name": "n", "input": {} },
                        { "type": "text", "text": "lo" }
                    ],
                    "stop_reason": "max_tokens",
                    "usage": { "input_tokens": 10, "output_tokens": 2 }
                }),
                "claude",
            )
            .unwrap();
        assert_eq!(res.content, "Hello");
        assert_eq!(res.model, "claude-x");
        assert_eq!(res.finish_reason, FinishReason::Length);
        assert_eq!(res.usage, TokenUsage::new(10, 2));
        let err = provider()
            .parse(json!({ "type": "message" }), "c")
            .unwrap_err();
        assert!(err.to_string().contains("missing `content`"), "{err}");
    }

    #[test]
    fn stream_events_yield_text_and_usage_at_stop() {
        let mut parser = AnthropicEvents::new("anthropic", provider().endpoint.clone());
        let mut out = VecDeque::new();
        let no = |m: String| Error::other(m);
        let ev = |name: &str, data: Value| SseEvent {
            event: name.into(),
            data: data.to_string(),
        };
        let events = [
            ev(
                "message_start",
                json!({ "type": "message_start",
                        "message": { "usage": { "input_tokens": 7, "output_tokens": 1 } } }),
            ),
            ev("ping", json!({ "type": "ping" })),
            ev(
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 0,
                        "delta": { "type": "text_delta", "text": "Hi" } }),
            ),
            ev(
                "message_delta",
                json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn" },
                        "usage": { "output_tokens": 3 } }),
            ),
        ];
        for e in &events {
            assert!(!parser.on_event(e, &mut out, &no).unwrap());
        }
        assert!(
            parser
                .on_event(
                    &ev("message_stop", json!({ "type": "message_stop" })),
                    &mut out,
                    &no
                )
                .unwrap()
        );
        assert_eq!(
            Vec::from(out),
            vec![
                LlmChunk::text("Hi"),
                LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(7, 3)))
            ]
        );
    }

    #[test]
    fn overloaded_stream_error_is_retryable() {
        let mut parser = AnthropicEvents::new("anthropic", provider().endpoint.clone());
        let ev = SseEvent {
            event: "error".into(),
            data: json!({ "type": "error",
                          "error": { "type": "overloaded_error", "message": "Overloaded" } })
            .to_string(),
        };
        let err = parser
            .on_event(&ev, &mut VecDeque::new(), &|m| Error::other(m))
            .unwrap_err();
        assert!(err.is_transient());
        assert!(err.to_string().contains("Overloaded"), "{err}");
    }
}
