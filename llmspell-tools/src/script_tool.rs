//! Tools defined at runtime by a handler (scripts, or Rust closures).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use llmspell_core::{
    ComponentMetadata, ExecutionContext, Language, Result, SecurityLevel, Tool, ToolCategory,
};
use serde_json::{Value, json};

/// The function behind a [`ScriptTool`].
pub type ToolHandler =
    Arc<dyn Fn(Value, ExecutionContext) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// A tool whose behaviour is a handler given at runtime: a script function
/// (wrapped by the script engine) or a Rust closure. Registered in a
/// [`crate::ToolRegistry`] it is treated exactly like a built-in tool: same
/// validation, hook points, events, limits and redirect/fork resolution.
pub struct ScriptTool {
    metadata: ComponentMetadata,
    parameters: Value,
    output: Value,
    level: SecurityLevel,
    language: Language,
    handler: ToolHandler,
}

impl ScriptTool {
    /// A tool named `name` running `handler`. Parameters default to any
    /// object; the security level to `safe`; the language to native.
    pub fn new(
        name: impl Into<Arc<str>>,
        description: impl Into<String>,
        handler: ToolHandler,
    ) -> Self {
        Self {
            metadata: ComponentMetadata::tool(name, description),
            parameters: json!({ "type": "object" }),
            output: json!({}),
            level: SecurityLevel::Safe,
            language: Language::Native,
            handler,
        }
    }

    /// Sets the parameter schema.
    #[must_use]
    pub fn with_parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self
    }

    /// Sets the output schema.
    #[must_use]
    pub fn with_output(mut self, schema: Value) -> Self {
        self.output = schema;
        self
    }

    /// Sets the security level callers need.
    #[must_use]
    pub fn with_security_level(mut self, level: SecurityLevel) -> Self {
        self.level = level;
        self
    }

    /// Records the language the handler is written in.
    #[must_use]
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The handler's language.
    pub fn language(&self) -> Language {
        self.language
    }
}

#[async_trait]
impl Tool for ScriptTool {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, ctx: &ExecutionContext) -> Result<Value> {
        (self.handler)(params, ctx.clone()).await
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Script
    }

    fn security_level(&self) -> SecurityLevel {
        self.level
    }

    fn parameters_schema(&self) -> Value {
        self.parameters.clone()
    }

    fn output_schema(&self) -> Value {
        self.output.clone()
    }
}

impl fmt::Debug for ScriptTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptTool")
            .field("name", &self.metadata.name())
            .field("language", &self.language)
            .finish()
    }
}
