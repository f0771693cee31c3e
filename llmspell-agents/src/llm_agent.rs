//! LLM agents: the behaviour is a call to a language model.

mod input;
mod providers;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use llmspell_core::{ComponentId, Error, ExecutionContext, Result};
use llmspell_hooks::{GuardPoints, GuardSpec, HookPoint, OperationCall};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

pub use providers::ProviderSettings;

use self::input::{LlmInput, response_from_json};
use crate::llm::{ChatMessage, LlmProvider, LlmRequest, LlmResponse, ModelSpec, Role};
use crate::{AgentBehavior, AgentContext, LifecycleAgent};

/// An agent whose behaviour is a language-model call; made by
/// [`AgentRuntime::llm`](crate::AgentRuntime::llm) or from an
/// [`AgentConfig`](crate::AgentConfig) with `type = "llm"`.
pub type LlmAgent = LifecycleAgent<LlmBehavior>;

/// The behaviour of an LLM agent.
///
/// **Input**: a string, `{ text }` or `{ messages = [{ role, content }, …] }`
/// (both: the messages, then the text), with optional per-call
/// `system_prompt`, `temperature`, `max_tokens` and `stream`; other keys
/// are ignored. **Output**: `{ text, usage = { input_tokens, output_tokens,
/// total_tokens }, model, provider, finish_reason }`.
///
/// Each model call is a nested operation (a child of the invocation's
/// context) guarded by the runner with `BeforeLlmCall` (data: the
/// [`LlmRequest`] JSON; `Modified` changes what is sent), `AfterLlmCall`
/// (data: the [`LlmResponse`] JSON with `usage`, `model`, `provider`) and
/// `LlmError` (data: the error); its events are `agent.<name>.llm.*`. A
/// `Redirect` names a model spec (`"anthropic/claude-3-5-haiku-latest"`)
/// to call instead, built from the runtime's provider settings. When
/// streaming, `LlmStreamChunk` fires per chunk with `{ index, delta,
/// finish_reason?, usage? }`: `Modified` may rewrite `delta`, `Cancel`
/// ends the call.
///
/// **Memory** (off unless the config's `memory` is above 0): the last
/// `memory` user and assistant messages are kept and sent before the new
/// ones; a call adds its input messages and the reply after it succeeds.
/// Concurrent invocations each see the memory as it was when they started.
/// Termination clears it.
///
/// **Provider failures**: a missing API key fails when the agent is made;
/// an unreachable server or an HTTP error fails the first call that meets
/// it (`External`, with `retryable` set for connection failures, 408, 409,
/// 429 and 5xx), which fires `LlmError` and moves the agent to `Error`.
pub struct LlmBehavior {
    component: ComponentId,
    guard: GuardSpec,
    provider: Arc<dyn LlmProvider>,
    spec: ModelSpec,
    system_prompt: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    extra: Map<String, Value>,
    stream: bool,
    memory: Option<Memory>,
    settings: ProviderSettings,
}

struct Memory {
    max: usize,
    messages: Mutex<VecDeque<ChatMessage>>,
}

/// The settings of an [`LlmBehavior`] besides its provider.
#[derive(Debug, Clone, Default)]
pub(crate) struct LlmOptions {
    pub(crate) system_prompt: Option<String>,
    pub(crate) temperature: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) extra: Map<String, Value>,
    pub(crate) stream: bool,
    pub(crate) memory: usize,
}

impl LlmBehavior {
    pub(crate) fn new(
        component: ComponentId,
        provider: Arc<dyn LlmProvider>,
        spec: ModelSpec,
        options: LlmOptions,
        settings: ProviderSettings,
    ) -> Self {
        let guard = GuardSpec::with_prefix(component.clone(), GuardPoints::llm(), "llm");
        Self {
            component,
            guard,
            provider,
            spec,
            system_prompt: options.system_prompt,
            temperature: options.temperature,
            max_tokens: options.max_tokens,
            extra: options.extra,
            stream: options.stream,
            memory: (options.memory > 0).then(|| Memory {
                max: options.memory,
                messages: Mutex::new(VecDeque::new()),
            }),
            settings,
        }
    }

