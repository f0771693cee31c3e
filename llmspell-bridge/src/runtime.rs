//! The script runtime: one hook registry, one event bus, one tool registry,
//! and the engines that share them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::Language;
use llmspell_events::{EventBus, EventStore, Persistence, PersistenceConfig};
use llmspell_hooks::{
    EmitHooks, GuardedRunner, HookExecutor, HookRecorder, HookRegistry, RunnerConfig,
    SelectiveHookRegistry,
};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use llmspell_tools::{ToolRegistry, builtin_tools_with_storage};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::engine::{Command, EngineHandle};
use crate::host::{Components, Host, HostInner};
use crate::{Error, Result, RuntimeConfig, RuntimeUpdate, StorageChoice};
use llmspell_agents::AgentRuntime;
use llmspell_workflows::WorkflowEngine;

/// The language of a script file, from its extension.
pub fn language_of(path: &Path) -> Option<Language> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("lua") => Some(Language::Lua),
        Some("js" | "mjs") => Some(Language::Javascript),
        _ => None,
    }
}

/// A runtime for Lua and JavaScript scripts sharing one set of registries.
///
/// Build it with a [`RuntimeConfig`], run script files or sources in it
/// ([`run_file`](ScriptRuntime::run_file), [`run_source`](ScriptRuntime::run_source)), then
/// [`wait_quiescent`](ScriptRuntime::wait_quiescent) to let subscription
/// callbacks finish. Each engine runs on its own thread; the blocking methods
/// here must not be called from inside an async runtime.
pub struct ScriptRuntime {
    host: Host,
    storage: Arc<dyn StorageBackend>,
    events: EventStore,
    persistence: Mutex<Option<Persistence>>,
    background: tokio::runtime::Runtime,
    engines: Mutex<Vec<EngineHandle>>,
    lua: Mutex<Option<EngineHandle>>,
    js: Mutex<Option<EngineHandle>>,
    /// The outcome of [`start`](ScriptRuntime::start), once called.
    started: Mutex<Option<llmspell_core::Result<()>>>,
    /// The process memory watch, while it runs.
    monitor: Mutex<Option<crate::memory::ProcessWatch>>,
    /// The configured hooks' features.
    features: SelectiveHookRegistry,
}

/// Checks the settings `new` cannot catch by type.
fn check(config: &RuntimeConfig) -> Result<()> {
    if let Some(name) = &config.session {
        crate::session::check_name(name)?;
    }
    if !(config.memory_high_water > 0.0 && config.memory_high_water <= 1.0) {
        return Err(Error::Config {
            field: "memory_high_water",
            message: format!(
                "{} is not a share of the memory limit; valid: more than 0, at most 1",
                config.memory_high_water
            ),
        });
    }
    Ok(())
}

/// The tool registry (with the built-in tools, which keep what they keep
/// in `storage` without keeping it open), the agent runtime, the component
/// resolver and the workflow engine, all on `runner`.
fn components(
    runner: GuardedRunner,
    config: &RuntimeConfig,
    storage: &Arc<dyn StorageBackend>,
) -> Result<(ToolRegistry, AgentRuntime, Components, WorkflowEngine)> {
    let tools = ToolRegistry::builder()
        .runner(runner.clone())
        .allowed_level(config.allowed_level)
        .build();
    tools.register_all(builtin_tools_with_storage(&config.tools, storage))?;
    let agents = AgentRuntime::builder()
        .runner(runner.clone())
        .tools(tools.clone())
        .providers(config.providers.clone())
        .build()
        .map_err(|e| Error::Config {
            field: "agents",
            message: e.to_string(),
        })?;
    let components = Components::new(agents.registry().clone());
    let workflows = WorkflowEngine::builder()
        .runner(runner)
        .tools(tools.clone())
        .resolver(Arc::new(components.clone()))
        .build()
        .map_err(|e| Error::Config {
            field: "workflows",
            message: e.to_string(),
        })?;
    Ok((tools, agents, components, workflows))
}

