//! The OpenAI chat completions protocol, spoken by OpenAI and by local
//! servers (Ollama, vLLM, llama.cpp, LM Studio).

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::{Error, Result};
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::config::DEFAULT_TIMEOUT;
use super::provider::LlmProvider;
use super::request::{ChatMessage, LlmRequest};
use super::response::{FinishReason, LlmResponse, TokenUsage};
use super::sse::SseEvent;
use super::stream::{ChunkParser, LlmChunk, LlmStream, chunk_stream};
use super::transport::{Reply, Secret, Transport, excerpt, insert_header};

/// The base URL used when none is given.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Body keys filled from the request's own fields, which `extra` may not
/// repeat.
const RESERVED: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "max_tokens",
    "stop",
];

/// A provider speaking the OpenAI chat completions protocol.
///
/// Sends `POST {base_url}/chat/completions` with an optional
/// `Authorization: Bearer <key>` header. The body is
/// `{ model, messages, temperature?, max_tokens?, stop?, stream, ...extra }`;
/// the system prompt becomes a leading `system` message. Streaming asks for
/// `stream_options.include_usage` so the final chunk carries usage.
///
/// The same type serves OpenAI (`https://api.openai.com/v1`, key required),
/// Ollama (`http://localhost:11434/v1`), vLLM, llama.cpp's server and any
/// other server with this protocol; [`name`](LlmProvider::name) tells them
/// apart in responses and errors.
///
/// # Examples
///
/// ```no_run
/// use llmspell_agents::llm::{LlmProvider, LlmRequest, OpenAiCompatible};
///
/// # async fn run() -> llmspell_core::Result<()> {
/// let ollama = OpenAiCompatible::builder()
///     .name("ollama")
///     .base_url("http://localhost:11434/v1")
///     .default_model("llama3.1")
///     .build()?;
/// let res = ollama.complete(&LlmRequest::user("Say hi")).await?;
/// println!("{} ({} tokens)", res.content, res.usage.total_tokens);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    transport: Transport,
    endpoint: Url,
    default_model: Option<String>,
    keep_raw: bool,
}

/// Builds an [`OpenAiCompatible`] provider; see the setters for defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenAiCompatibleBuilder {
    name: String,
    base_url: String,
    api_key: Option<Secret>,
    timeout: Duration,
    max_retries: u32,
    default_model: Option<String>,
    keep_raw: bool,
}

impl Default for OpenAiCompatibleBuilder {
    fn default() -> Self {
        Self {
            name: "openai".to_owned(),
            base_url: OPENAI_DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: 0,
            default_model: None,
            keep_raw: false,
        }
    }
}

impl OpenAiCompatibleBuilder {
    /// The provider's name in responses and errors. Default `"openai"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The URL that `/chat/completions` is appended to. Default
    /// [`OPENAI_DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The bearer token. Default none, which local servers accept.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
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
    /// 5xx, timeout), waiting as the server's `retry-after` says or with
    /// exponential backoff from 500 ms. Default 0: retrying is the job of
    /// hooks.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The model used for requests whose `model` is empty. Default none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
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
    /// [`Error::InvalidInput`] for an empty name, a base URL that is not
    /// `http(s)://`, a zero timeout, or a key with characters HTTP headers
    /// cannot carry.
    pub fn build(self) -> Result<OpenAiCompatible> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid_input("name", "a provider needs a name"));
        }
        let mut headers = HeaderMap::new();
        if let Some(Secret(key)) = self.api_key.as_ref().filter(|k| !k.0.is_empty()) {
            insert_header(
                &mut headers,
                "authorization",
                "api_key",
                &format!("Bearer {key}"),
                true,
            )?;
        }
        let transport = Transport::new(
            &self.name,
            &self.base_url,
            self.timeout,
            self.max_retries,
            headers,
        )?;
        let endpoint = transport.endpoint("chat/completions")?;
        Ok(OpenAiCompatible {
            transport,
            endpoint,
            default_model: self.default_model.filter(|m| !m.is_empty()),
            keep_raw: self.keep_raw,
        })
    }
}

impl OpenAiCompatible {
    /// A builder with the defaults.
    pub fn builder() -> OpenAiCompatibleBuilder {
        OpenAiCompatibleBuilder::default()
    }

    /// The URL requests are sent to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The base URL the provider was built with.
    pub fn base_url(&self) -> &Url {
        self.transport.base_url()
    }