    /// The model spec (`openai/gpt-4o-mini`).
    pub fn model(&self) -> &ModelSpec {
        &self.spec
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn LlmProvider> {
        &self.provider
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// The conversation memory, oldest first (empty when memory is off).
    pub fn history(&self) -> Vec<ChatMessage> {
        self.memory
            .as_ref()
            .map(|m| m.messages.lock().iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets the conversation.
    pub fn clear_history(&self) {
        if let Some(m) = &self.memory {
            m.messages.lock().clear();
        }
    }

    fn request(&self, input: &LlmInput) -> LlmRequest {
        let mut messages = Vec::new();
        if let Some(m) = &self.memory {
            messages.extend(m.messages.lock().iter().cloned());
        }
        messages.extend(input.messages.iter().cloned());
        LlmRequest {
            model: self.spec.model().to_owned(),
            messages,
            system_prompt: input
                .system_prompt
                .clone()
                .or_else(|| self.system_prompt.clone()),
            temperature: input.temperature.or(self.temperature),
            max_tokens: input.max_tokens.or(self.max_tokens),
            stop: Vec::new(),
            extra: self.extra.clone(),
        }
    }

    fn remember(&self, input: &LlmInput, reply: &str) {
        let Some(m) = &self.memory else { return };
        let mut messages = m.messages.lock();
        messages.extend(
            input
                .messages
                .iter()
                .filter(|msg| msg.role != Role::System)
                .cloned(),
        );
        messages.push_back(ChatMessage::assistant(reply));
        while messages.len() > m.max {
            messages.pop_front();
        }
    }

    /// The provider a run on `target` uses: this agent's own, or the one a
    /// `Redirect` named by model spec.
    fn resolve(&self, target: &str, request: &mut LlmRequest) -> Result<Arc<dyn LlmProvider>> {
        if target == &*self.component.name {
            return Ok(self.provider.clone());
        }
        let spec = ModelSpec::parse(target).map_err(|_| Error::NotFound {
            kind: "model".to_owned(),
            name: target.to_owned(),
            suggestion: None,
        })?;
        request.model = spec.model().to_owned();
        self.settings.provider_for(&spec, None)
    }

    /// One run of the guarded model call, in JSON as the runner passes it.
    async fn call_json(
        &self,
        call: OperationCall,
        stream: bool,
        cx: &AgentContext,
        exec: &ExecutionContext,
    ) -> Result<Value> {
        let mut request: LlmRequest = serde_json::from_value(call.input).map_err(|e| {
            Error::invalid_input(
                "request",
                format!("the LLM request (as BeforeLlmCall hooks left it) is not valid: {e}"),
            )
        })?;
        let provider = self.resolve(&call.target, &mut request)?;
        let response = self.call(&*provider, &request, stream, cx, exec).await?;
        serde_json::to_value(&response)
            .map_err(|e| Error::other(format!("cannot serialise an LLM response: {e}")))
    }

    /// Calls `provider`, streaming when asked (and firing `LlmStreamChunk`).
    async fn call(
        &self,
        provider: &dyn LlmProvider,
        request: &LlmRequest,
        stream: bool,
        cx: &AgentContext,
        exec: &ExecutionContext,
    ) -> Result<LlmResponse> {
        if !stream {
            return provider.complete(request).await;
        }
        let mut chunks = provider.complete_stream(request).await?;
        let executor = cx.runner().executor();
        let mut response = LlmResponse {
            content: String::new(),
            model: request.model.clone(),
            provider: provider.name().to_owned(),
            usage: Default::default(),
            finish_reason: Default::default(),
            raw: None,
        };
        let mut index = 0u64;
        while let Some(chunk) = chunks.next().await {
            let mut chunk = chunk?;
            let fired = executor
                .fire_at(
                    HookPoint::LlmStreamChunk,
                    &self.component,
                    exec,
                    &[],
                    || {
                        let mut data = serde_json::to_value(&chunk).unwrap_or(Value::Null);
                        if let Value::Object(map) = &mut data {
                            map.insert("index".to_owned(), json!(index));
                        }
                        data
                    },
                )
                .await?;
            if let Some(f) = fired {
                f.ignore("only modified and cancel apply");
                if f.modified
                    && let Some(delta) = f.data.get("delta").and_then(Value::as_str)
                {
                    chunk.delta = delta.to_owned();
                }
            }
            response.content.push_str(&chunk.delta);
            if let Some(reason) = chunk.finish_reason {
                response.finish_reason = reason;
            }
            if let Some(usage) = chunk.usage {
                response.usage = usage;
            }
            index += 1;
            cx.checkpoint().await?;
        }
        Ok(response)
    }
}

#[async_trait]
impl AgentBehavior for LlmBehavior {
    fn kind(&self) -> &str {
        "llm"
    }

    async fn run(&self, input: Value, cx: AgentContext) -> Result<Value> {
        let input = LlmInput::parse(input)?;
        let request = self.request(&input);
        let stream = input.stream.unwrap_or(self.stream);
        let exec = cx.exec().child();
        let runner = cx.runner();
        // Without hooks or listeners the typed request goes to the provider
        // as it is; hooks see (and may change) its JSON form, which costs a
        // serialisation of the prompt each way.
        let response = if runner.is_passthrough(&self.guard) {
            self.call(&*self.provider, &request, stream, &cx, &exec)
                .await?
        } else {
            let data = serde_json::to_value(&request)
                .map_err(|e| Error::other(format!("cannot serialise an LLM request: {e}")))?;
            let (cx, exec) = (&cx, &exec);
            let outcome = runner
                .run(&self.guard, exec, data, |call| {
                    self.call_json(call, stream, cx, exec)
                })
                .await?;
            response_from_json(outcome.output, &request.model, self.provider.name())?
        };
        self.remember(&input, &response.content);
        Ok(json!({
            "text": response.content,
            "usage": response.usage,
            "model": response.model,
            "provider": response.provider,
            "finish_reason": response.finish_reason,
        }))
    }

    async fn shutdown(&self) -> Result<()> {
        self.clear_history();
        Ok(())
    }
}

impl fmt::Debug for LlmBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmBehavior")
            .field("model", &self.spec.to_string())
            .field("provider", &self.provider.name())
            .field("stream", &self.stream)
            .field("memory", &self.memory.as_ref().map(|m| m.max))
            .finish()
    }
}

impl LlmAgent {
    /// The conversation memory, oldest first (empty when memory is off).
    pub fn history(&self) -> Vec<ChatMessage> {
        self.behavior().history()
    }

    /// Forgets the conversation.
    pub fn clear_history(&self) {
        self.behavior().clear_history();
    }
}
