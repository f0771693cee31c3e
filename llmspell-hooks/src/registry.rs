//! The hook registry: per-point, priority-ordered, copy-on-write snapshots.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use llmspell_core::Language;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::hook_list::HookList;
use crate::monitor::{HookPerformance, HookStats};
use crate::{ActionSet, Hook, HookMetadata, HookPoint, Priority, ReplayableHook, Result};

/// Identifies a registered hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookId(pub(crate) u64);

impl HookId {
    /// The numeric id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for HookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for HookId {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        s.parse::<u64>()
            .map(HookId)
            .map_err(|_| crate::Error::InvalidConfig {
                field: "hook id",
                message: format!("{s:?} is not a hook id (ids are positive integers)"),
            })
    }
}

/// What happens to the guarded operation when a hook fails (errors, panics,
/// times out or returns something malformed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Skip the failed hook and go on (the default).
    #[default]
    Open,
    /// Cancel the operation with `HookFailed { hook, message }`.
    Closed,
}

impl std::str::FromStr for FailMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(FailMode::Open),
            "closed" => Ok(FailMode::Closed),
            other => Err(crate::Error::InvalidConfig {
                field: "fail",
                message: format!("unknown fail mode {other:?}; valid: open, closed"),
            }),
        }
    }
}

/// One registration: a hook, the point it runs at, and its options (what
/// [`HookRegistry::register_all`] takes).
pub type Registration = (HookPoint, Arc<dyn Hook>, HookOptions);

/// A registration on its way in: [`Registration`] and the hook's
/// replayable form, if it has one.
type Pending = (
    HookPoint,
    Arc<dyn Hook>,
    Option<Arc<dyn ReplayableHook>>,
    HookOptions,
);

/// Per-registration settings; anything unset falls back to the hook's own
/// metadata or the executor's defaults.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HookOptions {
    /// Overrides the hook's name.
    pub name: Option<String>,
    /// Overrides the hook's priority.
    pub priority: Option<Priority>,
    /// Tags added to the hook's own.
    pub tags: Vec<String>,
    /// Overrides the hook's language.
    pub language: Option<Language>,
    /// Per-call timeout (default: the executor's).
    pub timeout: Option<Duration>,
    /// What a failure of this hook does. Default `Open`.
    pub fail_mode: FailMode,
    /// Only run for components with this name, or whose name matches this
    /// glob when it holds `*`, `?`, `[` or `{` (`web_*`, `{calculator,hash_*}`).
    pub component: Option<String>,
    /// Breaker settings (default: [`BreakerConfig::default`]).
    pub breaker: Option<BreakerConfig>,
    /// Calls slower than this count as slow for the breaker (default: the
    /// executor's budget for the point).
    pub slow_budget: Option<Duration>,
    /// Names of hooks at the same point this one runs after.
    pub after: Vec<String>,
    /// Names of hooks at the same point this one runs before.
    pub before: Vec<String>,
    /// Whether `after` and `before` may name hooks that are not registered
    /// (the dependency then does nothing). Default: a missing hook is an
    /// error.
    pub optional_dependencies: bool,
}

impl HookOptions {
    /// Defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Sets the priority.
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = Some(p);
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, t: impl Into<String>) -> Self {
        self.tags.push(t.into());
        self
    }
    /// Sets the language.
    pub fn language(mut self, l: Language) -> Self {
        self.language = Some(l);
        self
    }
    /// Sets the timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// Sets the fail mode.
    pub fn fail_mode(mut self, m: FailMode) -> Self {
        self.fail_mode = m;
        self
    }
    /// Runs only for components named `name`, or matching it as a glob
    /// (`web_*`) when it holds `*`, `?`, `[` or `{`.
    pub fn component(mut self, name: impl Into<String>) -> Self {
        self.component = Some(name.into());
        self
    }
    /// Checks the options: breaker settings, and the component glob.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] naming the bad setting.
    pub fn validate(&self) -> Result<()> {
        if let Some(b) = &self.breaker {
            b.validate()?;
        }
        if let Some(c) = &self.component {
            if c.is_empty() {
                return Err(crate::Error::InvalidConfig {
                    field: "component",
                    message: "the component name is empty".into(),
                });
            }
            if is_glob(c)
                && let Err(e) = globset::Glob::new(c)
            {
                return Err(crate::Error::InvalidConfig {
                    field: "component",
                    message: format!("{c:?} is not a valid glob: {e}"),
                });
            }
        }
        Ok(())
    }

    /// Runs after the hooks named `name` at the same point (whatever their
    /// priority). Hooks are ordered by dependencies, then priority, then
    /// registration; a cycle or a missing hook is refused at registration.
    pub fn after(mut self, name: impl Into<String>) -> Self {
        self.after.push(name.into());
        self
    }

    /// Runs before the hooks named `name` at the same point.
    pub fn before(mut self, name: impl Into<String>) -> Self {
        self.before.push(name.into());
        self
    }

    /// Lets `after` and `before` name hooks that are not registered.
    pub fn optional_dependencies(mut self, on: bool) -> Self {
        self.optional_dependencies = on;
        self
    }

    /// Sets the breaker settings.
    pub fn breaker(mut self, c: BreakerConfig) -> Self {
        self.breaker = Some(c);
        self
    }
    /// Sets the slow-call budget.
    pub fn slow_budget(mut self, d: Duration) -> Self {
        self.slow_budget = Some(d);
        self
    }
}