    /// The model used when a request names none.
    pub fn default_model(&self) -> Option<&str> {
        self.default_model.as_deref()
    }

    /// The JSON body for `req`.
    fn body(&self, req: &LlmRequest, stream: bool) -> Result<Value> {
        req.validate()?;
        let model = req.resolve_model(self.default_model.as_deref())?;
        let mut messages = Vec::with_capacity(req.messages.len() + 1);
        if let Some(system) = &req.system_prompt {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.extend(req.messages.iter().map(wire_message));
        let mut body = Map::new();
        body.insert("model".into(), json!(model));
        body.insert("messages".into(), Value::Array(messages));
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.max_tokens {
            body.insert("max_tokens".into(), json!(n));
        }
        if !req.stop.is_empty() {
            body.insert("stop".into(), json!(req.stop));
        }
        body.insert("stream".into(), json!(stream));
        if stream {
            body.insert("stream_options".into(), json!({ "include_usage": true }));
        }
        req.merge_extra(&mut body, RESERVED)?;
        Ok(Value::Object(body))
    }

    /// Reads a chat completion body.
    fn parse(&self, body: Value, requested_model: &str) -> Result<LlmResponse> {
        if let Some(err) = body.get("error").filter(|e| !e.is_null()) {
            return Err(self.in_band_error(err));
        }
        let choice = body
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .ok_or_else(|| {
                self.transport
                    .malformed(&self.endpoint, "missing `choices[0]`")
            })?;
        let message = choice
            .get("message")
            .filter(|m| m.is_object())
            .ok_or_else(|| {
                self.transport
                    .malformed(&self.endpoint, "missing `choices[0].message`")
            })?;
        let content = match message.get("content") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => {
                return Err(self.transport.malformed(
                    &self.endpoint,
                    "`choices[0].message.content` is not a string",
                ));
            }
        };
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(requested_model)
            .to_owned();
        Ok(LlmResponse {
            content,
            model,
            provider: self.name().to_owned(),
            usage: body.get("usage").map(wire_usage).unwrap_or_default(),
            finish_reason: finish_reason(choice.get("finish_reason")),
            raw: self.keep_raw.then_some(body),
        })
    }

    fn in_band_error(&self, err: &Value) -> Error {
        in_band_error(self.name(), &self.endpoint, err)
    }
}

