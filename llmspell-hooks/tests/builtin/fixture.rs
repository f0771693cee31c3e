//! A registry, a runner and a counting operation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use llmspell_core::{ComponentId, Error, Result};
use llmspell_events::EventBus;
use llmspell_hooks::{
    GuardOutcome, GuardPoints, GuardSpec, GuardedRunner, Hook, HookContext, HookExecutor,
    HookHandle, HookPoint, HookRegistry, OperationCall,
};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// What the operation does on a call.
pub type Behaviour = Arc<dyn Fn(&OperationCall, u32) -> Result<Value> + Send + Sync>;

pub struct Fixture {
    pub registry: HookRegistry,
    pub runner: GuardedRunner,
    pub spec: GuardSpec,
    pub bus: EventBus,
    pub calls: Arc<AtomicU32>,
    pub seen: Arc<Mutex<Vec<OperationCall>>>,
    behaviour: Behaviour,
    handles: Vec<HookHandle>,
}

impl Fixture {
    fn with(component: ComponentId, points: GuardPoints) -> Self {
        let registry = HookRegistry::new();
        let bus = EventBus::new();
        let executor = HookExecutor::builder(registry.clone())
            .bus(bus.clone())
            .build();
        Self {
            registry,
            runner: GuardedRunner::new(executor),
            spec: GuardSpec::new(component, points),
            bus,
            calls: Arc::default(),
            seen: Arc::default(),
            behaviour: Arc::new(|call, n| Ok(json!({ "echo": call.input, "call": n }))),
            handles: Vec::new(),
        }
    }

    /// A tool named `name` whose operation echoes its input.
    pub fn tool(name: &str) -> Self {
        Self::with(ComponentId::tool(name), GuardPoints::tool())
    }

    /// An agent named `name` making LLM calls.
    pub fn llm(name: &str) -> Self {
        Self::with(ComponentId::agent(name), GuardPoints::llm())
    }

    /// The operation's behaviour: gets the call and its number (1, 2, …).
    pub fn behaviour(
        mut self,
        f: impl Fn(&OperationCall, u32) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        self.behaviour = Arc::new(f);
        self
    }

    /// An operation failing with `error` the first `times` calls.
    pub fn failing(self, times: u32, error: Error) -> Self {
        self.behaviour(move |call, n| {
            if n <= times {
                Err(error.clone())
            } else {
                Ok(json!({ "echo": call.input, "call": n }))
            }
        })
    }

    pub fn runner(mut self, f: impl FnOnce(GuardedRunner) -> GuardedRunner) -> Self {
        self.runner = f(self.runner);
        self
    }

    pub fn hook(mut self, point: HookPoint, hook: impl Hook + 'static) -> Self {
        self.handles.push(self.registry.register(point, hook));
        self
    }

    pub fn keep(mut self, handles: Vec<HookHandle>) -> Self {
        self.handles.extend(handles);
        self
    }

    pub fn ctx(&self, input: Value) -> HookContext {
        HookContext::new(
            self.spec.points().before.clone(),
            self.spec.component().clone(),
            input,
        )
    }

    pub async fn run(&self, input: Value) -> Result<GuardOutcome> {
        self.run_ctx(self.ctx(input)).await
    }

    pub async fn run_ctx(&self, ctx: HookContext) -> Result<GuardOutcome> {
        let calls = self.calls.clone();
        let seen = self.seen.clone();
        let behaviour = self.behaviour.clone();
        self.runner
            .run_context(&self.spec, ctx, move |call: OperationCall| {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                seen.lock().push(call.clone());
                let out = behaviour(&call, n);
                async move { out }
            })
            .await
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A memory store whose writes can be made to fail ("disk full").
#[derive(Debug, Default)]
pub struct Flaky {
    inner: llmspell_storage::MemoryBackend,
    failing: std::sync::atomic::AtomicBool,
}

impl Flaky {
    pub fn fail(&self, on: bool) {
        self.failing.store(on, std::sync::atomic::Ordering::SeqCst);
    }
    fn check(&self, key: &str) -> llmspell_storage::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(llmspell_storage::Error::Backend {
                op: "put",
                key: key.to_owned(),
                message: "disk full".to_owned(),
                source: None,
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl llmspell_storage::StorageBackend for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn is_durable(&self) -> bool {
        false
    }
    async fn get(&self, key: &str) -> llmspell_storage::Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> llmspell_storage::Result<()> {
        self.check(key)?;
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> llmspell_storage::Result<bool> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> llmspell_storage::Result<bool> {
        self.inner.exists(key).await
    }
    async fn scan(
        &self,
        scan: &llmspell_storage::Scan,
    ) -> llmspell_storage::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(scan).await
    }
    async fn apply_batch(&self, batch: llmspell_storage::Batch) -> llmspell_storage::Result<()> {
        self.check("batch")?;
        self.inner.apply_batch(batch).await
    }
    async fn flush(&self) -> llmspell_storage::Result<()> {
        self.inner.flush().await
    }
}
