//! Shared test fixture: one hook registry, bus, runner, tool registry and
//! engine, as a runtime would hold them, plus small step and hook helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_core::{
    Agent, ComponentMetadata, Error, ExecutionContext, Result, Workflow, async_trait,
};
use llmspell_events::EventBus;
use llmspell_hooks::{
    GuardedRunner, HookContext, HookExecutor, HookHandle, HookPoint, HookRegistry, HookResult,
    sync_hook_fn,
};
use llmspell_tools::utility::Calculator;
use llmspell_tools::{ScriptTool, ToolRegistry};
use llmspell_workflows::{ComponentMap, ComponentResolver, StepFn, WorkflowEngine, step_fn};
use parking_lot::Mutex;
use serde_json::{Value, json};

pub struct Fixture {
    pub hooks: HookRegistry,
    pub bus: EventBus,
    pub tools: ToolRegistry,
    pub engine: WorkflowEngine,
    handles: Mutex<Vec<HookHandle>>,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_resolver(None)
    }

    pub fn with_resolver(resolver: Option<Arc<dyn ComponentResolver>>) -> Self {
        let hooks = HookRegistry::new();
        let bus = EventBus::new();
        let executor = HookExecutor::builder(hooks.clone())
            .bus(bus.clone())
            .build();
        let runner = GuardedRunner::new(executor);
        let tools = ToolRegistry::new(runner.clone());
        tools.register(Arc::new(Calculator::new())).unwrap();
        tools
            .register(Arc::new(ScriptTool::new(
                "echo",
                "returns its params",
                Arc::new(|params, _| Box::pin(async move { Ok(json!({ "echo": params })) })),
            )))
            .unwrap();
        let mut builder = WorkflowEngine::builder()
            .runner(runner)
            .tools(tools.clone());
        if let Some(r) = resolver {
            builder = builder.resolver(r);
        }
        Self {
            hooks,
            bus,
            tools,
            engine: builder.build().unwrap(),
            handles: Mutex::new(Vec::new()),
        }
    }

    /// Registers a synchronous hook named `name` at `point`, kept for the
    /// fixture's life.
    pub fn hook(
        &self,
        point: HookPoint,
        name: &str,
        f: impl Fn(&mut HookContext) -> HookResult + Send + Sync + 'static,
    ) {
        let h = self
            .hooks
            .register(point, sync_hook_fn(move |ctx| Ok(f(ctx))).named(name));
        self.handles.lock().push(h);
    }

    /// Records every firing of `point` as (metadata step or "", data).
    pub fn record(&self, point: HookPoint) -> Arc<Mutex<Vec<(String, Value)>>> {
        let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let s = seen.clone();
        self.hook(point, "recorder", move |ctx| {
            let step = ctx.metadata.get("step").cloned().unwrap_or_default();
            s.lock().push((step, ctx.data.clone()));
            HookResult::Continue
        });
        seen
    }
}

/// A function step returning `value`.
pub fn constant(value: Value) -> StepFn {
    step_fn(move |_, _| {
        let v = value.clone();
        async move { Ok(v) }
    })
}

/// A function step returning its input.
pub fn identity() -> StepFn {
    step_fn(|input, _| async move { Ok(input) })
}

/// A function step that records that it ran under `name` in `log`.
pub fn logged(log: &Arc<Mutex<Vec<String>>>, name: &str) -> StepFn {
    let log = log.clone();
    let name = name.to_owned();
    step_fn(move |input, _| {
        log.lock().push(name.clone());
        async move { Ok(input) }
    })
}

/// A function step that always fails.
pub fn failing(message: &str) -> StepFn {
    let message = message.to_owned();
    step_fn(move |_, _| {
        let m = message.clone();
        async move { Err(Error::execution("test", m)) }
    })
}

/// An agent that answers `{ agent, got }`.
pub struct TestAgent {
    meta: ComponentMetadata,
    pub seen: Mutex<Vec<ExecutionContext>>,
}

impl TestAgent {
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(Self {
            meta: ComponentMetadata::agent(name, "answers with what it got"),
            seen: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl Agent for TestAgent {
    fn metadata(&self) -> &ComponentMetadata {
        &self.meta
    }
    async fn execute(&self, input: Value, ctx: &ExecutionContext) -> Result<Value> {
        self.seen.lock().push(ctx.clone());
        Ok(json!({ "agent": self.meta.name(), "got": input }))
    }
}

/// A resolver over the given agents and workflows.
pub fn resolver(
    agents: Vec<Arc<dyn Agent>>,
    workflows: Vec<Arc<dyn Workflow>>,
) -> Arc<dyn ComponentResolver> {
    let mut map = ComponentMap::new();
    for a in agents {
        map = map.with_agent(a);
    }
    for w in workflows {
        map = map.with_workflow(w);
    }
    Arc::new(map)
}