/// A registered hook with its breaker and counters.
pub(crate) struct HookEntry {
    pub(crate) id: HookId,
    pub(crate) point: HookPoint,
    pub(crate) hook: Arc<dyn Hook>,
    pub(crate) replay: Option<Arc<dyn ReplayableHook>>,
    pub(crate) meta: HookMetadata,
    pub(crate) component: Option<Arc<str>>,
    /// [`component_hash`] of `component`: a firing compares hashes first,
    /// so passing over hooks of other components costs no string compare.
    pub(crate) component_hash: u64,
    /// The matcher of `component` when it is a glob (checked at
    /// registration, so a glob here always compiled).
    pub(crate) component_glob: Option<globset::GlobMatcher>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) fail_mode: FailMode,
    pub(crate) slow_budget: Option<Duration>,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) stats: HookStats,
    pub(crate) enabled: AtomicBool,
    pub(crate) seq: u64,
    /// The hooks it runs after and before, by name.
    pub(crate) dependencies: crate::dependencies::Dependencies,
    /// Its name, shared by the trace firings that name it.
    pub(crate) trace_name: Arc<str>,
}

impl HookEntry {
    pub(crate) fn info(&self) -> HookInfo {
        HookInfo {
            id: self.id,
            name: self.meta.name.clone(),
            point: self.point.clone(),
            priority: self.meta.priority,
            language: self.meta.language,
            tags: self.meta.tags.clone(),
            component: self.component.as_deref().map(str::to_owned),
            description: self.meta.description.clone(),
            fail_mode: self.fail_mode,
            enabled: self.enabled.load(Ordering::Relaxed),
            breaker: self.breaker.state(),
        }
    }

    pub(crate) fn performance(&self) -> HookPerformance {
        HookPerformance {
            id: self.id,
            name: self.meta.name.clone(),
            point: self.point.clone(),
            breaker: self.breaker.state(),
            latency: self.stats.snapshot(),
        }
    }
}

/// A registered hook as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookInfo {
    /// Its id.
    pub id: HookId,
    /// Its name.
    pub name: String,
    /// Its point.
    pub point: HookPoint,
    /// Its priority.
    pub priority: Priority,
    /// Its language.
    pub language: Language,
    /// Its tags.
    pub tags: Vec<String>,
    /// The component it is limited to, if any.
    pub component: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Its fail mode.
    pub fail_mode: FailMode,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Its breaker's state.
    pub breaker: BreakerState,
}

/// Selects hooks in [`HookRegistry::list`]. Every set condition must hold.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HookFilter {
    /// Only this point.
    pub point: Option<HookPoint>,
    /// Only this language.
    pub language: Option<Language>,
    /// Only hooks with this tag.
    pub tag: Option<String>,
    /// Only hooks with this name.
    pub name: Option<String>,
    /// Only hooks limited to this component.
    pub component: Option<String>,
    /// Only hooks of this priority.
    pub priority: Option<Priority>,
}

