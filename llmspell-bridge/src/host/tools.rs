//! The operations behind the `Tool` global.

use std::sync::Arc;

use llmspell_core::{ExecutionContext, Language};
use llmspell_tools::ScriptTool;
use serde_json::{Value, json};

use super::{Host, HostError, only_keys, text};
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

    /// `Tool.register`: `{ name, description, parameters }` plus the handler.
    pub fn tool_register(&self, spec: &Value, handler: ScriptFunction) -> Result<(), HostError> {
        let obj = spec
            .as_object()
            .ok_or_else(|| HostError::invalid(format!("takes a table (object), got {spec}")))?;
        only_keys(
            obj,
            &["name", "description", "parameters", "security_level"],
            "field",
            "name, description, parameters, handler, security_level",
        )?;
        let name = text(spec, "name")
            .ok_or("`name` (a string) is required")?
            .to_owned();
        let description = text(spec, "description")
            .unwrap_or("a script-defined tool")
            .to_owned();
        let language = handler.language();
        let timeout = self.inner.live.callback_timeout();
        let tool_name = name.clone();
        let mut tool = ScriptTool::new(
            name.clone(),
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
        match obj.get("parameters") {
            None | Some(Value::Null) => {}
            Some(schema @ Value::Object(_)) => tool = tool.with_parameters(schema.clone()),
            Some(other) => {
                return Err(
                    format!("`parameters` must be a JSON Schema table, got {other}").into(),
                );
            }
        }
        if let Some(level) = text(spec, "security_level") {
            tool = tool.with_security_level(level.parse().map_err(HostError::from)?);
        }
        self.inner
            .tools
            .register_in(Arc::new(tool), language)
            .map_err(HostError::from)
    }
}
