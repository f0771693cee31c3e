//! The LLM agent metric of `llmspell bench`: what the agent lifecycle, cost
//! tracking, logging and two no-op hooks add to a model call.
//!
//! The model is a local HTTP server on 127.0.0.1 (its own thread and
//! runtime) that speaks the OpenAI chat completions protocol and answers
//! every request with the same 50-token reply. The baseline is the
//! provider's `complete` alone, against the same server in the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use llmspell_agents::llm::{
    LlmProvider, LlmRequest, OpenAiCompatible, ProviderConfig, ProviderKind,
};
use llmspell_agents::{AgentConfig, AgentRuntime, LlmAgent, ProviderSettings};
use llmspell_core::ExecutionContext;
use llmspell_hooks::builtin::{CostTrackingHook, LoggingHook};
use llmspell_hooks::{
    ActionSet, GuardedRunner, HookContext, HookExecutor, HookPoint, HookRegistry, HookResult,
    hook_fn,
};
use serde_json::{Value, json};

use crate::{Error, Measurement, Result, current_thread_runtime, median};

const RUNS: usize = 7;
const MODEL: &str = "gpt-4o-mini";
const PROMPT: &str = "Summarise the release notes in one paragraph.";

/// The reply of every request: 50 completion tokens.
fn completion() -> Value {
    let words: Vec<&str> = std::iter::repeat_n("token", 50).collect();
    json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_765_000_000,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": words.join(" ") },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 50, "total_tokens": 62 }
    })
}

