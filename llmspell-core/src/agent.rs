//! The agent contract.

use async_trait::async_trait;
use serde_json::Value;

use crate::{ComponentMetadata, ExecutionContext, Result};

/// An agent: a component that turns an input into an output, possibly by
/// calling tools or language models.
///
/// This is the minimal contract; the lifecycle state machine and hooked
/// execution live in `llmspell-agents`.
#[async_trait]
pub trait Agent: Send + Sync {
    /// Identity and description.
    fn metadata(&self) -> &ComponentMetadata;

    /// Handles one input.
    ///
    /// # Errors
    /// Whatever the agent reports.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value>;
}

#[async_trait]
impl<T: Agent + ?Sized> Agent for std::sync::Arc<T> {
    fn metadata(&self) -> &ComponentMetadata {
        (**self).metadata()
    }
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        (**self).execute(input, ctx).await
    }
}
