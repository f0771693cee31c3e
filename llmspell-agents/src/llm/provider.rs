//! The contract every language-model backend implements.

use std::sync::Arc;

use async_trait::async_trait;
use llmspell_core::Result;

use super::request::LlmRequest;
use super::response::LlmResponse;
use super::stream::{LlmChunk, LlmStream, once};

/// A language-model backend: takes an [`LlmRequest`], returns an
/// [`LlmResponse`] or a stream of [`LlmChunk`]s.
///
/// Implementers owe:
/// - [`name`](Self::name): a short, stable, lowercase name (`"openai"`,
///   `"anthropic"`, `"ollama"`) that appears as `provider` in responses and
///   as `service` in errors.
/// - [`complete`](Self::complete): one call, no retries unless the provider
///   was built with them (retrying is a hook's job). Bad input is
///   [`Error::InvalidInput`] before any network traffic; failures of the
///   service are [`Error::Provider`] with `retryable` set as documented in
///   the user guide, or [`Error::Timeout`]. Never panics on a bad response.
/// - [`complete_stream`](Self::complete_stream) (defaulted): the same call,
///   streamed. The returned stream yields text chunks in order, then one
///   final chunk with `finish_reason` (and `usage` when known), then ends.
///   Errors before the first byte of the answer are returned directly;
///   errors after it are the stream's last item.
///
/// Both methods take `&self` and may be called concurrently.
///
/// [`Error::InvalidInput`]: llmspell_core::Error::InvalidInput
/// [`Error::Provider`]: llmspell_core::Error::Provider
/// [`Error::Timeout`]: llmspell_core::Error::Timeout
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// The provider's name.
    fn name(&self) -> &str;

    /// Sends `req` and waits for the whole answer.
    ///
    /// # Errors
    /// See the trait docs.
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse>;

    /// Sends `req` and streams the answer.
    ///
    /// The default calls [`complete`](Self::complete) and yields its content
    /// as one text chunk followed by the final chunk, for backends that
    /// cannot stream.
    ///
    /// # Errors
    /// See the trait docs.
    async fn complete_stream(&self, req: &LlmRequest) -> Result<LlmStream> {
        let res = self.complete(req).await?;
        let mut chunks = Vec::with_capacity(2);
        if !res.content.is_empty() {
            chunks.push(LlmChunk::text(res.content));
        }
        chunks.push(LlmChunk::finish(res.finish_reason, Some(res.usage)));
        Ok(once(chunks))
    }
}

#[async_trait]
impl<T: LlmProvider + ?Sized> LlmProvider for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse> {
        (**self).complete(req).await
    }
    async fn complete_stream(&self, req: &LlmRequest) -> Result<LlmStream> {
        (**self).complete_stream(req).await
    }
}

#[async_trait]
impl<T: LlmProvider + ?Sized> LlmProvider for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse> {
        (**self).complete(req).await
    }
    async fn complete_stream(&self, req: &LlmRequest) -> Result<LlmStream> {
        (**self).complete_stream(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{FinishReason, TokenUsage, collect_stream};

    /// Answers with the last message reversed; cannot stream by itself.
    struct Reverse;

    #[async_trait]
    impl LlmProvider for Reverse {
        fn name(&self) -> &str {
            "reverse"
        }
        async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse> {
            req.validate()?;
            let last = req
                .messages
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default();
            Ok(LlmResponse {
                content: last.chars().rev().collect(),
                model: req.model.clone(),
                provider: self.name().to_owned(),
                usage: TokenUsage::new(1, 1),
                finish_reason: FinishReason::Stop,
                raw: None,
            })
        }
    }

    #[tokio::test]
    async fn default_stream_yields_text_then_final_chunk() {
        let p: Arc<dyn LlmProvider> = Arc::new(Reverse);
        let stream = p.complete_stream(&LlmRequest::user("abc")).await.unwrap();
        let chunks: Vec<_> = futures::StreamExt::collect::<Vec<_>>(stream).await;
        let chunks: Vec<LlmChunk> = chunks.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            chunks,
            vec![
                LlmChunk::text("cba"),
                LlmChunk::finish(FinishReason::Stop, Some(TokenUsage::new(1, 1)))
            ]
        );
    }

    #[tokio::test]
    async fn boxed_and_shared_providers_delegate() {
        let p: Box<dyn LlmProvider> = Box::new(Reverse);
        assert_eq!(p.name(), "reverse");
        let all = collect_stream(p.complete_stream(&LlmRequest::user("xy")).await.unwrap())
            .await
            .unwrap();
        assert_eq!(all.content, "yx");
        assert!(p.complete(&LlmRequest::default()).await.is_err());
    }
}
