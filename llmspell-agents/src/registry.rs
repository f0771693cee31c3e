//! The agents of a runtime, by name.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::{AgentState, Error, LifecycleAgent, Result};

/// One line of [`AgentRegistry::list`]: `{ "name", "type", "state" }`, the
/// shape scripts get from `Agent.list()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The agent's name.
    pub name: String,
    /// Its kind (`"basic"`, `"llm"`, or a custom behaviour's kind).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its state at the time of listing.
    pub state: AgentState,
}

type Map = HashMap<Arc<str>, LifecycleAgent>;

pub(crate) struct RegistryInner {
    agents: ArcSwap<Map>,
    writer: Mutex<()>,
}

/// The agents of one runtime, by name: where scripts find them
/// (`Agent.list()`) and where hooks' `Redirect` and `Fork` targets are
/// resolved.
///
/// Lookups are lock-free (a copy-on-write snapshot); registering and
/// removing copy the map under a short lock. Cloning shares the registry.
/// Agents refer back to it weakly, so dropping the registry while agents
/// live leaves them working, minus redirects.
#[derive(Clone)]
pub struct AgentRegistry {
    inner: Arc<RegistryInner>,
}

impl Default for AgentRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(RegistryInner {
                agents: ArcSwap::from_pointee(Map::default()),
                writer: Mutex::new(()),
            }),
        }
    }

    pub(crate) fn downgrade(&self) -> Weak<RegistryInner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(weak: &Weak<RegistryInner>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    /// Registers `agent` under its name. A terminated agent of the same name
    /// is replaced.
    ///
    /// # Errors
    /// [`Error::AlreadyRegistered`] when a live agent has the name.
    pub fn register(&self, agent: LifecycleAgent) -> Result<()> {
        let _w = self.inner.writer.lock();
        let current = self.inner.agents.load();
        if let Some(existing) = current.get(agent.name())
            && !existing.state().is_terminal()
        {
            return Err(Error::AlreadyRegistered {
                name: agent.name().to_owned(),
            });
        }
        let mut next = Map::clone(&current);
        next.insert(Arc::from(agent.name()), agent);
        self.inner.agents.store(Arc::new(next));
        Ok(())
    }

    /// The agent named `name`.
    pub fn get(&self, name: &str) -> Option<LifecycleAgent> {
        self.inner.agents.load().get(name).cloned()
    }

    /// The agent named `name`, or an error suggesting the closest name.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn lookup(&self, name: &str) -> Result<LifecycleAgent> {
        let agents = self.inner.agents.load();
        if let Some(a) = agents.get(name) {
            return Ok(a.clone());
        }
        let suggestion = llmspell_core::suggest::closest(name, agents.keys().map(|k| k.as_ref()))
            .map(str::to_owned);
        Err(Error::NotFound {
            name: name.to_owned(),
            suggestion,
        })
    }

    /// Whether an agent named `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.agents.load().contains_key(name)
    }

    /// Every agent as `{ name, type, state }`, by name.
    pub fn list(&self) -> Vec<AgentInfo> {
        let agents = self.inner.agents.load();
        let mut list: Vec<AgentInfo> = agents.values().map(LifecycleAgent::info).collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// Every agent's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .agents
            .load()
            .keys()
            .map(|k| k.to_string())
            .collect();
        names.sort();
        names
    }

    /// Removes the agent named `name` and returns it. The agent itself is
    /// not terminated (callers holding it may go on using it).
    pub fn remove(&self, name: &str) -> Option<LifecycleAgent> {
        let _w = self.inner.writer.lock();
        let current = self.inner.agents.load();
        let removed = current.get(name).cloned()?;
        let mut next = Map::clone(&current);
        next.remove(name);
        self.inner.agents.store(Arc::new(next));
        Some(removed)
    }

    /// Removes `agent` if it is the one registered under its name.
    pub(crate) fn remove_exact(&self, agent: &LifecycleAgent) -> bool {
        let _w = self.inner.writer.lock();
        let current = self.inner.agents.load();
        match current.get(agent.name()) {
            Some(a) if a.same_agent(agent) => {}
            _ => return false,
        }
        let mut next = Map::clone(&current);
        next.remove(agent.name());
        self.inner.agents.store(Arc::new(next));
        true
    }

    /// Number of agents.
    pub fn len(&self) -> usize {
        self.inner.agents.load().len()
    }

    /// Whether no agent is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for AgentRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentRegistry")
            .field("agents", &self.names())
            .finish()
    }
}
