//! The llmspell performance suite: the workloads behind `llmspell bench`.
//!
//! Every metric builds what it needs through the public API of the crate it
//! measures (a bus, a hook registry, a tool registry, an agent runtime, a
//! script runtime), runs a fixed workload several times, and reports the
//! median as a [`Measurement`] beside a baseline measured in the same run
//! and the metric's target. `docs/technical/performance.md` lists the
//! metrics, their targets and how they are measured.
//!
//! - [`measurement`]: the [`Measurement`] record, one per metric in
//!   `llmspell bench --json`, and [`median`].
//! - [`cpu`]: the process's and the calling thread's CPU time.
//! - [`hooks`]: `hooks.*`: firing points with none, one and ten no-op hooks
//!   and one `hook_fn` closure,
//!   registration into a long list, the circuit breaker's trip;
//!   [`hooks::NoopHook`], the unit of hook overhead.
//! - [`events`]: `events.*`, `persist.sled_per_s`, `memory.stalled_sub_mb`:
//!   publishing, delivery to one and four subscribers, routing among 1,000
//!   patterns, persistence to sled, memory under a stalled subscriber.
//! - [`tools`]: `tools.*`: the guard's fixed cost, its cost on a 64 KiB
//!   payload with and without hooks, how it grows with the payload.
//! - [`agents`]: `agents.lifecycle_overhead_pct` (reported only): an agent
//!   invocation with no-op hooks on every agent point against one with none.
//! - [`llm`]: `agents.llm_overhead_pct`: an LLM agent with cost tracking,
//!   logging and two no-op hooks against the provider call alone, both
//!   against a loopback OpenAI-protocol server.
//! - [`scripts`]: `lua.*`, `js.*`, `xlang.*`: script hooks and callbacks in
//!   Lua and JavaScript, and events from Lua to JavaScript.
//! - [`script_tools`]: `lua.tool_*`, `js.tool_invoke_us`: `Tool.invoke`
//!   from scripts against the direct call, a Lua hook's cost on it, and the
//!   CPU a loop of calls burns per second of wall time.
//! - [`scale`]: `scale.*`: firing among 1,000 hooks, routing among 100,000
//!   patterns, memory over 10 M events with subscriber churn.
//! - [`nats`]: `nats.*`: the NATS bridge against raw async-nats, and a
//!   remote hook's latency, through one nats-server (skipped with the
//!   reason when none can be reached or started).
//! - [`suite`]: every metric in the order `llmspell bench` runs it, with the
//!   workload size it uses.
//!
//! Each area is a cargo feature of the same name (all on by default;
//! `tools` and `agents` include `hooks`), so that a crate's criterion benches
//! can reuse one area without building the others.
//!
//! Run the suite from a release build: in a debug build the figures mean
//! little.
//!
//! # Example
//!
//! ```
//! use llmspell_bench::{Measurement, hooks, suite};
//!
//! // One metric at a small size: registering 10 hooks beside 1,000 others.
//! let m: Measurement = hooks::register(10);
//! assert_eq!((m.metric.as_str(), m.unit), ("hooks.register_ns", "ns"));
//! assert!(m.value > 0.0 && m.target.starts_with("≤ 5000 ns"));
//!
//! // The suite names every metric; `llmspell bench --only` selects by prefix.
//! let ids: Vec<&str> = suite().iter().map(|metric| metric.id).collect();
//! assert_eq!(ids.first(), Some(&"hooks.empty_point_ns"));
//! assert!(ids.contains(&"events.route_1000_ns"));
//!
//! // The JSON record `llmspell bench --json` prints, one per metric.
//! let json = serde_json::to_value(&m)?;
//! assert_eq!(json["metric"], "hooks.register_ns");
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod cpu;
pub mod measurement;

#[cfg(feature = "agents")]
pub mod agents;
#[cfg(feature = "events")]
pub mod events;
#[cfg(feature = "hooks")]
pub mod hooks;
#[cfg(feature = "agents")]
pub mod llm;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(all(feature = "hooks", feature = "events"))]
pub mod scale;
#[cfg(feature = "scripts")]
pub mod script_tools;
#[cfg(feature = "scripts")]
pub mod scripts;
#[cfg(feature = "tools")]
pub mod tools;

pub use measurement::{Measurement, median};

