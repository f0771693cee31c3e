#![allow(dead_code)] // each test crate uses a different part of the fixture

//! A runtime with one hook registry and one bus, recording hooks, an event
//! subscription to `agent.**` and `tool.**`, and a gate that holds a
//! handler inside an invocation until the test releases it.

use std::sync::Arc;
use std::time::Duration;

use llmspell_agents::{AgentConfig, AgentHandler, AgentRuntime, BasicAgent, handler_fn};
use llmspell_core::{ComponentType, CorrelationId, Error};
use llmspell_events::{EventBus, Subscription, UniversalEvent};
use llmspell_hooks::{HookContext, HookHandle, HookPoint, HookRegistry, HookResult, sync_hook_fn};
use llmspell_tools::ToolRegistry;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

/// What a recording hook saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub point: HookPoint,
    pub kind: ComponentType,
    pub name: String,
    pub data: Value,
    pub correlation_id: CorrelationId,
    pub parent_id: Option<CorrelationId>,
}

pub const AGENT_POINTS: [HookPoint; 10] = [
    HookPoint::BeforeAgentInit,
    HookPoint::AfterAgentInit,
    HookPoint::BeforeAgentExecution,
    HookPoint::AfterAgentExecution,
    HookPoint::AgentPaused,
    HookPoint::AgentResumed,
    HookPoint::AgentError,
    HookPoint::AgentRecovering,
    HookPoint::BeforeAgentShutdown,
    HookPoint::AfterAgentShutdown,
];

pub struct Fixture {
    pub hooks: HookRegistry,
    pub bus: EventBus,
    pub agents: AgentRuntime,
    pub events: Subscription,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    handles: Vec<HookHandle>,
}

impl Fixture {
    pub fn new() -> Self {
        let hooks = HookRegistry::new();
        let bus = EventBus::new();
        let agents = AgentRuntime::builder()
            .hooks(hooks.clone())
            .bus(bus.clone())
            .build()
            .unwrap();
        Self::around(hooks, bus, agents)
    }

    /// A fixture whose runtime calls tools through `tools` (built by `make`
    /// over the fixture's runner).
    pub fn with_tools(make: impl FnOnce(&AgentRuntime) -> ToolRegistry) -> Self {
        let plain = Self::new();
        let tools = make(&plain.agents);
        let agents = AgentRuntime::builder()
            .runner(plain.agents.runner().clone())
            .tools(tools)
            .build()
            .unwrap();
        Self::around(plain.hooks, plain.bus, agents)
    }

    pub fn around(hooks: HookRegistry, bus: EventBus, agents: AgentRuntime) -> Self {
        let events = bus.subscribe("agent.**").unwrap();
        Self {
            hooks,
            bus,
            agents,
            events,
            seen: Arc::default(),
            handles: Vec::new(),
        }
    }

    /// Records every firing of `points`.
    pub fn record(&mut self, points: &[HookPoint]) {
        for p in points {
            let seen = self.seen.clone();
            let h = self.hooks.register(
                p.clone(),
                sync_hook_fn(move |ctx| {
                    seen.lock().push(Seen {
                        point: ctx.point.clone(),
                        kind: ctx.component.kind,
                        name: ctx.component.name.to_string(),
                        data: ctx.data.clone(),
                        correlation_id: ctx.correlation_id.clone(),
                        parent_id: ctx.parent_id.clone(),
                    });
                    Ok(HookResult::Continue)
                }),
            );
            self.handles.push(h);
        }
    }

    /// Registers a hook deciding with `f`.
    pub fn hook(
        &mut self,
        point: HookPoint,
        f: impl Fn(&mut HookContext) -> HookResult + Send + Sync + 'static,
    ) {
        let h = self
            .hooks
            .register(point, sync_hook_fn(move |ctx| Ok(f(ctx))));
        self.handles.push(h);
    }

    /// Removes every hook registered through the fixture.
    pub fn clear_hooks(&mut self) {
        self.handles.clear();
    }

    /// The points recorded so far (and forgets them).
    pub fn points(&self) -> Vec<HookPoint> {
        self.seen.lock().drain(..).map(|s| s.point).collect()
    }

    /// Everything recorded so far (and forgets it).
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock())
    }

    /// Every event received so far.
    pub fn drain(&mut self) -> Vec<Arc<UniversalEvent>> {
        let mut out = Vec::new();
        while let Some(ev) = self.events.try_recv() {
            out.push(ev);
        }
        out
    }

    /// The `(from, to)` of every `state_changed` event so far.
    pub fn transitions(&mut self) -> Vec<(String, String)> {
        self.drain()
            .into_iter()
            .filter(|e| e.event_type.as_str().ends_with(".state_changed"))
            .map(|e| {
                (
                    e.data["from"].as_str().unwrap_or_default().to_owned(),
                    e.data["to"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// A basic agent that echoes its input under `echo`.
    pub fn echo(&self, name: &str) -> BasicAgent {
        self.agents
            .basic(
                AgentConfig::basic(name),
                handler_fn(
                    |input, cx| async move { Ok(json!({ "echo": input, "by": cx.name() })) },
                ),
            )
            .unwrap()
    }
}

pub fn t(from: &str, to: &str) -> (String, String) {
    (from.to_owned(), to.to_owned())
}

/// Holds handlers inside their invocation: each invocation reports that it
/// entered, then waits for a release (or cancellation, through the
/// context's checkpoint).
#[derive(Clone)]
pub struct Gate {
    entered_tx: mpsc::UnboundedSender<()>,
    entered_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<()>>>,
    release: Arc<Notify>,
}

impl Gate {
    pub fn new() -> Self {
        let (entered_tx, entered_rx) = mpsc::unbounded_channel();
        Self {
            entered_tx,
            entered_rx: Arc::new(tokio::sync::Mutex::new(entered_rx)),
            release: Arc::new(Notify::new()),
        }
    }

    /// A handler that enters the gate, waits, then passes a checkpoint and
    /// answers `{ "done": input }`; with `fail`, it fails instead.
    pub fn handler(&self, fail: bool) -> AgentHandler {
        let gate = self.clone();
        handler_fn(move |input, cx| {
            let gate = gate.clone();
            async move {
                let _ = gate.entered_tx.send(());
                gate.release.notified().await;
                cx.checkpoint().await?;
                if fail {
                    return Err(Error::execution("agent:gated", "the work failed"));
                }
                Ok(json!({ "done": input }))
            }
        })
    }

    /// Waits until an invocation entered the gate.
    pub async fn entered(&self) {
        tokio::time::timeout(Duration::from_secs(5), self.entered_rx.lock().await.recv())
            .await
            .expect("an invocation should enter the gate")
            .expect("the gate is open");
    }

    /// Lets one waiting invocation go on.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// Waits (bounded) until `f` holds.
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("timed out waiting until {what}");
}