/// A loopback server answering every POST with [`completion`], on a thread
/// of its own; stops when dropped.
struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let body = completion().to_string();
        let thread = std::thread::Builder::new()
            .name("llmspell-bench-llm".into())
            .spawn(move || {
                let rt = match current_thread_runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("cannot bind 127.0.0.1: {e}")));
                            return;
                        }
                    };
                    let addr = listener.local_addr().map_err(|e| e.to_string());
                    let _ = ready_tx.send(addr);
                    let app = Router::new().route(
                        "/v1/chat/completions",
                        post(move || {
                            let body = body.clone();
                            async move { ([("content-type", "application/json")], body) }
                        }),
                    );
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .map_err(|e| Error::Workload(format!("cannot start the model server: {e}")))?;
        let addr = ready_rx
            .recv()
            .map_err(|_| Error::Workload("the model server did not start".into()))?
            .map_err(Error::Workload)?;
        Ok(Self {
            url: format!("http://{addr}/v1"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The provider config pointing at `url`.
fn config(url: &str) -> ProviderConfig {
    ProviderConfig::default()
        .with_api_key("sk-bench")
        .with_base_url(url)
        .with_timeout(Duration::from_secs(10))
}

/// The hooks of a measured agent, layer by layer.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Layer {
    /// None: the lifecycle and the LLM call's points without hooks.
    Bare,
    /// Two no-op `hook_fn` hooks (Before and After the LLM call).
    Noop,
    /// And cost tracking.
    Cost,
    /// And a logging hook at the agent and LLM Before/After points.
    Logging,
}

/// A registry with the hooks of `layer` and those below it.
fn hooks(layer: Layer) -> Result<HookRegistry> {
    let registry = HookRegistry::new();
    if layer >= Layer::Noop {
        for point in [HookPoint::BeforeLlmCall, HookPoint::AfterLlmCall] {
            let noop = |_ctx: Arc<HookContext>| async { Ok(HookResult::Continue) };
            registry
                .register(point, hook_fn(noop).returns(ActionSet::OBSERVE))
                .forget();
        }
    }
    if layer >= Layer::Cost {
        let cost = Arc::new(CostTrackingHook::builder().build()?);
        for handle in cost.install(&registry)? {
            handle.forget();
        }
    }
    if layer >= Layer::Logging {
        let logging = Arc::new(LoggingHook::builder().build()?);
        for point in [
            HookPoint::BeforeAgentExecution,
            HookPoint::AfterAgentExecution,
            HookPoint::BeforeLlmCall,
            HookPoint::AfterLlmCall,
        ] {
            registry.register(point, logging.clone()).forget();
        }
    }
    Ok(registry)
}

/// An initialised LLM agent calling the server at `url`, with the hooks of
/// `layer`.
fn agent(
    url: &str,
    layer: Layer,
    exec: &ExecutionContext,
    rt: &tokio::runtime::Runtime,
) -> Result<LlmAgent> {
    let runner = GuardedRunner::new(HookExecutor::new(hooks(layer)?));
    let runtime = AgentRuntime::builder()
        .runner(runner)
        .providers(ProviderSettings::new().with_config(ProviderKind::OpenAi, config(url)))
        .build()?;
    let agent =
        runtime.llm(AgentConfig::llm("writer", format!("openai/{MODEL}")).with_max_tokens(50))?;
    rt.block_on(agent.initialize(exec))?;
    Ok(agent)
}

/// `agents.llm_overhead_pct`: an `LlmAgent` invocation (lifecycle, the
/// guarded LLM call, two no-op hooks, cost tracking, logging to a
/// subscriber that formats every line) against the provider's `complete`
/// alone, both calling a loopback server with a fixed 50-token reply;
/// interleaved over seven runs of `calls` calls each, the median of the
/// runs' ratios. The target text gives the layers apart: the agent with no
/// hooks, with the two no-op hooks, with cost tracking added, and with
/// logging but no subscriber listening, each as wall time over the provider
/// call and as the CPU time it adds to the calling thread per call (the
/// server's thread is not counted). Target ≤ 2%.
///
/// # Errors
/// When the server, the runtime, the agent or a call fails.
pub fn llm_overhead(calls: u32) -> Result<Measurement> {
    let server = Server::start()?;
    let rt = current_thread_runtime()?;
    let exec = ExecutionContext::native();
    let provider = OpenAiCompatible::builder()
        .base_url(server.url.clone())
        .api_key("sk-bench")
        .timeout(Duration::from_secs(10))
        .build()?;
    let request = LlmRequest::user(PROMPT)
        .with_model(MODEL)
        .with_max_tokens(50);
    let layers = [Layer::Bare, Layer::Noop, Layer::Cost, Layer::Logging];
    let agents = layers
        .iter()
        .map(|layer| agent(&server.url, *layer, &exec, &rt))
        .collect::<Result<Vec<_>>>()?;
    let input = json!({ "text": PROMPT });
    // With logging on, the logging hook's lines are formatted and written
    // (to a sink); otherwise no subscriber listens and the hook only checks
    // the level.
    let logging_on = || {
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(std::io::sink)
                .with_max_level(tracing::Level::INFO)
                .finish(),
        )
    };
    // Wall ns and the calling thread's CPU ns per call: the server runs on
    // a thread of its own, so the CPU figure is the client's work alone.
    let timed = |f: &dyn Fn() -> Result<()>| -> Result<(f64, f64)> {
        let cpu = crate::cpu::thread();
        let started = Instant::now();
        f()?;
        let wall = started.elapsed().as_nanos() as f64;
        let cpu = crate::cpu::thread().saturating_sub(cpu).as_nanos() as f64;
        Ok((wall / f64::from(calls), cpu / f64::from(calls)))
    };
    let provider_calls = |n: u32| {
        rt.block_on(async {
            for _ in 0..n {
                black_box(provider.complete(&request).await?);
            }
            Ok::<_, Error>(())
        })
    };
    let agent_calls = |agent: &LlmAgent, n: u32| {
        rt.block_on(async {
            for _ in 0..n {
                black_box(agent.invoke(input.clone(), &exec).await?);
            }
            Ok::<_, Error>(())
        })
    };
    // Warm the connection pools of every client.
    provider_calls(2)?;
    for agent in &agents {
        agent_calls(agent, 2)?;
    }
    // Per run: the provider call, then each layer's and the full agent's
    // ratio to it, and the CPU each adds to the client thread per call.
    let mut direct = Vec::new();
    let mut full = Vec::new();
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); layers.len() + 1];
    let mut added_cpu: Vec<Vec<f64>> = vec![Vec::new(); layers.len() + 1];
    for _ in 0..RUNS {
        let (d, d_cpu) = timed(&|| provider_calls(calls))?;
        for (i, agent) in agents.iter().enumerate() {
            let (wall, cpu) = timed(&|| agent_calls(agent, calls))?;
            ratios[i].push(wall / d);
            added_cpu[i].push(cpu - d_cpu);
        }
        let (f, f_cpu) = {
            let _on = logging_on();
            timed(&|| agent_calls(&agents[layers.len() - 1], calls))?
        };
        ratios[layers.len()].push(f / d);
        added_cpu[layers.len()].push(f_cpu - d_cpu);
        direct.push(d);
        full.push(f);
    }
    let pcts: Vec<f64> = ratios
        .iter_mut()
        .map(|r| (median(r) - 1.0) * 100.0)
        .collect();
    let cpu_us: Vec<f64> = added_cpu.iter_mut().map(|c| median(c) / 1000.0).collect();
    let pct = pcts[layers.len()];
    let direct = median(&mut direct);
    let full = median(&mut full);
    let by_layer = [
        "no hooks",
        "2 no-op hooks",
        "and cost tracking",
        "and logging with no subscriber listening",
        "and a subscriber formatting every line",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| format!("{name} {:.1}% / +{:.1} µs CPU", pcts[i], cpu_us[i]))
    .collect::<Vec<_>>()
    .join(", ");
    Ok(Measurement::new("agents.llm_overhead_pct", pct, "pct")
        .with_baseline(direct)
        .with_target(
            format!(
                "≤ 2% (provider call {:.1} µs, the full agent {:.1} µs; wall over the \
                 provider call and client CPU added per call, by layer: {by_layer})",
                direct / 1000.0,
                full / 1000.0,
            ),
            pct <= 2.0,
        ))
}
