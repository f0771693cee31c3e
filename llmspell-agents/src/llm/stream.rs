//! Streamed answers: the chunk type and the machinery that turns a provider's
//! server-sent events into chunks.

use std::collections::VecDeque;

use futures::stream::{BoxStream, Stream, StreamExt};
use llmspell_core::{Error, Result};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::response::{FinishReason, TokenUsage};
use super::sse::{MAX_LINE_BYTES, SseDecoder, SseEvent};
use super::transport::Transport;

/// A stream of chunks as returned by
/// [`LlmProvider::complete_stream`](crate::llm::LlmProvider::complete_stream).
pub type LlmStream = BoxStream<'static, Result<LlmChunk>>;

/// One piece of a streamed answer.
///
/// JSON form: `{ "delta": "Hel" }` for text, and for the last chunk
/// `{ "delta": "", "finish_reason": "stop", "usage": { "input_tokens": 12,
/// "output_tokens": 3, "total_tokens": 15 } }`.
///
/// A provider's stream yields text chunks in order, then exactly one final
/// chunk with `finish_reason` set and an empty `delta`, which also carries
/// `usage` when the server reported it; then the stream ends. An error
/// item ends the stream early.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LlmChunk {
    /// Text generated since the previous chunk.
    #[serde(default)]
    pub delta: String,
    /// Set on the final chunk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Set on the final chunk when the provider reported usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
}

impl LlmChunk {
    /// A text chunk.
    pub fn text(delta: impl Into<String>) -> Self {
        Self {
            delta: delta.into(),
            ..Self::default()
        }
    }

    /// The final chunk.
    pub fn finish(reason: FinishReason, usage: Option<TokenUsage>) -> Self {
        Self {
            delta: String::new(),
            finish_reason: Some(reason),
            usage,
        }
    }

    /// Whether this is the final chunk.
    pub fn is_final(&self) -> bool {
        self.finish_reason.is_some()
    }
}

/// A provider's reading of its own stream protocol.
pub(crate) trait ChunkParser: Send + 'static {
    /// Handles one event, pushing any chunks it yields onto `out`.
    /// Returns `true` once the protocol says the answer is complete.
    ///
    /// `malformed` builds the error for an event that breaks the protocol.
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<LlmChunk>,
        malformed: &dyn Fn(String) -> Error,
    ) -> Result<bool>;

    /// Called when the body ends before `on_event` returned `true`. A
    /// parser that has seen enough to call the answer complete pushes the
    /// final chunk and returns `true`; the default returns `false`, which
    /// makes the stream end with an error.
    fn on_end(&mut self, out: &mut VecDeque<LlmChunk>) -> bool {
        let _ = out;
        false
    }
}

/// Turns a 2xx streaming response into chunks: each read of the body must
/// arrive within `idle` of the previous one, events go through `parser`, and
/// a body that ends before the parser saw the end is a retryable error.
pub(crate) fn chunk_stream<P: ChunkParser>(
    transport: &Transport,
    url: Url,
    response: reqwest::Response,
    parser: P,
) -> LlmStream {
    let body = response.bytes_stream().boxed();
    drive(transport.clone(), url, body, parser).boxed()
}

struct State<B, P> {
    transport: Transport,
    url: Url,
    body: B,
    decoder: SseDecoder,
    parser: P,
    pending: VecDeque<LlmChunk>,
    done: bool,
}

fn drive<B, T, P>(
    transport: Transport,
    url: Url,
    body: B,
    parser: P,
) -> impl Stream<Item = Result<LlmChunk>> + Send + 'static
where
    B: Stream<Item = reqwest::Result<T>> + Send + Unpin + 'static,
    T: AsRef<[u8]>,
    P: ChunkParser,
{
    let state = State {
        transport,
        url,
        body,
        decoder: SseDecoder::default(),
        parser,
        pending: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        st.step().await.map(|item| (item, st))
    })
}

impl<B, T, P> State<B, P>
where
    B: Stream<Item = reqwest::Result<T>> + Send + Unpin + 'static,
    T: AsRef<[u8]>,
    P: ChunkParser,
{
    /// The next item, or `None` when the stream is over.
    async fn step(&mut self) -> Option<Result<LlmChunk>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(Ok(chunk));
            }
            if self.done {
                return None;
            }
            if let Some(event) = self.decoder.next_event() {
                if let Err(e) = self.handle(&event) {
                    return Some(Err(e));
                }
                continue;
            }
            let idle = self.transport.timeout();
            match tokio::time::timeout(idle, self.body.next()).await {
                Err(_) => return Some(Err(self.fail(self.transport.timeout_error(&self.url)))),
                Ok(Some(Err(e))) => {
                    let err = self.transport.transport_error(&self.url, &e);
                    return Some(Err(self.fail(err)));
                }
                Ok(Some(Ok(bytes))) => {
                    if self.decoder.push(bytes.as_ref()).is_err() {
                        let err = self.transport.malformed(
                            &self.url,
                            format!("a stream line exceeded {MAX_LINE_BYTES} bytes"),
                        );
                        return Some(Err(self.fail(err)));
                    }
                }
                Ok(None) => {
                    self.decoder.finish();
                    while let Some(event) = self.decoder.next_event() {
                        if let Err(e) = self.handle(&event) {
                            return Some(Err(e));
                        }
                    }
                    if !self.done {
                        self.done = self.parser.on_end(&mut self.pending);
                    }
                    if !self.done {
                        let err = Error::Provider {
                            provider: self.transport.service().to_owned(),
                            message: format!(
                                "stream from {} ended before the answer was complete",
                                self.url
                            ),
                            retryable: true,
                            source: None,
                        };
                        return Some(Err(self.fail(err)));
                    }
                }
            }
        }
    }

    fn handle(&mut self, event: &SseEvent) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let transport = &self.transport;
        let url = &self.url;
        let malformed = |what: String| transport.malformed(url, what);
        match self.parser.on_event(event, &mut self.pending, &malformed) {
            Ok(complete) => {
                self.done = complete;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Ends the stream after `err`: chunks not yet handed out are dropped,
    /// since an answer cut short must not look complete.
    fn fail(&mut self, err: Error) -> Error {
        self.done = true;
        self.pending.clear();
        err
    }
}

/// A whole answer put back together from its chunks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectedStream {
    /// Every chunk's `delta`, in order.
    pub content: String,
    /// The final chunk's finish reason; `None` if the stream had no final
    /// chunk.
    pub finish_reason: Option<FinishReason>,
    /// The usage the final chunk carried, if any.
    pub usage: Option<TokenUsage>,
}