/// Starts persisting the events that match `patterns` (none when empty).
/// Runs inside the host's tokio runtime.
fn persist(
    bus: &EventBus,
    events: &EventStore,
    patterns: &[String],
    retention: Option<llmspell_events::Retention>,
) -> Result<Option<Persistence>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let invalid = |e: llmspell_events::Error| Error::Config {
        field: "persist",
        message: e.to_string(),
    };
    let mut pc = PersistenceConfig::new(patterns).map_err(invalid)?;
    pc.retention = retention;
    bus.persist(events.clone(), pc).map(Some).map_err(invalid)
}

impl ScriptRuntime {
    /// Builds a runtime: opens storage, registers the built-in tools, starts
    /// event persistence if configured. Engines start on first use.
    ///
    /// # Errors
    /// Storage that cannot be opened (`Error::Storage` naming the path),
    /// invalid persistence patterns.
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        check(&config)?;
        let storage: Arc<dyn StorageBackend> = match &config.storage {
            StorageChoice::Memory => Arc::new(MemoryBackend::new()),
            StorageChoice::Sled(path) => Arc::new(SledBackend::open(path)?),
        };
        let background = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llmspell-host")
            .enable_all()
            .build()
            .map_err(|e| Error::Config {
                field: "runtime",
                message: format!("cannot start a tokio runtime: {e}"),
            })?;
        let bus = EventBus::new();
        let hooks = HookRegistry::new();
        let recorder = HookRecorder::new(storage.clone()).map_err(llmspell_core::Error::from)?;
        let mut executor = HookExecutor::builder(hooks.clone()).bus(bus.clone());
        if config.record_hooks {
            executor = executor.recorder(recorder.clone());
        }
        if config.traces > 0 {
            executor = executor.traces(llmspell_hooks::TraceRecorder::new(config.traces));
        }
        let executor = executor.build();
        EmitHooks::install(&executor)?;
        let runner = GuardedRunner::new(executor.clone()).with_config(RunnerConfig {
            slow_operation: config.operation_budget,
            ..RunnerConfig::default()
        });
        for budget in &config.hook_budgets {
            runner
                .set_component_budget(budget.clone())
                .map_err(llmspell_core::Error::from)?;
        }
        let cache = runner.cache().clone();
        let (tools, agents, components, workflows) = components(runner, &config, &storage)?;
        let events = EventStore::new(storage.clone());
        let persistence = {
            let _guard = background.enter();
            persist(&bus, &events, &config.persist, config.retention)?
        };
        let session = crate::session::Session::new(
            config.session.clone(),
            config.state_version,
            storage.clone(),
            executor.clone(),
        );
        let host = Host {
            inner: Arc::new(HostInner {
                hooks,
                executor,
                bus,
                cache,
                recorder,
                storage: storage.clone(),
                builtins: Mutex::new(Vec::new()),
                tools,
                agents,
                workflows,
                components,
                live: crate::live::Live::new(&config),
                session,
                background: background.handle().clone(),
                lua_stops: Mutex::new(Vec::new()),
                config,
            }),
        };
        let features = SelectiveHookRegistry::new(host.inner.hooks.clone());
        crate::configured::install(&host, &features, &host.inner.config.hooks)?;
        Ok(Self {
            features,
            host,
            storage,
            events,
            persistence: Mutex::new(persistence),
            background,
            engines: Mutex::new(Vec::new()),
            lua: Mutex::new(None),
            js: Mutex::new(None),
            started: Mutex::new(None),
            monitor: Mutex::new(None),
        })
    }

    /// Starts the runtime's session: fires `SystemStartup`, restores a named
    /// session's saved state (`StateMigration`, `SessionRestore`) and fires
    /// `SessionStart`; starts the memory watch when
    /// [`RuntimeConfig::rss_high_water`] is set. Running a script starts the
    /// runtime first if this was not called; call it yourself after
    /// registering hooks that should see these points.
    ///
    /// Idempotent: later calls return the first call's outcome.
    ///
    /// # Errors
    /// `Error::Core` with `Cancelled` when a hook cancels a start point, or
    /// the error of a session restore (unreadable saved state, state saved
    /// by a newer version).
    pub fn start(&self) -> Result<()> {
        let mut started = self.started.lock();
        if let Some(outcome) = started.as_ref() {
            return outcome.clone().map_err(Error::Core);
        }
        let kind = match &self.host.inner.config.storage {
            StorageChoice::Memory => "memory",
            StorageChoice::Sled(_) => "sled",
        };
        let outcome = self
            .background
            .block_on(self.host.inner.session.start(kind));
        if outcome.is_ok()
            && let Some(mark) = self.host.inner.config.rss_high_water
        {
            *self.monitor.lock() = Some(crate::memory::watch_process(&self.host, mark));
        }
        *started = Some(outcome.clone());
        outcome.map_err(Error::Core)
    }

    /// Saves the session's state now (`SessionCheckpoint`).
    ///
    /// # Errors
    /// `Error::Core` with `InvalidInput` for an unnamed session, `Cancelled`
    /// when a hook cancels, or a storage error.
    pub fn checkpoint(&self) -> Result<()> {
        self.background
            .block_on(self.host.inner.session.checkpoint("save"))
            .map_err(Error::Core)
    }

    /// Changes settings of the running runtime, after the
    /// `ConfigurationChange` hooks agreed (they may change or refuse the
    /// change). Returns the change applied.
    ///
    /// ```
    /// use std::time::Duration;
    /// use llmspell_bridge::{RuntimeConfig, RuntimeUpdate, ScriptRuntime};
    ///
    /// let runtime = ScriptRuntime::new(RuntimeConfig::default())?;
    /// let applied = runtime.reconfigure(RuntimeUpdate::new().callback_timeout(Duration::from_millis(250)))?;
    /// assert_eq!(applied.callback_timeout_ms, Some(250));
    /// # Ok::<(), llmspell_bridge::Error>(())
    /// ```
    ///
    /// # Errors
    /// `Error::Core` with `InvalidInput` for an empty or out-of-range
    /// change, `Cancelled` when a hook refuses it.
    pub fn reconfigure(&self, update: RuntimeUpdate) -> Result<RuntimeUpdate> {
        self.background
            .block_on(
                self.host
                    .inner
                    .live
                    .reconfigure(&self.host.inner.executor, update),
            )
            .map_err(Error::Core)
    }

    /// The shared registries, as the globals use them.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The hook registry.
    pub fn hooks(&self) -> &HookRegistry {
        self.host.hooks()
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        self.host.bus()
    }

    /// The hook executor every guarded operation fires through (with its
    /// breakers, timeouts, traces and monitor): what serves this runtime's
    /// hooks to other hosts.
    pub fn executor(&self) -> &HookExecutor {
        &self.host.inner.executor
    }

    /// The tool registry.
    pub fn tools(&self) -> &ToolRegistry {
        self.host.tools()
    }

    /// The storage backend.
    pub fn storage(&self) -> &Arc<dyn StorageBackend> {
        &self.storage
    }

    /// The persisted events.
    pub fn event_store(&self) -> &EventStore {
        &self.events
    }

    /// The correlation trace `id` (a trace id, or the correlation id of any
    /// operation in it): from memory while the runtime keeps it
    /// ([`RuntimeConfig::traces`]), else rebuilt from the span events
    /// persisted in its store. `None` when neither has it.
    ///
    /// # Errors
    /// A store that cannot be read.
    pub fn trace(
        &self,
        id: &llmspell_core::CorrelationId,
    ) -> Result<Option<llmspell_hooks::Trace>> {
        self.background
            .block_on(self.host.trace(id))
            .map_err(|e| Error::Core(e.into()))
    }

    /// The Lua engine, started on first use.
    ///
    /// # Errors
    /// When the engine thread cannot start.
    pub fn lua(&self) -> Result<EngineHandle> {
        let mut slot = self.lua.lock();
        if let Some(h) = slot.as_ref() {
            return Ok(h.clone());
        }
        let handle = crate::lua::start(self.host.clone())?;
        self.engines.lock().push(handle.clone());
        *slot = Some(handle.clone());
        Ok(handle)
    }

    /// The JavaScript engine, started on first use.
    ///
    /// # Errors
    /// When the engine thread cannot start.
    pub fn javascript(&self) -> Result<EngineHandle> {
        let mut slot = self.js.lock();
        if let Some(h) = slot.as_ref() {
            return Ok(h.clone());
        }
        let handle = crate::js::start(self.host.clone())?;
        self.engines.lock().push(handle.clone());
        *slot = Some(handle.clone());
        Ok(handle)
    }

    fn engine_for(&self, language: Language, path: &str) -> Result<EngineHandle> {
        match language {
            Language::Lua => self.lua(),
            Language::Javascript => self.javascript(),
            _ => Err(Error::UnknownLanguage {
                path: path.to_owned(),
            }),
        }
    }

    /// Runs a script file's main chunk to completion (the language is taken
    /// from the extension). Callbacks it set up keep running afterwards.
    ///
    /// # Errors
    /// `Error::Script` with `file:line: message` for an uncaught error;
    /// `Error::Io` or `Error::UnknownLanguage` for the file.
    pub fn run_file(&self, path: impl AsRef<Path>) -> Result<()> {
        self.start()?;
        self.run_file_unstarted(path.as_ref())
    }

    /// Runs a script file before the runtime starts, so that the hooks it
    /// registers see the start points (`SystemStartup`, `StateMigration`,
    /// `SessionRestore`, `SessionStart`). The session's `State` is restored
    /// only after it. `llmspell run --hooks FILE` uses it.
    ///
    /// # Errors
    /// As [`run_file`](ScriptRuntime::run_file); `Error::Config` when the
    /// runtime has already started.
    pub fn preload_file(&self, path: impl AsRef<Path>) -> Result<()> {
        self.not_started()?;
        self.run_file_unstarted(path.as_ref())
    }

    /// Runs source code as if it were the file `name`, before the runtime
    /// starts (see [`preload_file`](ScriptRuntime::preload_file)).
    ///
    /// # Errors
    /// As [`preload_file`](ScriptRuntime::preload_file).
    pub fn preload_source(&self, language: Language, name: &str, source: &str) -> Result<()> {
        self.not_started()?;
        self.run_source_unstarted(language, name, source)
    }

    /// The features of the hooks a configuration file declared: turn a
    /// group of configured hooks on and off while the runtime runs.
    pub fn hook_features(&self) -> &SelectiveHookRegistry {
        &self.features
    }

    /// Runs the script hook files of the configuration
    /// ([`RuntimeConfig::hooks`](crate::RuntimeConfig::hooks)) whose entry is
    /// enabled, before the runtime starts (as
    /// [`preload_file`](ScriptRuntime::preload_file)).
    ///
    /// # Errors
    /// As [`preload_file`](ScriptRuntime::preload_file), for the first file
    /// that fails.
    pub fn preload_configured(&self) -> Result<()> {
        for entry in &self.host.inner.config.hooks {
            if let llmspell_config::HookKind::Script(path) = &entry.kind
                && entry.enabled
            {
                self.preload_file(path)?;
            }
        }
        Ok(())
    }

    fn not_started(&self) -> Result<()> {
        if self.started.lock().is_some() {
            return Err(Error::Config {
                field: "preload",
                message: "the runtime has already started; preload scripts before running others"
                    .to_owned(),
            });
        }
        Ok(())
    }

    fn run_file_unstarted(&self, path: &Path) -> Result<()> {
        let display = path.display().to_string();
        let language = language_of(path).ok_or_else(|| Error::UnknownLanguage {
            path: display.clone(),
        })?;
        let source = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: display.clone(),
            message: e.to_string(),
        })?;
        self.run_source_unstarted(language, &display, &source)
    }

    /// Runs source code as if it were the file `name`.
    ///
    /// # Errors
    /// As [`run_file`](ScriptRuntime::run_file).
    pub fn run_source(&self, language: Language, name: &str, source: &str) -> Result<()> {
        self.start()?;
        self.run_source_unstarted(language, name, source)
    }

    fn run_source_unstarted(&self, language: Language, name: &str, source: &str) -> Result<()> {
        let engine = self.engine_for(language, name)?;
        let (reply, rx) = oneshot::channel();
        if !engine.send(Command::Run {
            name: name.to_owned(),
            source: source.to_owned(),
            reply,
        }) {
            return Err(Error::EngineStopped(language.to_string()));
        }
        match self.background.block_on(rx) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Script(e)),
            Err(_) => Err(Error::EngineStopped(language.to_string())),
        }
    }

    /// Runs every file in order, each main chunk to completion, then waits
    /// until the runtime is quiescent. Returns the uncaught errors (empty
    /// when every script succeeded).
    pub fn run_files<P: AsRef<Path>>(
        &self,
        paths: &[P],
        quiet_timeout: Option<Duration>,
    ) -> Vec<Error> {
        let mut errors = Vec::new();
        for p in paths {
            if let Err(e) = self.run_file(p) {
                errors.push(e);
            }
        }
        self.wait_quiescent(quiet_timeout);
        errors
    }

    /// Waits until no script code runs, no callback delivery is pending and
    /// no operation is in flight (seen twice in a row, 1 ms apart), or the
    /// timeout passes. Returns whether the runtime became quiescent.
    pub fn wait_quiescent(&self, timeout: Option<Duration>) -> bool {
        let started = Instant::now();
        let mut quiet_rounds = 0;
        loop {
            let engines = self.engines.lock().clone();
            let idle = engines.iter().all(|e| e.is_idle(self.bus()));
            quiet_rounds = if idle { quiet_rounds + 1 } else { 0 };
            if quiet_rounds >= 3 {
                return true;
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Ends the session (`SessionEnd`, the final checkpoint of a named
    /// session, `SystemShutdown`, all while the engines still run their
    /// hooks), flushes persisted events and stops the engines.
    ///
    /// # Errors
    /// A failed final flush of persisted events.
    pub fn shutdown(self) -> Result<()> {
        if self.started.lock().as_ref().is_some_and(Result::is_ok) {
            self.background.block_on(self.host.inner.session.end());
        }
        if let Some(watch) = self.monitor.lock().take() {
            watch.stop();
        }
        self.stop_engines();
        if let Some(p) = self.persistence.lock().take() {
            self.background
                .block_on(p.shutdown())
                .map_err(|e| Error::Config {
                    field: "persist",
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }
}

impl ScriptRuntime {
    /// Stops every engine and waits (briefly) for their threads, so that
    /// what they hold (storage, the registries) is released.
    fn stop_engines(&self) {
        for e in self.engines.lock().drain(..) {
            if !e.stop(ENGINE_STOP_PATIENCE) {
                tracing::warn!(engine = %e.language(), "an engine thread was still busy when the runtime stopped");
            }
        }
        self.lua.lock().take();
        self.js.lock().take();
    }
}

/// How long stopping a runtime waits for each engine thread to end.
const ENGINE_STOP_PATIENCE: Duration = Duration::from_secs(2);

/// Dropping a runtime without [`ScriptRuntime::shutdown`] stops its
/// engines, writes the persisted events still queued and releases its
/// store (a new runtime can open the same directory at once), but does not
/// end its session: no `SessionEnd`, no final checkpoint, no
/// `SystemShutdown`.
impl Drop for ScriptRuntime {
    fn drop(&mut self) {
        self.monitor.lock().take();
        self.stop_engines();
    }
}

impl std::fmt::Debug for ScriptRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptRuntime")
            .field("engines", &self.engines.lock().len())
            .finish()
    }
}