/// Why a metric could not be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A component failed (a tool call, an agent invocation).
    #[error(transparent)]
    Core(#[from] llmspell_core::Error),
    /// The event bus failed.
    #[cfg(feature = "events")]
    #[error(transparent)]
    Events(#[from] llmspell_events::Error),
    /// Event storage could not be opened.
    #[cfg(feature = "events")]
    #[error(transparent)]
    Storage(#[from] llmspell_storage::Error),
    /// The hook system failed.
    #[cfg(any(feature = "hooks", feature = "scripts", feature = "nats"))]
    #[error(transparent)]
    Hooks(#[from] llmspell_hooks::Error),
    /// An agent could not be made or invoked.
    #[cfg(feature = "agents")]
    #[error(transparent)]
    Agents(#[from] llmspell_agents::Error),
    /// The script runtime or a script failed.
    #[cfg(feature = "scripts")]
    #[error(transparent)]
    Script(#[from] llmspell_bridge::Error),
    /// The workload itself could not run or did not complete (no async
    /// runtime, events lost, no answer from a script).
    #[error("{0}")]
    Workload(String),
}

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One metric of the suite.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The metric id (`"hooks.empty_point_ns"`), which `--only` matches by
    /// prefix and the JSON record repeats.
    pub id: &'static str,
    /// Measures the metric at the workload size `llmspell bench` uses.
    pub run: fn() -> Result<Measurement>,
}

/// Every metric of `llmspell bench`, in the order it runs them, with the
/// workload sizes it uses (metrics of areas whose feature is off are left
/// out).
pub fn suite() -> Vec<Metric> {
    let mut metrics = Vec::new();
    // With no area enabled the suite is empty and `add` goes unused.
    #[cfg_attr(
        not(any(feature = "hooks", feature = "events", feature = "scripts")),
        allow(unused_mut, unused_variables)
    )]
    let mut add = |id: &'static str, run: fn() -> Result<Measurement>| {
        metrics.push(Metric { id, run });
    };
    #[cfg(feature = "hooks")]
    {
        add("hooks.empty_point_ns", || hooks::empty_point(2_000_000));
        add("hooks.one_hook_ns", || hooks::one_hook(1_000_000));
        add("hooks.ten_hooks_ns", || hooks::ten_hooks(200_000));
        add("hooks.one_hook_fn_ns", || hooks::one_hook_fn(1_000_000));
    }
    #[cfg(feature = "tools")]
    {
        add("tools.guard_added_ns", || tools::guard_added(20_000));
        add("tools.payload_overhead_pct_0", || {
            tools::payload_overhead(0)
        });
        add("tools.payload_overhead_pct_2", || {
            tools::payload_overhead(2)
        });
        add("tools.payload_scaling", tools::payload_scaling);
        add("tools.overhead_pct_no_hooks", || {
            tools::overhead_no_hooks(20_000)
        });
        add("tools.overhead_pct_two_hooks", || {
            tools::overhead_two_hooks(20_000)
        });
    }
    #[cfg(feature = "agents")]
    {
        add("agents.llm_overhead_pct", || llm::llm_overhead(300));
        add("agents.lifecycle_overhead_pct", agents::lifecycle_overhead);
    }
    #[cfg(feature = "hooks")]
    add("hooks.register_ns", || Ok(hooks::register(2_000)));
    #[cfg(feature = "events")]
    {
        add("events.publish_no_sub_per_s", || {
            events::publish_no_sub(1_000_000)
        });
        add("events.one_sub_per_s", || events::one_sub(200_000));
        add("events.four_sub_per_s", || events::four_sub(200_000));
        add("events.route_1000_ns", || events::route_1000(500_000));
    }
    #[cfg(feature = "scripts")]
    {
        add("lua.hook_same_thread_ns", || {
            scripts::lua_hook_same_thread(20_000)
        });
        add("lua.hook_cross_thread_p50_ns", || {
            scripts::lua_hook_cross_thread(5_000)
        });
        add("lua.publish_callback_per_s", || {
            scripts::lua_publish_callback(50_000)
        });
        add("js.hook_same_thread_ns", || {
            scripts::js_hook_same_thread(5_000)
        });
        add("lua.tool_invoke_us", || {
            script_tools::lua_tool_invoke(20_000)
        });
        add("lua.tool_invoke_cpu_ratio", || {
            script_tools::lua_tool_invoke_cpu(20_000)
        });
        add("lua.tool_hook_added_us", || {
            script_tools::lua_tool_hook_added(20_000)
        });
        add("js.tool_invoke_us", || script_tools::js_tool_invoke(5_000));
        add("xlang.lua_to_js_per_s", || scripts::xlang_lua_to_js(20_000));
    }
    #[cfg(feature = "events")]
    {
        add("persist.sled_per_s", || events::persist_sled(100_000));
        add("memory.stalled_sub_mb", || {
            events::stalled_subscriber_memory(1_000_000)
        });
    }
    #[cfg(feature = "hooks")]
    add("hooks.breaker_trip_calls", hooks::breaker_trip_calls);
    #[cfg(feature = "nats")]
    {
        add("nats.bridge_ratio", || nats::bridge_ratio(50_000));
        add("nats.remote_hook_p50_us", || nats::remote_hook_p50(2_000));
    }
    #[cfg(all(feature = "hooks", feature = "events"))]
    {
        add("scale.hooks_per_point_1000_ns", || {
            scale::hooks_per_point_1000(20_000)
        });
        add("scale.patterns_100k_route_ns", || {
            scale::patterns_100k_route(200_000)
        });
        add("scale.soak_rss_mb", || scale::soak_rss(10_000_000));
    }
    metrics
}

/// A current-thread tokio runtime for the host side of a measurement.
#[cfg(any(feature = "hooks", feature = "scripts"))]
pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Workload(format!("cannot start a tokio runtime: {e}")))
}
