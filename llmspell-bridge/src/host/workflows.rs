//! The operations behind the `Workflow` global: building the four patterns
//! from script specs (`build`), registering and running them.

use std::collections::HashMap;
use std::sync::Arc;

use llmspell_core::{Agent, ExecutionContext, Workflow};
use llmspell_workflows::ComponentResolver;
use parking_lot::RwLock;
use serde_json::Value;

use super::{Host, HostError};
use crate::ScriptValue;

/// The agents and workflows of a runtime by name, for hook redirects and
/// forks and for steps naming their component.
#[derive(Clone, Default)]
pub(crate) struct Components {
    agents: Option<llmspell_agents::AgentRegistry>,
    workflows: Arc<RwLock<HashMap<String, Arc<dyn Workflow>>>>,
}

impl Components {
    pub(crate) fn new(agents: llmspell_agents::AgentRegistry) -> Self {
        Self {
            agents: Some(agents),
            workflows: Arc::default(),
        }
    }

    fn add_workflow(&self, workflow: Arc<dyn Workflow>) -> Result<(), HostError> {
        let name = workflow.metadata().name().to_owned();
        let mut map = self.workflows.write();
        if map.contains_key(&name) {
            return Err(format!(
                "a workflow named {name:?} already exists in this runtime; workflow names are unique"
            ).into());
        }
        map.insert(name, workflow);
        Ok(())
    }
}

impl ComponentResolver for Components {
    fn agent(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents
            .as_ref()
            .and_then(|r| r.get(name))
            .map(|a| a.as_component())
    }

    fn workflow(&self, name: &str) -> Option<Arc<dyn Workflow>> {
        self.workflows.read().get(name).cloned()
    }
}

/// The workflow patterns scripts can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowKind {
    /// `Workflow.sequential`.
    Sequential,
    /// `Workflow.conditional`.
    Conditional,
    /// `Workflow.loop`.
    Loop,
    /// `Workflow.parallel`.
    Parallel,
}

impl WorkflowKind {
    /// Every pattern, in the order the globals list them.
    pub(crate) const ALL: [WorkflowKind; 4] = [
        WorkflowKind::Sequential,
        WorkflowKind::Conditional,
        WorkflowKind::Loop,
        WorkflowKind::Parallel,
    ];

    /// The pattern whose constructor is named `name`.
    pub(crate) fn named(name: &str) -> Result<Self, HostError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                HostError::invalid(format!(
                    "unknown workflow kind {name:?}; valid: sequential, conditional, loop, parallel"
                ))
            })
    }

    /// The constructor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowKind::Sequential => "sequential",
            WorkflowKind::Conditional => "conditional",
            WorkflowKind::Loop => "loop",
            WorkflowKind::Parallel => "parallel",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            WorkflowKind::Sequential => &["name", "description", "vars", "steps"],
            WorkflowKind::Conditional => &["name", "description", "vars", "branches", "default"],
            WorkflowKind::Loop => &[
                "name",
                "description",
                "vars",
                "items",
                "range",
                "while",
                "body",
                "max_iterations",
                "break_when",
            ],
            WorkflowKind::Parallel => &[
                "name",
                "description",
                "vars",
                "branches",
                "max_concurrency",
                "fail_fast",
            ],
        }
    }
}

mod build;

impl Host {
    /// `Workflow.sequential|conditional|loop|parallel(spec)`: builds the
    /// workflow, registers it by name (for steps naming it and for hook
    /// redirects) and returns it.
    ///
    /// # Errors
    /// An unknown field (the message lists the valid ones), a missing or
    /// invalid name, a step that names no component or an unknown one, a
    /// duplicate workflow name, or the pattern's own checks.
    pub fn workflow_build(
        &self,
        kind: WorkflowKind,
        spec: &ScriptValue,
    ) -> Result<Arc<dyn Workflow>, HostError> {
        let ctor = format!("Workflow.{}", kind.as_str());
        self.build_workflow(kind, spec, &ctor).map_err(|e| {
            if e.message().starts_with(&ctor) {
                e
            } else {
                e.context(&ctor)
            }
        })
    }

    /// `wf:execute(input)`: runs the workflow; returns its result
    /// `{ success, outputs, state, duration_ms, errors, ... }`.
    ///
    /// # Errors
    /// A failure the workflow's error policies do not absorb.
    pub async fn workflow_execute(
        &self,
        workflow: &Arc<dyn Workflow>,
        input: Value,
        exec: &ExecutionContext,
    ) -> Result<Value, HostError> {
        workflow.execute(input, exec).await.map_err(HostError::from)
    }

    /// The registered workflow named `name`.
    pub fn workflow_get(&self, name: &str) -> Option<Arc<dyn Workflow>> {
        self.inner.components.workflow(name)
    }

    /// `Workflow.list()`: `[{ name, description }]` in name order.
    pub fn workflow_list(&self) -> Value {
        let map = self.inner.components.workflows.read();
        let mut names: Vec<&String> = map.keys().collect();
        names.sort();
        Value::Array(
            names
                .into_iter()
                .map(|n| {
                    serde_json::json!({
                        "name": n,
                        "description": map[n].metadata().description,
                    })
                })
                .collect(),
        )
    }
}
