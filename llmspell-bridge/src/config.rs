//! How a runtime is set up.

use std::path::PathBuf;
use std::time::Duration;

use llmspell_agents::ProviderSettings;
use llmspell_config::HookEntry;
use llmspell_core::SecurityLevel;
use llmspell_events::Retention;
use llmspell_tools::BuiltinToolsConfig;

/// Where the runtime keeps persisted events and hook records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageChoice {
    /// In memory; gone when the process ends.
    Memory,
    /// A sled database in this directory (created if missing).
    Sled(PathBuf),
}

/// Settings of a [`crate::ScriptRuntime`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RuntimeConfig {
    /// Storage for persisted events. Default: memory.
    pub storage: StorageChoice,
    /// Topic patterns persisted to storage. Default: none.
    pub persist: Vec<String>,
    /// How much persisted history to keep. Default: all.
    pub retention: Option<Retention>,
    /// The LLM providers' settings (base URLs, keys, time limits). Default:
    /// from the environment.
    pub providers: ProviderSettings,
    /// Hooks declared by a configuration file: built-in and command hooks
    /// are loaded at start under their features (see
    /// [`crate::ScriptRuntime::hook_features`]); script hook files are run
    /// by [`crate::ScriptRuntime::preload_configured`].
    pub hooks: Vec<HookEntry>,
    /// Budgets of hook time per call, by component. Default: none.
    pub hook_budgets: Vec<llmspell_hooks::ComponentBudget>,
    /// Give scripts the full standard library (file and process access).
    /// Default: sandboxed.
    pub allow_unsafe: bool,
    /// The security level scripts call tools with. Default: restricted.
    pub allowed_level: SecurityLevel,
    /// What the built-in tools may touch.
    pub tools: BuiltinToolsConfig,
    /// Memory limit of each script engine, in bytes. Default 256 MiB.
    pub memory_limit: usize,
    /// Time limit of a hook or callback that sets none. Default 5 s.
    pub callback_timeout: Duration,
    /// Time limit of an agent handler, a workflow step function, input
    /// function or condition, which may wait on tools and models. Running
    /// script code past it is interrupted. Default 300 s.
    pub handler_timeout: Duration,
    /// Arguments given to the scripts (`llmspell.args`). Default: none.
    pub script_args: Vec<String>,
    /// How long a thread that hands work to an engine keeps polling for the
    /// answer before it sleeps, and an engine that has just answered keeps
    /// polling for its next command. Default: zero (no polling: both
    /// threads sleep until woken).
    ///
    /// Waking a sleeping thread costs little on bare metal but tens of
    /// microseconds on virtual machines whose idle CPUs halt, and a hook
    /// call from another thread needs two such hand-offs. Polling keeps both
    /// threads awake across back-to-back calls, which buys latency with a
    /// second core's CPU time: up to this much per hand-off on each side.
    /// Set it (`llmspell run --handoff-spin 50`) when cross-thread latency
    /// matters more than CPU; calls that stay on one engine's thread never
    /// hand off.
    pub handoff_spin: Duration,
    /// The session whose state scripts keep across runs (`State`): restored
    /// from storage at start, saved at each checkpoint and at shutdown.
    /// Default: none (an unnamed session, kept in memory).
    pub session: Option<String>,
    /// How many recent correlation traces to keep in memory (each guarded
    /// operation as a span with the hook firings inside it; see
    /// [`llmspell_hooks::TraceRecorder`]). Finished spans are also published
    /// on `trace.span`, so persisting that topic keeps traces across runs.
    /// Default 0: tracing off, and a guarded operation without hooks or
    /// listeners costs nothing extra. `llmspell run` keeps 256.
    pub traces: usize,
    /// Record every execution of script hooks in storage (namespace
    /// `hooks`), for `Hook.replay` and `llmspell replay`. Default: off.
    pub record_hooks: bool,
    /// The version of the state the scripts expect. State saved with an
    /// older version passes `StateMigration` when it is restored; state saved
    /// with a newer one is refused. Default 1.
    pub state_version: u32,
    /// A guarded operation (tool, agent, workflow, step, LLM call) taking
    /// longer fires `PerformanceThresholdExceeded`. Default: none.
    pub operation_budget: Option<Duration>,
    /// The share of [`memory_limit`](Self::memory_limit) past which a Lua
    /// engine fires `MemoryUsageHigh` (once per crossing). Default 0.8.
    pub memory_high_water: f64,
    /// The process resident memory, in bytes, past which `MemoryUsageHigh`
    /// fires (sampled every 250 ms while the runtime runs). Default: none.
    pub rss_high_water: Option<u64>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            storage: StorageChoice::Memory,
            persist: Vec::new(),
            retention: None,
            providers: ProviderSettings::new(),
            hooks: Vec::new(),
            hook_budgets: Vec::new(),
            allow_unsafe: false,
            allowed_level: SecurityLevel::Restricted,
            tools: BuiltinToolsConfig::default(),
            memory_limit: 256 << 20,
            callback_timeout: Duration::from_secs(5),
            handler_timeout: Duration::from_secs(300),
            script_args: Vec::new(),
            handoff_spin: Duration::ZERO,
            session: None,
            state_version: 1,
            record_hooks: false,
            traces: 0,
            operation_budget: None,
            memory_high_water: 0.8,
            rss_high_water: None,
        }
    }
}
