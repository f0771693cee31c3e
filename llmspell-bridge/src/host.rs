//! The operations behind the script globals, shared by every engine.
//!
//! Engines convert their values to and from JSON and call these; error
//! messages are the ones scripts see (what was wrong and what is valid).
//!
//! This file holds the [`Host`] itself, [`CallOptions`] and the helpers the
//! operations share; each global's operations have a file of their own:
//! `hooks`, `events`, `tools`, `state`, `agents`, `workflows`, and `reports`
//! for failures of script code the host called.

use std::sync::Arc;

use llmspell_core::{CorrelationId, ExecutionContext, Language};
use llmspell_events::EventBus;
use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::ToolRegistry;
use serde_json::{Map, Value};

use crate::RuntimeConfig;

mod agents;
mod error;
mod events;
mod hooks;
mod reports;
mod state;
mod tools;
mod workflows;

pub use error::HostError;
pub(crate) use hooks::Fired;
pub(crate) use workflows::Components;
pub use workflows::WorkflowKind;

/// The shared registries of a runtime, as script globals use them.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) hooks: HookRegistry,
    pub(crate) executor: HookExecutor,
    pub(crate) bus: EventBus,
    pub(crate) tools: ToolRegistry,
    pub(crate) agents: llmspell_agents::AgentRuntime,
    pub(crate) workflows: llmspell_workflows::WorkflowEngine,
    pub(crate) components: Components,
    pub(crate) config: RuntimeConfig,
    /// The settings that may change while the runtime runs.
    pub(crate) live: crate::live::Live,
    /// The runtime's session and its `State`.
    pub(crate) session: crate::session::Session,
    /// The runtime's own tokio runtime (for work started from engine
    /// threads, such as memory reports).
    pub(crate) background: tokio::runtime::Handle,
    /// Each Lua engine's stop request (see `memory.rs`).
    pub(crate) lua_stops: parking_lot::Mutex<Vec<crate::memory::StopRequest>>,
}

/// Refuses a key of `o` that is not `accepted`, naming it as an unknown
/// `what` and listing the valid keys (`listed`).
fn only_keys(
    o: &Map<String, Value>,
    accepted: &[&str],
    what: &str,
    listed: &str,
) -> Result<(), HostError> {
    match o.keys().find(|key| !accepted.contains(&key.as_str())) {
        Some(key) => Err(format!("unknown {what} `{key}`; valid: {listed}").into()),
        None => Ok(()),
    }
}

/// The strings of the array `v` under `key` (such as `tags`).
fn strings<'a>(v: &'a Value, key: &str) -> Result<Vec<&'a str>, HostError> {
    v.as_array()
        .ok_or_else(|| HostError::invalid(format!("`{key}` must be an array of strings, got {v}")))?
        .iter()
        .map(|t| {
            t.as_str()
                .ok_or_else(|| HostError::invalid(format!("`{key}` must hold strings, got {t}")))
        })
        .collect()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The correlation or parent id under `key`: any non-empty string of at most
/// 128 bytes without control characters (see [`CorrelationId`]).
fn parse_id(v: &Value, key: &str) -> Result<Option<CorrelationId>, HostError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => CorrelationId::parse_field(key, s)
            .map(Some)
            .map_err(HostError::from),
        Some(other) => Err(llmspell_core::Error::invalid_input(
            key,
            format!("must be a string, got {other}; {}", CorrelationId::RULE),
        )
        .into()),
    }
}

/// What a script may give a call as its last argument (`Tool.invoke`,
/// `a:invoke`, `a:invoke_tool`, `wf:execute`, `Hook.fire`): the ids that tie
/// it to an upstream request, and for `Hook.fire` the component name.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOptions {
    /// The call's correlation id (default: a fresh UUID).
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The id of the operation that started this call.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// `Hook.fire` only: the component the firing concerns.
    #[serde(default)]
    pub component: Option<String>,
}

impl CallOptions {
    /// Parses a call's options (`null`: none). With `component` false, a
    /// `component` field is refused.
    ///
    /// # Errors
    /// A message naming the unknown or malformed field and the valid ones.
    pub fn parse(v: &Value, component: bool) -> Result<Self, HostError> {
        if v.is_null() {
            return Ok(Self::default());
        }
        let o: CallOptions = serde_json::from_value(v.clone()).map_err(|e| {
            let valid = if component {
                "correlation_id, parent_id, component"
            } else {
                "correlation_id, parent_id"
            };
            format!("invalid call options ({e}); valid fields: {valid}")
        })?;
        if !component && o.component.is_some() {
            return Err(
                "unknown field `component` in call options; valid fields: correlation_id, parent_id"
                    .into(),
            );
        }
        for (key, id) in [
            ("correlation_id", &o.correlation_id),
            ("parent_id", &o.parent_id),
        ] {
            if let Some(id) = id {
                CorrelationId::parse_field(key, id).map_err(HostError::from)?;
            }
        }
        Ok(o)
    }

    /// The execution context of a call made from `language` with these ids.
    pub fn exec(&self, language: Language) -> ExecutionContext {
        let mut exec = ExecutionContext::new(language);
        if let Some(c) = self
            .correlation_id
            .as_deref()
            .and_then(|c| c.parse::<CorrelationId>().ok())
        {
            exec = exec.with_correlation_id(c);
        }
        if let Some(p) = self
            .parent_id
            .as_deref()
            .and_then(|p| p.parse::<CorrelationId>().ok())
        {
            exec = exec.with_parent(p);
        }
        exec
    }
}

impl Host {
    /// The hook registry.
    pub fn hooks(&self) -> &HookRegistry {
        &self.inner.hooks
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// The tool registry.
    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// The stop requests of every Lua engine of the runtime.
    pub(crate) fn lua_stop_requests(&self) -> Vec<crate::memory::StopRequest> {
        self.inner.lua_stops.lock().clone()
    }

    fn exec(&self, language: Language) -> ExecutionContext {
        ExecutionContext::new(language)
    }

    /// A fresh execution context for a call made by a script.
    pub fn script_exec(&self, language: Language) -> ExecutionContext {
        self.exec(language)
    }
}