impl HookFilter {
    /// Every hook.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only `point`.
    pub fn point(mut self, p: HookPoint) -> Self {
        self.point = Some(p);
        self
    }
    /// Only `language`.
    pub fn language(mut self, l: Language) -> Self {
        self.language = Some(l);
        self
    }
    /// Only hooks tagged `t`.
    pub fn tag(mut self, t: impl Into<String>) -> Self {
        self.tag = Some(t.into());
        self
    }
    /// Only hooks named `n`.
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.name = Some(n.into());
        self
    }
    /// Only hooks limited to component `c`.
    pub fn component(mut self, c: impl Into<String>) -> Self {
        self.component = Some(c.into());
        self
    }
    /// Only hooks of priority `p`.
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = Some(p);
        self
    }

    fn accepts(&self, e: &HookEntry) -> bool {
        self.point.as_ref().is_none_or(|p| *p == e.point)
            && self.language.is_none_or(|l| l == e.meta.language)
            && self
                .tag
                .as_ref()
                .is_none_or(|t| e.meta.tags.iter().any(|x| x == t))
            && self.name.as_ref().is_none_or(|n| *n == e.meta.name)
            && self
                .component
                .as_ref()
                .is_none_or(|c| e.component.as_deref() == Some(c.as_str()))
            && self.priority.is_none_or(|p| p == e.meta.priority)
    }
}

/// Whether a component filter is a glob rather than a name.
fn is_glob(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

/// The matcher of a component glob; `None` for a plain name or a glob that
/// does not compile (refused by [`HookOptions::validate`]).
fn component_glob(component: &str) -> Option<globset::GlobMatcher> {
    is_glob(component)
        .then(|| globset::Glob::new(component).ok())
        .flatten()
        .map(|g| g.compile_matcher())
}

/// The hash a hook limited to a component is filed under (fixed seed, so
/// the same in every registry).
pub(crate) fn component_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6c6c_6d73_7065_6c6c).hash_one(name)
}

pub(crate) type List = HookList;
pub(crate) type Snapshot = Arc<List>;
type CustomMap = HashMap<Arc<str>, Snapshot, foldhash::fast::RandomState>;

struct Writer {
    points: HashMap<HookId, HookPoint>,
    seq: u64,
}

pub(crate) struct Shared {
    builtin: Box<[ArcSwap<List>]>,
    /// Custom points by name (hashed with foldhash: looked up per firing).
    custom: ArcSwap<CustomMap>,
    /// Bit i set: built-in point i has hooks (the empty-point fast path).
    mask: AtomicU64,
    custom_hooks: AtomicUsize,
    writer: Mutex<Writer>,
    next_id: AtomicU64,
}

/// Hooks by point.
///
/// Each point keeps an immutable, priority-sorted snapshot (highest
/// priority first; equal priorities in registration order). Firing a point
/// loads its snapshot without locks; registering or unregistering builds a
/// new snapshot and swaps it in (copy-on-write), so a firing in progress
/// keeps the list it started with. A point with no hooks is recognised by
/// one atomic load. Cloning the registry is cheap and shares it.
///
/// ```
/// use llmspell_hooks::{HookPoint, HookRegistry, HookResult, sync_hook_fn};
///
/// let registry = HookRegistry::new();
/// let handle = registry.register(HookPoint::BeforeToolExecution, sync_hook_fn(|_| Ok(HookResult::Continue)));
/// assert!(registry.has_hooks(&HookPoint::BeforeToolExecution));
/// assert!(handle.unregister());
/// assert!(!registry.has_hooks(&HookPoint::BeforeToolExecution));
/// ```
#[derive(Clone)]
pub struct HookRegistry {
    shared: Arc<Shared>,
}

