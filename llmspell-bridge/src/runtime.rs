//! The script runtime: one hook registry, one event bus, one tool registry,
//! and the engines that share them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::Language;
use llmspell_events::{EventBus, EventStore, Persistence, PersistenceConfig};
use llmspell_hooks::{EmitHooks, GuardedRunner, HookExecutor, HookRegistry};
use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend};
use llmspell_tools::{ToolRegistry, builtin_tools};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::engine::{Command, EngineHandle};
use crate::host::{Components, Host, HostInner};
use crate::{Error, Result, RuntimeConfig, StorageChoice};
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
}

impl ScriptRuntime {
    /// Builds a runtime: opens storage, registers the built-in tools, starts
    /// event persistence if configured. Engines start on first use.
    ///
    /// # Errors
    /// Storage that cannot be opened (`Error::Storage` naming the path),
    /// invalid persistence patterns.
    pub fn new(config: RuntimeConfig) -> Result<Self> {
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
        let executor = HookExecutor::builder(hooks.clone())
            .bus(bus.clone())
            .build();
        EmitHooks::install(&executor)?;
        let runner = GuardedRunner::new(executor.clone());
        let tools = ToolRegistry::builder()
            .runner(runner.clone())
            .allowed_level(config.allowed_level)
            .build();
        tools.register_all(builtin_tools(&config.tools))?;
        let agents = AgentRuntime::builder()
            .runner(runner.clone())
            .tools(tools.clone())
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
        let events = EventStore::new(storage.clone());
        let persistence = if config.persist.is_empty() {
            None
        } else {
            let pc = PersistenceConfig::new(&config.persist).map_err(|e| Error::Config {
                field: "persist",
                message: e.to_string(),
            })?;
            let _guard = background.enter();
            Some(bus.persist(events.clone(), pc).map_err(|e| Error::Config {
                field: "persist",
                message: e.to_string(),
            })?)
        };
        let host = Host {
            inner: Arc::new(HostInner {
                hooks,
                executor,
                bus,
                tools,
                agents,
                workflows,
                components,
                config,
            }),
        };
        Ok(Self {
            host,
            storage,
            events,
            persistence: Mutex::new(persistence),
            background,
            engines: Mutex::new(Vec::new()),
            lua: Mutex::new(None),
            js: Mutex::new(None),
        })
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
        let path = path.as_ref();
        let display = path.display().to_string();
        let language = language_of(path).ok_or_else(|| Error::UnknownLanguage {
            path: display.clone(),
        })?;
        let source = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: display.clone(),
            message: e.to_string(),
        })?;
        self.run_source(language, &display, &source)
    }

    /// Runs source code as if it were the file `name`.
    ///
    /// # Errors
    /// As [`run_file`](ScriptRuntime::run_file).
    pub fn run_source(&self, language: Language, name: &str, source: &str) -> Result<()> {
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

    /// Flushes persisted events and stops the engines.
    ///
    /// # Errors
    /// A failed final flush of persisted events.
    pub fn shutdown(self) -> Result<()> {
        for e in self.engines.lock().iter() {
            e.send(Command::Shutdown);
        }
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

impl std::fmt::Debug for ScriptRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptRuntime")
            .field("engines", &self.engines.lock().len())
            .finish()
    }
}
