//! What workflows run on: the hook runner, the tools, the resolver and the
//! limits, shared by every workflow of a runtime.

use std::fmt;
use std::sync::Arc;

use llmspell_core::{Error, Result};
use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
use llmspell_tools::ToolRegistry;

use crate::ComponentResolver;

/// The default limit on how deeply workflows may nest.
pub const DEFAULT_MAX_DEPTH: u32 = 32;

/// The machinery workflows run on: the [`GuardedRunner`] every workflow and
/// step goes through (its executor's hooks and event bus), the
/// [`ToolRegistry`] tool steps call, an optional [`ComponentResolver`] for
/// redirects of agent and workflow steps, and the nesting limit.
///
/// Cheap to clone; build one per runtime and hand it to every workflow
/// builder.
///
/// ```
/// use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
/// use llmspell_tools::ToolRegistry;
/// use llmspell_workflows::WorkflowEngine;
///
/// let hooks = HookRegistry::new();
/// let runner = GuardedRunner::new(HookExecutor::new(hooks));
/// let tools = ToolRegistry::new(runner.clone());
/// let engine = WorkflowEngine::builder().runner(runner).tools(tools).build()?;
/// # let _ = engine;
/// # Ok::<(), llmspell_core::Error>(())
/// ```
#[derive(Clone)]
pub struct WorkflowEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    runner: GuardedRunner,
    tools: Option<ToolRegistry>,
    resolver: Option<Arc<dyn ComponentResolver>>,
    max_depth: u32,
}

/// Builds a [`WorkflowEngine`].
#[must_use]
pub struct WorkflowEngineBuilder {
    runner: Option<GuardedRunner>,
    tools: Option<ToolRegistry>,
    resolver: Option<Arc<dyn ComponentResolver>>,
    max_depth: u32,
}

impl WorkflowEngineBuilder {
    /// Runs workflows and steps through `runner`. Default: the tool
    /// registry's runner when tools are given (so tools and workflows share
    /// hooks and bus), else a runner over an empty hook registry.
    pub fn runner(mut self, runner: GuardedRunner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Calls tool steps through `tools`. Without it, building a workflow
    /// with a tool step is an error.
    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Resolves agent and workflow redirect targets through `resolver`.
    pub fn resolver(mut self, resolver: Arc<dyn ComponentResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The deepest nesting of workflows (a workflow run as a step counts one
    /// level); deeper runs fail with `ResourceLimitExceeded { resource:
    /// "workflow_depth" }`. Default [`DEFAULT_MAX_DEPTH`].
    pub fn max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth;
        self
    }

    /// Builds the engine.
    ///
    /// # Errors
    /// `InvalidInput` when `max_depth` is 0.
    pub fn build(self) -> Result<WorkflowEngine> {
        if self.max_depth == 0 {
            return Err(Error::invalid_input(
                "max_depth",
                "must be at least 1 (a top-level workflow is depth 1)",
            ));
        }
        let runner = match (self.runner, &self.tools) {
            (Some(r), _) => r,
            (None, Some(t)) => t.runner().clone(),
            (None, None) => GuardedRunner::new(HookExecutor::new(HookRegistry::new())),
        };
        Ok(WorkflowEngine {
            inner: Arc::new(EngineInner {
                runner,
                tools: self.tools,
                resolver: self.resolver,
                max_depth: self.max_depth,
            }),
        })
    }
}

impl WorkflowEngine {
    /// A builder.
    pub fn builder() -> WorkflowEngineBuilder {
        WorkflowEngineBuilder {
            runner: None,
            tools: None,
            resolver: None,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// An engine over `runner`, without tools or resolver.
    pub fn new(runner: GuardedRunner) -> Self {
        Self {
            inner: Arc::new(EngineInner {
                runner,
                tools: None,
                resolver: None,
                max_depth: DEFAULT_MAX_DEPTH,
            }),
        }
    }

    /// An engine over `tools` and its runner.
    pub fn with_tools(tools: ToolRegistry) -> Self {
        Self {
            inner: Arc::new(EngineInner {
                runner: tools.runner().clone(),
                tools: Some(tools),
                resolver: None,
                max_depth: DEFAULT_MAX_DEPTH,
            }),
        }
    }

    /// The runner.
    pub fn runner(&self) -> &GuardedRunner {
        &self.inner.runner
    }

    /// The hook executor of the runner.
    pub fn executor(&self) -> &HookExecutor {
        self.inner.runner.executor()
    }

    /// The tool registry, if any.
    pub fn tools(&self) -> Option<&ToolRegistry> {
        self.inner.tools.as_ref()
    }

    /// The resolver, if any.
    pub fn resolver(&self) -> Option<&Arc<dyn ComponentResolver>> {
        self.inner.resolver.as_ref()
    }

    /// The nesting limit.
    pub fn max_depth(&self) -> u32 {
        self.inner.max_depth
    }
}

impl Default for WorkflowEngine {
    /// An engine with no hooks, no tools and no resolver.
    fn default() -> Self {
        Self::new(GuardedRunner::new(HookExecutor::new(HookRegistry::new())))
    }
}

impl fmt::Debug for WorkflowEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowEngine")
            .field("tools", &self.inner.tools)
            .field("resolver", &self.inner.resolver.is_some())
            .field("max_depth", &self.inner.max_depth)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_depth_is_refused_and_tools_lend_their_runner() {
        assert!(WorkflowEngine::builder().max_depth(0).build().is_err());
        let hooks = HookRegistry::new();
        let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(hooks.clone())));
        let engine = WorkflowEngine::builder().tools(tools).build().unwrap();
        assert!(engine.executor().registry().same_registry(&hooks));
        assert!(engine.tools().is_some() && engine.resolver().is_none());
    }
}
