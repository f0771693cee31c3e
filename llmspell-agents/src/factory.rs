//! Making agents: from an [`AgentConfig`], or from a behaviour.

use std::sync::Arc;

use llmspell_core::{ComponentMetadata, ExecutionContext};
use serde_json::{Map, Value};

use crate::agent::AgentParts;
use crate::config::validate_name;
use crate::llm::LlmProvider;
use crate::llm_agent::{LlmBehavior, LlmOptions};
use crate::{
    AgentBehavior, AgentConfig, AgentHandler, AgentKind, AgentRuntime, BasicAgent, BasicBehavior,
    Error, LifecycleAgent, LlmAgent, Result,
};

impl AgentRuntime {
    /// Makes the agent `config` describes, registers it and initialises it
    /// (`Uninitialized → Initializing → Ready`, firing `BeforeAgentInit` and
    /// `AfterAgentInit`). A basic agent needs `handler`; an LLM agent takes
    /// none. This is `Agent.create` for the script bridge.
    ///
    /// When initialisation fails or is vetoed, the agent is removed from the
    /// registry again.
    ///
    /// # Errors
    /// As [`build_agent`](Self::build_agent), plus those of
    /// [`LifecycleAgent::initialize`].
    pub async fn create(
        &self,
        config: AgentConfig,
        handler: Option<AgentHandler>,
        exec: &ExecutionContext,
    ) -> Result<LifecycleAgent> {
        let agent = self.build_agent(config, handler)?;
        if let Err(e) = agent.initialize(exec).await {
            self.inner.registry.remove_exact(&agent);
            return Err(e);
        }
        Ok(agent)
    }

    /// Makes and registers the agent `config` describes, without
    /// initialising it (it stays `Uninitialized` until
    /// [`initialize`](LifecycleAgent::initialize) or its first invocation).
    /// Synchronous, for callers that cannot wait.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad config (see
    /// [`AgentConfig::validate`]), a basic agent without handler
    /// (`handler`), an LLM agent with one, or a provider that cannot be
    /// built (`provider`: a missing API key names the variable to set);
    /// [`Error::AlreadyRegistered`].
    pub fn build_agent(
        &self,
        config: AgentConfig,
        handler: Option<AgentHandler>,
    ) -> Result<LifecycleAgent> {
        match (config.resolved_kind(), handler) {
            (AgentKind::Basic, Some(handler)) => Ok(self.basic(config, handler)?.erase()),
            (AgentKind::Basic, None) => Err(Error::config(
                "handler",
                "a basic agent needs a handler function",
            )),
            (AgentKind::Llm, None) => Ok(self.llm(config)?.erase()),
            (AgentKind::Llm, Some(_)) => Err(Error::config(
                "handler",
                "an llm agent calls its model; it takes no handler (use type = \"basic\")",
            )),
        }
    }

    /// Makes and registers a basic agent (`Uninitialized`).
    ///
    /// # Errors
    /// As [`build_agent`](Self::build_agent).
    pub fn basic(&self, config: AgentConfig, handler: AgentHandler) -> Result<BasicAgent> {
        let (kind, _) = config.validate()?;
        if kind != AgentKind::Basic {
            return Err(Error::config(
                "type",
                format!("expected a basic agent, the config says {kind:?}"),
            ));
        }
        self.custom(config, BasicBehavior::new(handler))
    }

    /// Makes and registers an LLM agent (`Uninitialized`), building its
    /// provider from the runtime's [`ProviderSettings`](crate::ProviderSettings)
    /// and the config's `provider`.
    ///
    /// # Errors
    /// As [`build_agent`](Self::build_agent).
    pub fn llm(&self, config: AgentConfig) -> Result<LlmAgent> {
        self.llm_inner(config, None)
    }

    /// Makes and registers an LLM agent calling `provider` (the config's
    /// model names the model to ask for).
    ///
    /// # Errors
    /// As [`build_agent`](Self::build_agent).
    pub fn llm_with_provider(
        &self,
        config: AgentConfig,
        provider: Arc<dyn LlmProvider>,
    ) -> Result<LlmAgent> {
        self.llm_inner(config, Some(provider))
    }

    fn llm_inner(
        &self,
        config: AgentConfig,
        provider: Option<Arc<dyn LlmProvider>>,
    ) -> Result<LlmAgent> {
        let (kind, spec) = config.validate()?;
        let Some(spec) = spec.filter(|_| kind == AgentKind::Llm) else {
            return Err(Error::config(
                "type",
                format!("expected an llm agent, the config says {kind:?}"),
            ));
        };
        let provider = match provider {
            Some(p) => p,
            None => self
                .inner
                .providers
                .provider_for(&spec, config.provider.as_ref())
                .map_err(|e| match e {
                    llmspell_core::Error::InvalidInput { field, message } => {
                        Error::config(format!("provider.{field}"), message)
                    }
                    other => Error::Operation(other),
                })?,
        };
        let metadata = metadata(&config, "llm");
        let options = LlmOptions {
            system_prompt: config.system_prompt.clone(),
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            extra: config.parameters.clone(),
            stream: config.stream,
            memory: config.memory,
        };
        let behavior = LlmBehavior::new(
            metadata.id.clone(),
            provider,
            spec,
            options,
            self.inner.providers.clone(),
        );
        // An LLM agent's parameters go to its provider, not to a handler.
        self.register(metadata, &config, Map::new(), behavior)
    }

    /// Makes and registers an agent running `behavior` (`Uninitialized`).
    /// From `config` it uses `name`, `description`, `auto_recover` and
    /// `parameters`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad name; [`Error::AlreadyRegistered`].
    pub fn custom<B: AgentBehavior>(
        &self,
        config: AgentConfig,
        behavior: B,
    ) -> Result<LifecycleAgent<B>> {
        validate_name(&config.name)?;
        let metadata = metadata(&config, behavior.kind());
        let parameters = config.parameters.clone();
        self.register(metadata, &config, parameters, behavior)
    }

    fn register<B: AgentBehavior>(
        &self,
        metadata: ComponentMetadata,
        config: &AgentConfig,
        parameters: Map<String, Value>,
        behavior: B,
    ) -> Result<LifecycleAgent<B>> {
        let agent = LifecycleAgent::new(
            AgentParts {
                metadata,
                runner: self.inner.runner.clone(),
                tools: self.inner.tools.clone(),
                registry: self.inner.registry.downgrade(),
                parameters,
                auto_recover: config.auto_recover,
            },
            behavior,
        );
        self.inner.registry.register(agent.clone().erase())?;
        Ok(agent)
    }
}

fn metadata(config: &AgentConfig, kind: &str) -> ComponentMetadata {
    let description = config
        .description
        .clone()
        .unwrap_or_else(|| format!("{kind} agent"));
    ComponentMetadata::agent(config.name.as_str(), description)
}
