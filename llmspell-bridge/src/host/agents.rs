//! The operations behind the `Agent` global.

use std::sync::Arc;

use llmspell_agents::{AgentConfig, AgentContext, AgentHandler, LifecycleAgent};
use llmspell_core::ExecutionContext;
use llmspell_core::Language;
use serde_json::{Value, json};

use super::{Host, HostError};
use crate::engine::CallArgs;
use crate::{ScriptFunction, ScriptValue};

impl Host {
    /// The agent runtime (registry and factory) shared by every engine.
    pub fn agents(&self) -> &llmspell_agents::AgentRuntime {
        &self.inner.agents
    }

    /// `Agent.create(cfg)`: builds, registers and initialises the agent
    /// (firing its init hook points). A `basic` agent's `handler` is a
    /// script function called as `handler(input, agent)`.
    ///
    /// # Errors
    /// A spec that is not a table, a bad config (the message names the
    /// field and the valid ones), a handler that is not a function, a
    /// duplicate name, a vetoed initialisation.
    pub async fn agent_create(
        &self,
        spec: ScriptValue,
        language: Language,
    ) -> Result<LifecycleAgent, HostError> {
        if !spec.is_object() {
            return Err(format!(
                "expected a table {{ name, type, ... }}, got {}",
                spec.kind()
            )
            .into());
        }
        let handler = match spec.get("handler") {
            None => None,
            Some(ScriptValue::Function(f)) => Some(f),
            Some(other) => {
                return Err(format!("`handler` must be a function, got {}", other.kind()).into());
            }
        };
        let mut fields = Vec::new();
        for key in spec.keys() {
            if key == "handler" {
                continue;
            }
            if let Some(v) = spec.get(&key) {
                fields.push((key, v));
            }
        }
        let config_json = ScriptValue::Object(fields).into_json("Agent.create")?;
        let config = AgentConfig::from_json(config_json).map_err(HostError::from)?;
        let handler = handler.map(|f| self.agent_handler(f, config.name.clone()));
        let exec = self.script_exec(language);
        self.inner
            .agents
            .create(config, handler, &exec)
            .await
            .map_err(HostError::from)
    }

    fn agent_handler(&self, function: ScriptFunction, name: String) -> AgentHandler {
        let timeout = self.inner.live.handler_timeout();
        Arc::new(move |input: Value, cx: AgentContext| {
            let function = function.clone();
            let name = name.clone();
            Box::pin(async move {
                function
                    .call_with(CallArgs::Agent(input, Box::new(cx)), Some(timeout))
                    .await
                    .map_err(|e| e.failed_in(format!("agent:{name}")))
            })
        })
    }

    /// `a:invoke(input)`: one invocation through the lifecycle and the agent
    /// hook points.
    ///
    /// # Errors
    /// The invocation's error (a hook's cancel names its reason).
    pub async fn agent_invoke(
        &self,
        agent: &LifecycleAgent,
        input: Value,
        exec: &ExecutionContext,
    ) -> Result<Value, HostError> {
        agent.invoke(input, exec).await.map_err(HostError::from)
    }

    /// `a:invoke_tool(name, params)`: a tool call attributed to the agent.
    ///
    /// # Errors
    /// As [`tool_invoke`](Host::tool_invoke), or an agent that takes no work.
    pub async fn agent_invoke_tool(
        &self,
        agent: &LifecycleAgent,
        tool: &str,
        params: Value,
        exec: &ExecutionContext,
    ) -> Result<Value, HostError> {
        agent
            .invoke_tool(tool, params, exec)
            .await
            .map_err(HostError::from)
    }

    /// `a:pause()`, `a:resume()`, `a:terminate()`.
    ///
    /// # Errors
    /// An operation the agent's state does not allow (the message lists the
    /// valid transitions), or a hook's veto.
    pub async fn agent_transition(
        &self,
        agent: &LifecycleAgent,
        operation: &str,
        language: Language,
    ) -> Result<(), HostError> {
        let exec = self.script_exec(language);
        let r = match operation {
            "pause" => agent.pause(&exec).await,
            "resume" => agent.resume(&exec).await,
            "terminate" => agent.terminate(&exec).await,
            other => {
                return Err(format!(
                    "unknown agent operation `{other}`; valid: pause, resume, terminate"
                )
                .into());
            }
        };
        r.map_err(HostError::from)
    }

    /// `Agent.list()`: `[{ name, type, state }]` in name order.
    pub fn agent_list(&self) -> Value {
        let mut list: Vec<Value> = self
            .inner
            .agents
            .list()
            .into_iter()
            .map(|a| json!({ "name": a.name, "type": a.kind, "state": a.state.as_str() }))
            .collect();
        list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Value::Array(list)
    }

    /// `Agent.get(name)`: a registered agent.
    pub fn agent_get(&self, name: &str) -> Option<LifecycleAgent> {
        self.inner.agents.get(name)
    }
}
