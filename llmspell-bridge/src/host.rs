//! The operations behind the script globals, shared by every engine.
//!
//! Engines convert their values to and from JSON and call these; error
//! messages are the ones scripts see (what was wrong and what is valid).
//!
//! This file holds the [`Host`] itself, [`CallOptions`] and the helpers the
//! operations share; each global's operations have a file of their own:
//! `hooks`, `builtins` (`Hook.use`, `Hook.report`), `events`, `tools`,
//! `state`, `agents`, `workflows`, `prometheus` (the runtime's figures for
//! a scrape), and `reports` for failures of script code the host called.

use std::sync::Arc;

use llmspell_core::{CorrelationId, ExecutionContext, Language};
use llmspell_events::EventBus;
use llmspell_hooks::{HookExecutor, HookRegistry};
use llmspell_tools::ToolRegistry;
use serde_json::Value;

use crate::RuntimeConfig;

mod agents;
mod builtins;
mod error;
mod events;
mod hooks;
mod options;
mod prometheus;
mod reports;
mod state;
mod tools;
mod traces;
mod workflows;

pub use builtins::UsedHook;
pub use error::HostError;
pub(crate) use hooks::Fired;
pub use hooks::HookBody;
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
    /// The runner's cache, which the caching hook fills.
    pub(crate) cache: Arc<dyn llmspell_hooks::HookCache>,
    /// Reads (and, with `record_hooks`, the executor writes) recorded hook
    /// executions.
    pub(crate) recorder: llmspell_hooks::HookRecorder,
    /// The runtime's store (events, state, the audit log).
    pub(crate) storage: Arc<dyn llmspell_storage::StorageBackend>,
    /// The built-in hooks turned on by scripts or the configuration.
    pub(crate) builtins: parking_lot::Mutex<Vec<builtins::UsedBuiltin>>,
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

/// What a script may give a call as its last argument (`Tool.invoke`,
/// `a:invoke`, `a:invoke_tool`, `wf:execute`, `Hook.fire`): the ids that tie
/// it to an upstream request, and for `Hook.fire` the component name.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOptions {
    /// The call's correlation id (default: a fresh one).
    #[serde(default)]
    pub correlation_id: Option<CorrelationId>,
    /// The id of the operation that started this call.
    #[serde(default)]
    pub parent_id: Option<CorrelationId>,
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
        let valid: Vec<&str> = options::keys::<CallOptions>()
            .iter()
            .copied()
            .filter(|k| component || *k != "component")
            .collect();
        options::read_keys(v, "call option", &valid)
    }

    /// The execution context of a call made from `language` with these ids.
    pub fn exec(&self, language: Language) -> ExecutionContext {
        let mut exec = ExecutionContext::new(language);
        if let Some(c) = &self.correlation_id {
            exec = exec.with_correlation_id(c.clone());
        }
        if let Some(p) = &self.parent_id {
            exec = exec.with_parent(p.clone());
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
