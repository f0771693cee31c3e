//! The operations behind the `Tool` global.

use std::sync::Arc;

use llmspell_core::{ExecutionContext, Language};
use llmspell_tools::ScriptTool;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::{Host, HostError, options};
use crate::ScriptFunction;
use crate::script_hook::call_tool_handler;

impl Host {
    /// `Tool.list`: `{ name, description, category, security_level }` each,
    /// through the discovery hooks.
    pub async fn tool_list(&self, language: Language) -> Result<Value, HostError> {
        let list = self
            .inner
            .tools
            .list(&self.exec(language))
            .await
            .map_err(HostError::from)?;
        Ok(Value::Array(
            list.into_iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "description": t.description,
                        "category": t.category,
                        "security_level": t.security_level,
                    })
                })
                .collect(),
        ))
    }

    /// `Tool.info`.
    pub fn tool_info(&self, name: &str) -> Result<Value, HostError> {
        let t = self.inner.tools.info(name).map_err(HostError::from)?;
        Ok(json!({
            "name": t.name,
            "description": t.description,
            "category": t.category,
            "security_level": t.security_level,
            "parameters": t.parameters,
            "output": t.output,
            "examples": t.examples,
            "language": t.language,
        }))
    }

    /// `Tool.invoke`.
    pub async fn tool_invoke(
        &self,
        name: &str,
        params: Value,
        exec: &ExecutionContext,
    ) -> Result<Value, HostError> {
        let opts =
            llmspell_tools::InvokeOptions::new().allowed_level(self.inner.config.allowed_level);
        self.inner
            .tools
            .invoke_with(name, params, exec, opts)
            .await
            .map(|o| o.output)
            .map_err(HostError::from)
    }

    /// `Tool.register`: `{ name, description, parameters, security_level }`
    /// plus the handler.
    pub fn tool_register(&self, spec: &Value, handler: ScriptFunction) -> Result<(), HostError> {
        if !spec.is_object() {
            return Err(format!("takes a table (object), got {spec}").into());
        }
        let spec: ToolSpec = options::read(spec, "field")?;
        let name = spec
            .name
            .ok_or_else(|| HostError::invalid("`name` (a string) is required"))?;
        let description = spec
            .description
            .unwrap_or_else(|| "a script-defined tool".to_owned());
        let language = handler.language();
        let timeout = self.inner.live.callback_timeout();
        let tool_name = name.clone();
        let mut tool = ScriptTool::new(
            name,
            description,
            Arc::new(move |params, _ctx| {
                let handler = handler.clone();
                let tool_name = tool_name.clone();
                Box::pin(
                    async move { call_tool_handler(&handler, &tool_name, params, timeout).await },
                )
            }),
        )
        .with_language(language);
        match spec.parameters {
            None | Some(Value::Null) => {}
            Some(schema @ Value::Object(_)) => tool = tool.with_parameters(schema),
            Some(other) => {
                return Err(
                    format!("`parameters` must be a JSON Schema table, got {other}").into(),
                );
            }
        }
        if let Some(level) = spec.security_level {
            tool = tool.with_security_level(level.parse().map_err(HostError::from)?);
        }
        self.inner
            .tools
            .register_in(Arc::new(tool), language)
            .map_err(HostError::from)
    }
}

/// The spec table of `Tool.register` (the handler is the engine's part:
/// a field of the table in Lua, the second argument in JavaScript).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpec {
    /// The tool's name (required).
    name: Option<String>,
    /// What it does (default: "a script-defined tool").
    description: Option<String>,
    /// The JSON Schema of its parameters.
    parameters: Option<Value>,
    /// The function that runs the tool: taken by the engine before the
    /// spec reaches the host, listed here as a valid key.
    #[serde(rename = "handler")]
    _handler: Option<IgnoredAny>,
    /// The level a caller needs (`safe`, `restricted`, `privileged`).
    security_level: Option<String>,
}
