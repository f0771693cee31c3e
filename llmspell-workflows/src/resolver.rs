//! Finding agents and workflows by name, for hook redirects and forks.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use llmspell_core::{Agent, Workflow};

/// Looks up agents and workflows by name.
///
/// A workflow needs one only for hooks that `Redirect` or `Fork` an agent or
/// workflow step (or the whole workflow) to another component by name; tool
/// steps resolve through the engine's tool registry. The script runtime
/// implements this over its agent and workflow registries, so components
/// created after a workflow was built are found. Both methods default to
/// "not found".
pub trait ComponentResolver: Send + Sync {
    /// The agent named `name`.
    fn agent(&self, name: &str) -> Option<Arc<dyn Agent>> {
        let _ = name;
        None
    }

    /// The workflow named `name`.
    fn workflow(&self, name: &str) -> Option<Arc<dyn Workflow>> {
        let _ = name;
        None
    }
}

impl<T: ComponentResolver + ?Sized> ComponentResolver for Arc<T> {
    fn agent(&self, name: &str) -> Option<Arc<dyn Agent>> {
        (**self).agent(name)
    }
    fn workflow(&self, name: &str) -> Option<Arc<dyn Workflow>> {
        (**self).workflow(name)
    }
}

/// A fixed set of agents and workflows, keyed by their metadata names:
/// built, then shared read-only.
///
/// ```
/// use llmspell_workflows::ComponentMap;
/// let components = ComponentMap::new(); // .with_agent(a).with_workflow(w)
/// # let _ = components;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ComponentMap {
    agents: HashMap<String, Arc<dyn Agent>>,
    workflows: HashMap<String, Arc<dyn Workflow>>,
}

impl ComponentMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an agent under its name (replacing one of the same name).
    pub fn with_agent(mut self, agent: Arc<dyn Agent>) -> Self {
        self.agents
            .insert(agent.metadata().name().to_owned(), agent);
        self
    }

    /// Adds a workflow under its name (replacing one of the same name).
    pub fn with_workflow(mut self, workflow: Arc<dyn Workflow>) -> Self {
        self.workflows
            .insert(workflow.metadata().name().to_owned(), workflow);
        self
    }
}

impl ComponentResolver for ComponentMap {
    fn agent(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents.get(name).cloned()
    }
    fn workflow(&self, name: &str) -> Option<Arc<dyn Workflow>> {
        self.workflows.get(name).cloned()
    }
}

impl fmt::Debug for ComponentMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut agents: Vec<&String> = self.agents.keys().collect();
        let mut workflows: Vec<&String> = self.workflows.keys().collect();
        agents.sort();
        workflows.sort();
        f.debug_struct("ComponentMap")
            .field("agents", &agents)
            .field("workflows", &workflows)
            .finish()
    }
}
