//! Basic agents: the behaviour is a handler function.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use llmspell_core::Result;
use serde_json::Value;

use crate::{AgentBehavior, AgentContext, LifecycleAgent};

/// The function behind a [`BasicAgent`]: input in, output out, with the
/// invocation's [`AgentContext`] (to call tools, read the agent's name and
/// parameters, check for cancellation).
///
/// The script bridge wraps Lua and JavaScript functions into this type; Rust
/// code uses [`handler_fn`]. The future is `'static` and `Send`: it owns
/// what it uses (the context is cheap to clone and move).
pub type AgentHandler =
    Arc<dyn Fn(Value, AgentContext) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// Adapts an async closure into an [`AgentHandler`].
///
/// ```
/// use llmspell_agents::handler_fn;
/// use serde_json::json;
///
/// let echo = handler_fn(|input, cx| async move {
///     Ok(json!({ "agent": cx.name(), "echo": input }))
/// });
/// # drop(echo);
/// ```
pub fn handler_fn<F, Fut>(f: F) -> AgentHandler
where
    F: Fn(Value, AgentContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    Arc::new(move |input, cx| Box::pin(f(input, cx)))
}

/// The behaviour of a basic agent: it calls its [`AgentHandler`].
#[derive(Clone)]
pub struct BasicBehavior {
    handler: AgentHandler,
}

impl BasicBehavior {
    /// A behaviour running `handler`.
    pub fn new(handler: AgentHandler) -> Self {
        Self { handler }
    }

    /// The handler.
    pub fn handler(&self) -> &AgentHandler {
        &self.handler
    }
}

#[async_trait]
impl AgentBehavior for BasicBehavior {
    fn kind(&self) -> &str {
        "basic"
    }

    // Written out rather than `async fn` so the handler's boxed future is
    // returned as it is instead of being boxed a second time.
    fn run<'life0, 'async_trait>(
        &'life0 self,
        input: Value,
        cx: AgentContext,
    ) -> Pin<Box<dyn Future<Output = Result<Value>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        (self.handler)(input, cx)
    }
}

impl fmt::Debug for BasicBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicBehavior")
    }
}

/// An agent whose behaviour is a handler function; made by
/// [`AgentRuntime::basic`](crate::AgentRuntime::basic) or from an
/// [`AgentConfig`](crate::AgentConfig) with `type = "basic"`.
pub type BasicAgent = LifecycleAgent<BasicBehavior>;