/// Reads a stream to its end, for callers that act on each chunk as it
/// arrives (through `inspect`, say) but also need the whole answer.
///
/// # Errors
/// The first error item of the stream.
pub async fn collect_stream(mut stream: LlmStream) -> Result<CollectedStream> {
    let mut out = CollectedStream::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        out.content.push_str(&chunk.delta);
        if chunk.finish_reason.is_some() {
            out.finish_reason = chunk.finish_reason;
        }
        if chunk.usage.is_some() {
            out.usage = chunk.usage;
        }
    }
    Ok(out)
}

/// A stream of ready chunks, as the default
/// [`complete_stream`](crate::llm::LlmProvider::complete_stream) returns.
pub(crate) fn once(chunks: Vec<LlmChunk>) -> LlmStream {
    futures::stream::iter(chunks.into_iter().map(Ok)).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use reqwest::header::HeaderMap;
    use serde_json::json;

    /// Text events are `data: <text>`, the end is `data: END`.
    struct Plain;

    impl ChunkParser for Plain {
        fn on_event(
            &mut self,
            event: &SseEvent,
            out: &mut VecDeque<LlmChunk>,
            malformed: &dyn Fn(String) -> Error,
        ) -> Result<bool> {
            match event.data.as_str() {
                "END" => {
                    out.push_back(LlmChunk::finish(FinishReason::Stop, None));
                    Ok(true)
                }
                "BAD" => Err(malformed("bad event".into())),
                text => {
                    out.push_back(LlmChunk::text(text));
                    Ok(false)
                }
            }
        }
    }

    fn run(parts: Vec<&'static str>) -> Vec<Result<LlmChunk>> {
        let transport = Transport::new(
            "test",
            "http://127.0.0.1:9",
            Duration::from_secs(5),
            0,
            HeaderMap::new(),
        )
        .unwrap();
        let url = transport.endpoint("x").unwrap();
        let body = futures::stream::iter(parts.into_iter().map(Ok::<_, reqwest::Error>));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(drive(transport, url, body, Plain).collect::<Vec<_>>())
    }

    #[test]
    fn chunks_arrive_in_order_and_stop_at_the_end_marker() {
        let items = run(vec![
            "data: a\n\nda",
            "ta: b\n\ndata: END\n\ndata: ignored\n\n",
        ]);
        let chunks: Vec<LlmChunk> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            chunks,
            vec![
                LlmChunk::text("a"),
                LlmChunk::text("b"),
                LlmChunk::finish(FinishReason::Stop, None)
            ]
        );
    }

    #[test]
    fn a_body_cut_short_is_a_retryable_error() {
        let items = run(vec!["data: a\n\n"]);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap(), &LlmChunk::text("a"));
        let err = items[1].as_ref().unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("ended before"), "{err}");
    }

    #[test]
    fn a_protocol_error_ends_the_stream() {
        let items = run(vec!["data: a\n\ndata: BAD\n\ndata: b\n\n"]);
        assert_eq!(items.len(), 2);
        let err = items[1].as_ref().unwrap_err();
        assert!(!err.is_transient());
        assert!(err.to_string().contains("malformed response"), "{err}");
    }

    #[test]
    fn chunk_json_shape() {
        assert_eq!(
            serde_json::to_value(LlmChunk::text("x")).unwrap(),
            json!({ "delta": "x" })
        );
        let last = LlmChunk::finish(FinishReason::Length, Some(TokenUsage::new(1, 2)));
        assert_eq!(
            serde_json::to_value(&last).unwrap(),
            json!({
                "delta": "",
                "finish_reason": "length",
                "usage": { "input_tokens": 1, "output_tokens": 2, "total_tokens": 3 }
            })
        );
    }

    #[test]
    fn collect_joins_text_and_keeps_the_end() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let all = rt
            .block_on(collect_stream(once(vec![
                LlmChunk::text("he"),
                LlmChunk::text("llo"),
                LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(3, 2))),
            ])))
            .unwrap();
        assert_eq!(all.content, "hello");
        assert_eq!(all.finish_reason, Some(FinishReason::Stop));
        assert_eq!(all.usage, Some(TokenUsage::new(3, 2)));
    }
}
