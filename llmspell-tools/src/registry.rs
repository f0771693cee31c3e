//! The tool registry: registration, lookup, listing and discovery.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use llmspell_core::{
    ComponentId, Error, ExecutionContext, Language, Result, SecurityLevel, Tool, ToolCategory,
};
use llmspell_hooks::{
    GuardPoints, GuardSpec, GuardedRunner, HookExecutor, HookPoint, HookRegistry,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::limits::{ResourceLimits, ResourceUsage, ToolCounters};
use crate::validation::ParamValidator;

type Map = HashMap<Arc<str>, Arc<ToolEntry>, foldhash::fast::RandomState>;

/// What a tool says about itself, as `Tool.list` and `Tool.info` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// The tool's name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Its family.
    pub category: ToolCategory,
    /// The trust a caller needs.
    pub security_level: SecurityLevel,
    /// Its parameters as JSON Schema.
    pub parameters: Value,
    /// Its output as JSON Schema.
    pub output: Value,
    /// Example parameters, each a complete call (empty when the tool gives
    /// none).
    #[serde(default)]
    pub examples: Vec<Value>,
    /// The language it is written in (`native` for built-in tools).
    pub language: Language,
}

/// Selects tools in [`ToolRegistry::search`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct ToolQuery {
    /// Words that must all appear in the name or description (case-insensitive).
    pub text: Option<String>,
    /// Only this family.
    pub category: Option<ToolCategory>,
    /// Only tools a caller with this level may run.
    pub max_security_level: Option<SecurityLevel>,
}

impl ToolQuery {
    /// Every tool.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only tools whose name or description contains every word of `text`.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
    /// Only tools of `category`.
    pub fn category(mut self, category: ToolCategory) -> Self {
        self.category = Some(category);
        self
    }
    /// Only tools runnable at `level`.
    pub fn max_security_level(mut self, level: SecurityLevel) -> Self {
        self.max_security_level = Some(level);
        self
    }

    fn accepts(&self, info: &ToolInfo) -> bool {
        let text_ok = self.text.as_ref().is_none_or(|t| {
            let hay = format!("{} {}", info.name, info.description).to_lowercase();
            t.to_lowercase().split_whitespace().all(|w| hay.contains(w))
        });
        text_ok
            && self.category.is_none_or(|c| c == info.category)
            && self
                .max_security_level
                .is_none_or(|l| info.security_level <= l)
    }
}

/// A registered tool with everything its calls need, prepared once.
pub(crate) struct ToolEntry {
    pub(crate) tool: Arc<dyn Tool>,
    pub(crate) info: ToolInfo,
    pub(crate) name: Arc<str>,
    pub(crate) validator: ParamValidator,
    pub(crate) spec: GuardSpec,
    pub(crate) counters: ToolCounters,
}

pub(crate) struct Inner {
    pub(crate) tools: ArcSwap<Map>,
    writer: Mutex<()>,
    pub(crate) runner: GuardedRunner,
    pub(crate) limits: ResourceLimits,
    pub(crate) allowed_level: SecurityLevel,
}

/// Builds a [`ToolRegistry`].
#[must_use]
pub struct ToolRegistryBuilder {
    runner: Option<GuardedRunner>,
    limits: ResourceLimits,
    allowed_level: SecurityLevel,
}