impl Default for HookRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl HookRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        let builtin = (0..HookPoint::COUNT)
            .map(|_| ArcSwap::from_pointee(List::default()))
            .collect();
        Self {
            shared: Arc::new(Shared {
                builtin,
                custom: ArcSwap::from_pointee(CustomMap::default()),
                mask: AtomicU64::new(0),
                custom_hooks: AtomicUsize::new(0),
                writer: Mutex::new(Writer {
                    points: HashMap::new(),
                    seq: 0,
                }),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Whether `point` has any hook. One atomic load for built-in points.
    #[inline]
    pub fn has_hooks(&self, point: &HookPoint) -> bool {
        match point.index() {
            Some(i) => self.shared.mask.load(Ordering::Acquire) & (1u64 << i) != 0,
            None => {
                self.shared.custom_hooks.load(Ordering::Acquire) > 0
                    && !self.snapshot(point).is_empty()
            }
        }
    }

    /// The actions the hooks of `point` may return, by their declarations
    /// ([`HookMetadata::returns`](crate::HookMetadata::returns)); none when
    /// the point has no hooks.
    pub fn may_return(&self, point: &HookPoint) -> ActionSet {
        if !self.has_hooks(point) {
            return ActionSet::NONE;
        }
        self.firing_snapshot(point).returns()
    }

    pub(crate) fn snapshot(&self, point: &HookPoint) -> Snapshot {
        match (point.index(), point) {
            (Some(i), _) => self.shared.builtin[i].load_full(),
            (None, HookPoint::Custom(name)) => self
                .shared
                .custom
                .load()
                .get(name)
                .cloned()
                .unwrap_or_default(),
            (None, _) => Snapshot::default(),
        }
    }

    /// The hooks of `point` for one firing: as [`snapshot`](Self::snapshot),
    /// but a built-in point's list is borrowed under an `arc-swap` guard
    /// instead of having its reference count raised and lowered (two atomic
    /// read-modify-writes fewer per firing). Registering while a guard is out
    /// stays correct: the writer takes over the guard's reference.
    pub(crate) fn firing_snapshot(&self, point: &HookPoint) -> arc_swap::Guard<Snapshot> {
        match point.index() {
            Some(i) => self.shared.builtin[i].load(),
            None => arc_swap::Guard::from_inner(self.snapshot(point)),
        }
    }

    fn store(&self, point: &HookPoint, list: List) {
        match (point.index(), point) {
            (Some(i), _) => {
                let bit = 1u64 << i;
                if list.is_empty() {
                    self.shared.mask.fetch_and(!bit, Ordering::AcqRel);
                } else {
                    self.shared.mask.fetch_or(bit, Ordering::AcqRel);
                }
                self.shared.builtin[i].store(Arc::new(list));
            }
            (None, HookPoint::Custom(name)) => {
                let mut map = CustomMap::clone(&self.shared.custom.load());
                if list.is_empty() {
                    map.remove(name);
                } else {
                    map.insert(name.clone(), Arc::new(list));
                }
                let total = map.values().map(|v| v.len()).sum();
                self.shared.custom.store(Arc::new(map));
                self.shared.custom_hooks.store(total, Ordering::Release);
            }
            (None, _) => {}
        }
    }

    /// Registers `hook` at `point` with its own metadata and default options.
    /// Dropping the returned handle unregisters the hook; call
    /// [`HookHandle::forget`] to keep it.
    pub fn register(&self, point: HookPoint, hook: impl Hook + 'static) -> HookHandle {
        self.register_arc(point, Arc::new(hook), HookOptions::default())
    }

    /// Registers with options.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for invalid breaker settings or a
    /// component glob that does not parse.
    pub fn register_with(
        &self,
        point: HookPoint,
        hook: Arc<dyn Hook>,
        options: HookOptions,
    ) -> Result<HookHandle> {
        options.validate()?;
        let mut handles = self.insert(vec![(point, hook, None, options)], true)?;
        Ok(handles.remove(0))
    }

    /// Registers a replayable hook: its executions can be recorded and replayed.
    ///
    /// # Errors
    /// As [`register_with`](HookRegistry::register_with).
    pub fn register_replayable(
        &self,
        point: HookPoint,
        hook: Arc<dyn ReplayableHook>,
        options: HookOptions,
    ) -> Result<HookHandle> {
        options.validate()?;
        let as_hook: Arc<dyn Hook> = hook.clone();
        let mut handles = self.insert(vec![(point, as_hook, Some(hook), options)], true)?;
        Ok(handles.remove(0))
    }

    fn register_arc(
        &self,
        point: HookPoint,
        hook: Arc<dyn Hook>,
        options: HookOptions,
    ) -> HookHandle {
        // Unchecked: ordering never refuses it (see `insert`).
        let (mut handles, _) = self.insert_with(vec![(point, hook, None, options)], false);
        handles.remove(0)
    }

    /// Registers several hooks at once: each affected point gets one new
    /// snapshot, so a concurrent firing sees all of them or none.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] for invalid breaker settings; nothing
    /// is registered then.
    pub fn register_all(
        &self,
        hooks: impl IntoIterator<Item = Registration>,
    ) -> Result<Vec<HookHandle>> {
        let items: Vec<_> = hooks.into_iter().map(|(p, h, o)| (p, h, None, o)).collect();
        for (_, _, _, o) in &items {
            o.validate()?;
        }
        self.insert(items, true)
    }

    fn insert(&self, items: Vec<Pending>, checked: bool) -> Result<Vec<HookHandle>> {
        match self.insert_with(items, checked) {
            (_, Some(e)) => Err(e),
            (handles, None) => Ok(handles),
        }
    }

    /// Registers `items`. `checked`: dependencies that cannot be met refuse
    /// the whole batch (no handles, the error). Unchecked (a hook that
    /// declares nothing): missing hooks and optional edges that would close
    /// a cycle are ignored, and should an order still not exist the point
    /// keeps its priority order and the failure is logged; every item is
    /// registered.
    fn insert_with(
        &self,
        items: Vec<Pending>,
        checked: bool,
    ) -> (Vec<HookHandle>, Option<crate::Error>) {
        let mut writer = self.shared.writer.lock();
        let mut by_point: Vec<(HookPoint, List, bool)> = Vec::new();
        let mut added = Vec::with_capacity(items.len());
        for (point, hook, replay, options) in items {
            let mut meta = hook.metadata();
            if let Some(n) = options.name {
                meta.name = n;
            }
            if let Some(p) = options.priority {
                meta.priority = p;
            }
            if let Some(l) = options.language {
                meta.language = l;
            }
            meta.tags.extend(options.tags);
            writer.seq += 1;
            let id = HookId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
            let dependencies = crate::dependencies::Dependencies {
                after: options
                    .after
                    .iter()
                    .map(|n| Arc::from(n.as_str()))
                    .collect(),
                before: options
                    .before
                    .iter()
                    .map(|n| Arc::from(n.as_str()))
                    .collect(),
                optional: options.optional_dependencies,
            };
            let declares = !dependencies.is_empty();
            let entry = Arc::new(HookEntry {
                id,
                point: point.clone(),
                hook,
                replay,
                trace_name: Arc::from(meta.name.as_str()),
                meta,
                component_hash: options.component.as_deref().map_or(0, component_hash),
                component_glob: options.component.as_deref().and_then(component_glob),
                component: options.component.map(Arc::from),
                timeout: options.timeout,
                fail_mode: options.fail_mode,
                slow_budget: options.slow_budget,
                breaker: CircuitBreaker::with_valid(options.breaker.unwrap_or_default()),
                stats: HookStats::new(),
                enabled: AtomicBool::new(true),
                seq: writer.seq,
                dependencies,
            });
            let (list, strict) = match by_point.iter_mut().find(|(p, _, _)| *p == point) {
                Some((_, list, strict)) => (list, strict),
                None => {
                    by_point.push((point.clone(), self.snapshot(&point).as_ref().clone(), false));
                    let last = by_point.len() - 1;
                    let (_, list, strict) = &mut by_point[last];
                    (list, strict)
                }
            };
            *strict |= declares;
            // Highest priority first; equal priorities in registration order.
            list.insert(entry);
            added.push((id, point));
        }
        // Dependencies reorder a point's list; a registration that declares
        // them is refused (nothing registered) if they cannot be met.
        let mut ordered = Vec::with_capacity(by_point.len());
        for (point, list, strict) in by_point {
            if !list.has_dependencies() {
                ordered.push((point, list));
                continue;
            }
            let strictness = if strict && checked {
                crate::dependencies::Strictness::Register
            } else {
                crate::dependencies::Strictness::Lenient
            };
            let entries: Vec<_> = list.iter().cloned().collect();
            match crate::dependencies::order(entries, &point, strictness) {
                Ok(entries) => ordered.push((point, HookList::from_ordered(entries))),
                Err(e) if checked => return (Vec::new(), Some(e)),
                Err(e) => {
                    tracing::error!(error = %e, point = %point, "hooks kept in priority order");
                    ordered.push((point, list));
                }
            }
        }
        for (id, point) in &added {
            writer.points.insert(*id, point.clone());
        }
        for (point, list) in ordered {
            self.store(&point, list);
        }
        let handles = added
            .into_iter()
            .map(|(id, point)| HookHandle {
                id,
                point,
                registry: Arc::downgrade(&self.shared),
                armed: true,
            })
            .collect();
        (handles, None)
    }

    /// Removes a hook; returns whether it was registered.
    pub fn unregister(&self, id: HookId) -> bool {
        remove(&self.shared, id)
    }

    /// The hooks matching `filter`, by point then run order.
    pub fn list(&self, filter: &HookFilter) -> Vec<HookInfo> {
        let mut out: Vec<HookInfo> = Vec::new();
        let points: Vec<HookPoint> = match &filter.point {
            Some(p) => vec![p.clone()],
            None => HookPoint::all()
                .chain(
                    self.shared
                        .custom
                        .load()
                        .keys()
                        .map(|k| HookPoint::Custom(k.clone())),
                )
                .collect(),
        };
        for p in points {
            if !self.has_hooks(&p) {
                continue;
            }
            out.extend(
                self.snapshot(&p)
                    .iter()
                    .filter(|e| filter.accepts(e))
                    .map(|e| e.info()),
            );
        }
        out
    }

    /// One hook's listing.
    pub fn get(&self, id: HookId) -> Option<HookInfo> {
        self.entry(id).map(|e| e.info())
    }

    /// The registered replayable hook whose replay id is `replay_id` (the
    /// first registered, if several share it).
    pub fn replayable(&self, replay_id: &str) -> Option<Arc<dyn ReplayableHook>> {
        self.entries()
            .iter()
            .filter_map(|e| e.replay.clone())
            .find(|h| h.replay_id() == replay_id)
    }

    pub(crate) fn entry(&self, id: HookId) -> Option<Arc<HookEntry>> {
        let point = self.shared.writer.lock().points.get(&id).cloned()?;
        self.snapshot(&point).iter().find(|e| e.id == id).cloned()
    }

    pub(crate) fn entries(&self) -> Vec<Arc<HookEntry>> {
        let mut all: Vec<Arc<HookEntry>> = HookPoint::all()
            .chain(
                self.shared
                    .custom
                    .load()
                    .keys()
                    .map(|k| HookPoint::Custom(k.clone())),
            )
            .flat_map(|p| self.snapshot(&p).iter().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|e| e.seq);
        all
    }

    /// Number of registered hooks.
    pub fn len(&self) -> usize {
        self.shared.writer.lock().points.len()
    }

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Enables or disables a hook at runtime (a disabled hook is skipped
    /// without counting); returns false if there is no such hook.
    pub fn set_enabled(&self, id: HookId, enabled: bool) -> bool {
        match self.entry(id) {
            Some(e) => {
                e.enabled.store(enabled, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Administrative control of a hook's circuit breaker.
    pub fn breaker(&self, id: HookId) -> Option<BreakerControl> {
        self.entry(id).map(|entry| BreakerControl { entry })
    }

    /// Whether two handles are the same registry.
    pub fn same_registry(&self, other: &HookRegistry) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn remove(shared: &Arc<Shared>, id: HookId) -> bool {
    let registry = HookRegistry {
        shared: shared.clone(),
    };
    let mut writer = shared.writer.lock();
    let Some(point) = writer.points.remove(&id) else {
        return false;
    };
    let mut list = registry.snapshot(&point).as_ref().clone();
    list.remove(id);
    if list.has_dependencies() {
        // A removed hook's dependents are no longer held to it.
        let entries: Vec<_> = list.iter().cloned().collect();
        if let Ok(entries) =
            crate::dependencies::order(entries, &point, crate::dependencies::Strictness::Lenient)
        {
            list = HookList::from_ordered(entries);
        }
    }
    registry.store(&point, list);
    true
}

impl fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookRegistry")
            .field("hooks", &self.len())
            .finish()
    }
}

/// Administrative access to one hook's breaker.
pub struct BreakerControl {
    entry: Arc<HookEntry>,
}

impl BreakerControl {
    /// The breaker's state.
    pub fn state(&self) -> BreakerState {
        self.entry.breaker.state()
    }
    /// Every call goes through; nothing is recorded.
    pub fn disable(&self) {
        self.entry.breaker.disable();
    }
    /// Every call is skipped.
    pub fn force_open(&self) {
        self.entry.breaker.force_open();
    }
    /// Closed, window cleared, backoff reset.
    pub fn reset(&self) {
        self.entry.breaker.reset();
    }
}

/// A registered hook. Dropping the handle unregisters the hook;
/// [`forget`](HookHandle::forget) keeps it registered for good.
#[must_use = "dropping the handle unregisters the hook; call .forget() to keep it"]
pub struct HookHandle {
    id: HookId,
    point: HookPoint,
    registry: Weak<Shared>,
    armed: bool,
}

impl HookHandle {
    /// The hook's id.
    pub fn id(&self) -> HookId {
        self.id
    }

    /// The hook's point.
    pub fn point(&self) -> &HookPoint {
        &self.point
    }

    /// Removes the hook; returns false if it was already gone.
    pub fn unregister(&self) -> bool {
        self.registry.upgrade().is_some_and(|s| remove(&s, self.id))
    }

    /// Keeps the hook registered after the handle is dropped; returns its id.
    pub fn forget(mut self) -> HookId {
        self.armed = false;
        self.id
    }
}

impl Drop for HookHandle {
    fn drop(&mut self) {
        if self.armed
            && let Some(s) = self.registry.upgrade()
        {
            remove(&s, self.id);
        }
    }
}

impl fmt::Debug for HookHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookHandle")
            .field("id", &self.id)
            .field("point", &self.point)
            .finish()
    }
}
