//! The agents of one runtime and everything they share.

use std::fmt;
use std::sync::Arc;

use llmspell_events::EventBus;
use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
use llmspell_tools::ToolRegistry;

use crate::{AgentInfo, AgentRegistry, Error, LifecycleAgent, ProviderSettings, Result};

pub(crate) struct RuntimeInner {
    pub(crate) runner: GuardedRunner,
    pub(crate) tools: ToolRegistry,
    pub(crate) registry: AgentRegistry,
    pub(crate) providers: ProviderSettings,
}

/// The agent side of one llmspell runtime: **one** hook runner (its hook
/// registry and event bus), **one** tool registry and **one** agent
/// registry, shared by every agent it makes, plus the provider settings
/// LLM agents are built from.
///
/// This is what the script bridge holds: `Agent.create` is
/// [`create`](Self::create) (or [`build_agent`](Self::build_agent) and a
/// later `initialize`), `Agent.list` is [`list`](Self::list). Agents made
/// here fire their hooks through the runner's registry, publish
/// `agent.<name>.*` events on the runner's bus, call tools through the tool
/// registry (whose runner must use the same hook registry), and resolve
/// `Redirect`/`Fork` targets in the agent registry. Cloning shares the
/// runtime; nothing is spawned.
///
/// ```
/// use llmspell_agents::{AgentConfig, AgentRuntime, handler_fn};
/// use llmspell_core::ExecutionContext;
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let agents = AgentRuntime::builder().build()?;
/// let exec = ExecutionContext::native();
/// let helper = agents
///     .create(
///         AgentConfig::basic("helper"),
///         Some(handler_fn(|input, _cx| async move { Ok(json!({ "echo": input["text"] })) })),
///         &exec,
///     )
///     .await?;
/// let out = helper.invoke(json!({ "text": "hi" }), &exec).await?;
/// assert_eq!(out, json!({ "echo": "hi" }));
/// assert_eq!(agents.list()[0].state.as_str(), "Ready");
/// # Ok::<(), llmspell_agents::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct AgentRuntime {
    pub(crate) inner: Arc<RuntimeInner>,
}

/// Builds an [`AgentRuntime`].
#[must_use]
#[derive(Default)]
pub struct AgentRuntimeBuilder {
    runner: Option<GuardedRunner>,
    hooks: Option<HookRegistry>,
    bus: Option<EventBus>,
    tools: Option<ToolRegistry>,
    registry: Option<AgentRegistry>,
    providers: ProviderSettings,
}

impl AgentRuntimeBuilder {
    /// Runs agents through `runner` (its executor's hook registry and bus).
    /// Exclusive with [`hooks`](Self::hooks) and [`bus`](Self::bus).
    pub fn runner(mut self, runner: GuardedRunner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Builds the runner over `hooks` (with [`bus`](Self::bus), if given).
    pub fn hooks(mut self, hooks: HookRegistry) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Publishes hook, lifecycle and state events on `bus` (used when the
    /// runner is built here).
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Calls tools through `tools`. Default: an empty registry over the
    /// same runner.
    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Registers agents in `registry`. Default: a new one.
    pub fn registry(mut self, registry: AgentRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Builds LLM agents' providers from `providers`. Default: settings read
    /// from the environment.
    pub fn providers(mut self, providers: ProviderSettings) -> Self {
        self.providers = providers;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when both a runner and a hook registry or
    /// bus were given, or when the tool registry's runner uses another hook
    /// registry or bus than the agents' (one runtime, one registry, one bus).
    pub fn build(self) -> Result<AgentRuntime> {
        let runner = match (self.runner, self.hooks, self.bus) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(Error::config(
                    "runner",
                    "give either a runner, or a hook registry and a bus, not both",
                ));
            }
            (Some(runner), None, None) => runner,
            (None, hooks, bus) => {
                let mut b = HookExecutor::builder(hooks.unwrap_or_default());
                if let Some(bus) = bus {
                    b = b.bus(bus);
                }
                GuardedRunner::new(b.build())
            }
        };
        let tools = match self.tools {
            Some(tools) => {
                let theirs = tools.executor();
                let ours = runner.executor();
                if !theirs.registry().same_registry(ours.registry()) {
                    return Err(Error::config(
                        "tools",
                        "the tool registry runs its hooks from another hook registry than the agents; build both over the same one",
                    ));
                }
                let same_bus = match (theirs.bus(), ours.bus()) {
                    (Some(a), Some(b)) => a.same_bus(b),
                    (None, None) => true,
                    _ => false,
                };
                if !same_bus {
                    return Err(Error::config(
                        "tools",
                        "the tool registry publishes on another event bus than the agents; build both over the same one",
                    ));
                }
                tools
            }
            None => ToolRegistry::new(runner.clone()),
        };
        Ok(AgentRuntime {
            inner: Arc::new(RuntimeInner {
                runner,
                tools,
                registry: self.registry.unwrap_or_default(),
                providers: self.providers,
            }),
        })
    }
}

impl Default for AgentRuntime {
    /// A runtime with no hooks, no bus, no tools and environment provider
    /// settings.
    fn default() -> Self {
        let runner = GuardedRunner::new(HookExecutor::new(HookRegistry::new()));
        Self {
            inner: Arc::new(RuntimeInner {
                tools: ToolRegistry::new(runner.clone()),
                runner,
                registry: AgentRegistry::new(),
                providers: ProviderSettings::default(),
            }),
        }
    }
}

impl AgentRuntime {
    /// A builder.
    pub fn builder() -> AgentRuntimeBuilder {
        AgentRuntimeBuilder::default()
    }

    /// The guarded runner agents run through.
    pub fn runner(&self) -> &GuardedRunner {
        &self.inner.runner
    }

    /// The hook registry.
    pub fn hooks(&self) -> &HookRegistry {
        self.inner.runner.executor().registry()
    }

    /// The event bus, if events are published.
    pub fn bus(&self) -> Option<&EventBus> {
        self.inner.runner.executor().bus()
    }

    /// The tool registry.
    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// The agent registry.
    pub fn registry(&self) -> &AgentRegistry {
        &self.inner.registry
    }

    /// The provider settings.
    pub fn providers(&self) -> &ProviderSettings {
        &self.inner.providers
    }

    /// The agent named `name`.
    pub fn get(&self, name: &str) -> Option<LifecycleAgent> {
        self.inner.registry.get(name)
    }

    /// Every agent as `{ name, type, state }` (`Agent.list()`).
    pub fn list(&self) -> Vec<AgentInfo> {
        self.inner.registry.list()
    }
}

impl fmt::Debug for AgentRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentRuntime")
            .field("agents", &self.inner.registry)
            .field("tools", &self.inner.tools.len())
            .field("bus", &self.bus().is_some())
            .finish()
    }
}