impl ToolRegistryBuilder {
    /// Runs calls through `runner` (its executor's hooks and bus). Default:
    /// a runner over an empty hook registry and no bus.
    pub fn runner(mut self, runner: GuardedRunner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Default per-call limits (default: [`ResourceLimits::default`]).
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The security level callers get unless they say otherwise (default
    /// `Restricted`: file-system and network tools within their
    /// confinements, but no process or environment access).
    pub fn allowed_level(mut self, level: SecurityLevel) -> Self {
        self.allowed_level = level;
        self
    }

    /// Builds the registry.
    pub fn build(self) -> ToolRegistry {
        let runner = self
            .runner
            .unwrap_or_else(|| GuardedRunner::new(HookExecutor::new(HookRegistry::new())));
        ToolRegistry {
            inner: Arc::new(Inner {
                tools: ArcSwap::from_pointee(Map::default()),
                writer: Mutex::new(()),
                runner,
                limits: self.limits,
                allowed_level: self.allowed_level,
            }),
        }
    }
}

/// The tools of a runtime, and the one way to call them.
///
/// Every call made through [`invoke`](ToolRegistry::invoke) passes the eight
/// tool hook points (see the tools guide): validation, security check,
/// resource allocation, Before/After/Error execution through the guarded
/// runner (so every hook result works, redirects and forks resolving here),
/// timeout and resource release; and publishes `tool.<name>.*` events.
/// Lookups are lock-free; cloning the registry is cheap and shares it.
#[derive(Clone)]
pub struct ToolRegistry {
    pub(crate) inner: Arc<Inner>,
}

impl ToolRegistry {
    /// A builder.
    pub fn builder() -> ToolRegistryBuilder {
        ToolRegistryBuilder {
            runner: None,
            limits: ResourceLimits::default(),
            allowed_level: SecurityLevel::Restricted,
        }
    }

    /// A registry over `runner` with default limits and level.
    pub fn new(runner: GuardedRunner) -> Self {
        Self::builder().runner(runner).build()
    }

    /// The runner calls go through.
    pub fn runner(&self) -> &GuardedRunner {
        &self.inner.runner
    }

    /// The hook executor of the runner.
    pub fn executor(&self) -> &HookExecutor {
        self.inner.runner.executor()
    }

    /// Registers a tool.
    ///
    /// # Errors
    /// `InvalidInput` when the name is not a valid topic segment (letters,
    /// digits, `_`, `:`, `-`), is already taken, or the parameter schema is
    /// not a valid JSON Schema.
    pub fn register(&self, tool: Arc<dyn Tool>) -> Result<()> {
        self.insert(tool, Language::Native, false)
    }

    /// Registers a tool written in `language` (script-defined tools).
    ///
    /// # Errors
    /// As [`register`](ToolRegistry::register).
    pub fn register_in(&self, tool: Arc<dyn Tool>, language: Language) -> Result<()> {
        self.insert(tool, language, false)
    }

    /// Registers or replaces a tool.
    ///
    /// # Errors
    /// As [`register`](ToolRegistry::register), except for duplicates.
    pub fn replace(&self, tool: Arc<dyn Tool>, language: Language) -> Result<()> {
        self.insert(tool, language, true)
    }

    fn insert(&self, tool: Arc<dyn Tool>, language: Language, replace: bool) -> Result<()> {
        let meta = tool.metadata();
        let name: Arc<str> = meta.id.name.clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
        {
            return Err(Error::invalid_input(
                "name",
                format!("tool name {name:?} is invalid; use letters, digits, '_', ':' and '-'"),
            ));
        }
        let parameters = tool.parameters_schema();
        let validator = ParamValidator::compile(&name, &parameters)?;
        let info = ToolInfo {
            name: name.to_string(),
            description: meta.description.clone(),
            category: tool.category(),
            security_level: tool.security_level(),
            parameters,
            output: tool.output_schema(),
            examples: tool.examples(),
            language,
        };
        let spec = GuardSpec::new(ComponentId::tool(name.clone()), GuardPoints::tool());
        let entry = Arc::new(ToolEntry {
            tool,
            info,
            name: name.clone(),
            validator,
            spec,
            counters: ToolCounters::default(),
        });
        let _w = self.inner.writer.lock();
        let current = self.inner.tools.load();
        if !replace && current.contains_key(&name) {
            return Err(Error::invalid_input(
                "name",
                format!("a tool named {name:?} is already registered"),
            ));
        }
        let mut next = Map::clone(&current);
        next.insert(name, entry);
        self.inner.tools.store(Arc::new(next));
        Ok(())
    }

    /// Registers every tool of `tools`.
    ///
    /// # Errors
    /// The first registration error; earlier tools stay registered.
    pub fn register_all(&self, tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> Result<()> {
        tools.into_iter().try_for_each(|t| self.register(t))
    }

    /// Removes a tool; returns whether it was registered.
    pub fn unregister(&self, name: &str) -> bool {
        let _w = self.inner.writer.lock();
        let current = self.inner.tools.load();
        if !current.contains_key(name) {
            return false;
        }
        let mut next = Map::clone(&current);
        next.remove(name);
        self.inner.tools.store(Arc::new(next));
        true
    }

    pub(crate) fn entry(&self, name: &str) -> Result<Arc<ToolEntry>> {
        if let Some(e) = self.inner.tools.load().get(name) {
            return Ok(e.clone());
        }
        Err(Error::NotFound {
            kind: "tool".to_owned(),
            name: name.to_owned(),
            suggestion: self.closest(name),
        })
    }

    fn closest(&self, name: &str) -> Option<String> {
        let tools = self.inner.tools.load();
        llmspell_core::suggest::closest(name, tools.keys().map(|k| k.as_ref())).map(str::to_owned)
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.inner.tools.load().get(name).map(|e| e.tool.clone())
    }

    /// Whether a tool named `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.tools.load().contains_key(name)
    }

    /// What `name` says about itself.
    ///
    /// # Errors
    /// `NotFound` with the closest name.
    pub fn info(&self, name: &str) -> Result<ToolInfo> {
        self.entry(name).map(|e| e.info.clone())
    }

    /// Number of tools.
    pub fn len(&self) -> usize {
        self.inner.tools.load().len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every tool, by name.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .tools
            .load()
            .keys()
            .map(|k| k.to_string())
            .collect();
        names.sort();
        names
    }

    /// Every tool's info, by name, through the discovery hook points.
    ///
    /// # Errors
    /// A discovery hook's cancel or fail-closed failure.
    pub async fn list(&self, exec: &ExecutionContext) -> Result<Vec<ToolInfo>> {
        self.search(&ToolQuery::new(), exec).await
    }

    /// Tools matching `query`, by name. `BeforeToolDiscovery` sees
    /// `{ "query": … }` and may change it (`Modified`) or cancel;
    /// `AfterToolDiscovery` sees `{ "tools": [names] }` and may narrow the
    /// result (`Modified` with a subset of names) or cancel.
    ///
    /// # Errors
    /// A discovery hook's cancel or fail-closed failure; a malformed modified query.
    pub async fn search(
        &self,
        query: &ToolQuery,
        exec: &ExecutionContext,
    ) -> Result<Vec<ToolInfo>> {
        let executor = self.executor();
        let registry = executor.registry();
        let mut query = query.clone();
        let system = ComponentId::system();
        if registry.has_hooks(&HookPoint::BeforeToolDiscovery)
            && let Some(f) = executor
                .fire_at(
                    HookPoint::BeforeToolDiscovery,
                    &system,
                    exec,
                    &[],
                    || json!({ "query": query }),
                )
                .await?
        {
            f.ignore("only modified and cancel apply");
            if let Some(q) = f.data.get("query") {
                query = serde_json::from_value(q.clone()).map_err(|e| {
                    Error::invalid_input(
                        "query",
                        format!("a discovery hook returned a malformed query: {e}"),
                    )
                })?;
            }
        }
        let mut found: Vec<ToolInfo> = self
            .inner
            .tools
            .load()
            .values()
            .map(|e| e.info.clone())
            .filter(|i| query.accepts(i))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        if registry.has_hooks(&HookPoint::AfterToolDiscovery)
            && let Some(f) = executor
                .fire_at(HookPoint::AfterToolDiscovery, &system, exec, &[], || {
                    let names: Vec<&str> = found.iter().map(|i| i.name.as_str()).collect();
                    json!({ "tools": names })
                })
                .await?
        {
            f.ignore("only modified and cancel apply");
            if let Some(keep) = f.data.get("tools").and_then(Value::as_array) {
                let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
                found.retain(|i| keep.contains(&i.name.as_str()));
            }
        }
        Ok(found)
    }

    /// Counters of one tool.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn usage(&self, name: &str) -> Result<ResourceUsage> {
        self.entry(name).map(|e| e.counters.snapshot())
    }

    /// Counters of all calls to the tools registered now.
    pub fn total_usage(&self) -> ResourceUsage {
        let mut total = ResourceUsage::default();
        for e in self.inner.tools.load().values() {
            e.counters.add_to(&mut total);
        }
        total
    }

    /// The default limits.
    pub fn limits(&self) -> ResourceLimits {
        self.inner.limits
    }

    /// The default caller level.
    pub fn allowed_level(&self) -> SecurityLevel {
        self.inner.allowed_level
    }
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.names())
            .finish()
    }
}