#[async_trait]
impl LlmProvider for OpenAiCompatible {
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
                OpenAiEvents {
                    service: self.name().to_owned(),
                    endpoint: self.endpoint.clone(),
                    finish: None,
                    usage: None,
                },
            )),
            Reply::Json(v) => match v.get("error").filter(|e| !e.is_null()) {
                Some(err) => Err(self.in_band_error(err)),
                None => Err(self.transport.malformed(
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

fn wire_message(m: &ChatMessage) -> Value {
    let mut v = json!({ "role": m.role.as_str(), "content": m.content });
    if let (Some(id), Some(obj)) = (&m.tool_call_id, v.as_object_mut()) {
        obj.insert("tool_call_id".into(), json!(id));
    }
    v
}

fn wire_usage(u: &Value) -> TokenUsage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut usage = TokenUsage::new(n("prompt_tokens"), n("completion_tokens"));
    if let Some(total) = u.get("total_tokens").and_then(Value::as_u64) {
        usage.total_tokens = total;
    }
    usage
}

fn finish_reason(v: Option<&Value>) -> FinishReason {
    match v.and_then(Value::as_str) {
        None => FinishReason::Unknown,
        Some("function_call") => FinishReason::ToolCalls,
        Some(other) => FinishReason::from_name(other),
    }
}

/// An `{"error": ...}` object sent with a 2xx status or inside a stream.
/// Server-side failures may pass on a retry; anything else will not.
fn in_band_error(service: &str, url: &Url, err: &Value) -> Error {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| err.as_str())
        .unwrap_or("unspecified error");
    let kind = err.get("type").and_then(Value::as_str).unwrap_or_default();
    Error::Provider {
        provider: service.to_owned(),
        message: format!("error from {url}: {message}"),
        retryable: matches!(kind, "server_error" | "rate_limit_exceeded"),
        source: None,
    }
}

/// Reads `data: {chat.completion.chunk}` events up to `data: [DONE]`.
struct OpenAiEvents {
    service: String,
    endpoint: Url,
    finish: Option<FinishReason>,
    usage: Option<TokenUsage>,
}

impl OpenAiEvents {
    fn finish(&mut self, out: &mut VecDeque<LlmChunk>) {
        out.push_back(LlmChunk::finish(
            self.finish.take().unwrap_or_default(),
            self.usage.take(),
        ));
    }
}

impl ChunkParser for OpenAiEvents {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<LlmChunk>,
        malformed: &dyn Fn(String) -> Error,
    ) -> Result<bool> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.finish(out);
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| malformed(format!("stream event is not JSON ({e}): {data}")))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(in_band_error(&self.service, &self.endpoint, err));
        }
        if let Some(choice) = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        {
            if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push_back(LlmChunk::text(text));
            }
            if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
                self.finish = Some(finish_reason(Some(reason)));
            }
        }
        if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(wire_usage(usage));
        }
        Ok(false)
    }

    /// A server that closes the stream after the finish reason without
    /// `[DONE]` still gave a complete answer.
    fn on_end(&mut self, out: &mut VecDeque<LlmChunk>) -> bool {
        if self.finish.is_some() {
            self.finish(out);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::request::Role;

    fn provider() -> OpenAiCompatible {
        OpenAiCompatible::builder()
            .base_url("http://127.0.0.1:9/v1")
            .default_model("m")
            .build()
            .unwrap()
    }

    #[test]
    fn body_maps_every_request_field() {
        let req = LlmRequest::new(
            "",
            vec![
                ChatMessage::user("q"),
                ChatMessage::new(Role::Assistant, "a"),
                ChatMessage::tool("c1", "42"),
            ],
        )
        .with_system_prompt("sys")
        .with_temperature(0.5)
        .with_max_tokens(9)
        .with_stop("END")
        .with_extra("seed", json!(7));
        let body = provider().body(&req, true).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    { "role": "system", "content": "sys" },
                    { "role": "user", "content": "q" },
                    { "role": "assistant", "content": "a" },
                    { "role": "tool", "content": "42", "tool_call_id": "c1" }
                ],
                "temperature": 0.5,
                "max_tokens": 9,
                "stop": ["END"],
                "stream": true,
                "stream_options": { "include_usage": true },
                "seed": 7
            })
        );
    }

    #[test]
    fn parse_reads_content_usage_and_reason() {
        let p = provider();
        let res = p
            .parse(
                json!({
                    "model": "m-2024",
                    "choices": [{ "message": { "role": "assistant", "content": "hi" },
                                  "finish_reason": "length" }],
                    "usage": { "prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4 }
                }),
                "m",
            )
            .unwrap();
        assert_eq!(res.content, "hi");
        assert_eq!(res.model, "m-2024");
        assert_eq!(res.provider, "openai");
        assert_eq!(res.usage, TokenUsage::new(3, 1));
        assert_eq!(res.finish_reason, FinishReason::Length);
        assert!(res.raw.is_none());
    }

    #[test]
    fn parse_names_what_is_missing() {
        let p = provider();
        let err = p.parse(json!({ "choices": [] }), "m").unwrap_err();
        assert!(err.to_string().contains("missing `choices[0]`"), "{err}");
        assert!(!err.is_transient());
        let err = p.parse(json!({ "choices": [{}] }), "m").unwrap_err();
        assert!(err.to_string().contains("`choices[0].message`"), "{err}");
        let err = p
            .parse(json!({ "choices": [{ "message": { "content": 5 } }] }), "m")
            .unwrap_err();
        assert!(err.to_string().contains("not a string"), "{err}");
    }

    #[test]
    fn stream_events_become_text_then_one_final_chunk() {
        let mut parser = OpenAiEvents {
            service: "openai".into(),
            endpoint: provider().endpoint.clone(),
            finish: None,
            usage: None,
        };
        let mut out = VecDeque::new();
        let no = |m: String| Error::other(m);
        let ev = |d: &str| SseEvent {
            event: String::new(),
            data: d.into(),
        };
        let events = [
            r#"{"choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}"#,
        ];
        for e in events {
            assert!(!parser.on_event(&ev(e), &mut out, &no).unwrap());
        }
        assert!(parser.on_event(&ev("[DONE]"), &mut out, &no).unwrap());
        assert_eq!(
            Vec::from(out),
            vec![
                LlmChunk::text("Hel"),
                LlmChunk::text("lo"),
                LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(2, 2)))
            ]
        );
    }
}
