//! The workflow contract.

use async_trait::async_trait;
use serde_json::Value;

use crate::{ComponentMetadata, ExecutionContext, Result};

/// A workflow: a composition of steps run as one operation.
///
/// This is the minimal contract; the four patterns and their hook phases live
/// in `llmspell-workflows`.
#[async_trait]
pub trait Workflow: Send + Sync {
    /// Identity and description.
    fn metadata(&self) -> &ComponentMetadata;

    /// Runs the workflow on `input`.
    ///
    /// # Errors
    /// The first step failure the workflow's error policy does not absorb.
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value>;
}

#[async_trait]
impl<T: Workflow + ?Sized> Workflow for std::sync::Arc<T> {
    fn metadata(&self) -> &ComponentMetadata {
        (**self).metadata()
    }
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        (**self).execute(input, ctx).await
    }
}
