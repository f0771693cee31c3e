//! Per-component hook time: what each component's hooks cost per call, and
//! budgets that keep one component's hooks from taking more than their
//! share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use llmspell_core::{ComponentId, ComponentType};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What happens when a call's hooks take longer than its component's
/// [`ComponentBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPolicy {
    /// Only report it (`PerformanceThresholdExceeded`, and the figures).
    #[default]
    Report,
    /// Report it, and run only the fail-closed hooks for the rest of the
    /// call: the fail-open ones (observers, caches, logs) are skipped.
    SkipFailOpen,
    /// Report it, and fail the call with `ResourceLimitExceeded` (resource
    /// `hook_time`).
    Refuse,
}

/// A budget of hook time per call for the components it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentBudget {
    /// A component name or a glob (`web_*`).
    pub component: String,
    /// Only components of this kind (default: any).
    pub kind: Option<ComponentType>,
    /// The hook time one call may take, across its Before, After and Error
    /// points and its attempts.
    pub per_call: Duration,
    /// What happens past it.
    pub policy: BudgetPolicy,
}

impl ComponentBudget {
    /// A budget of `per_call` for `component` (a name or a glob), any kind,
    /// reporting only.
    pub fn new(component: impl Into<String>, per_call: Duration) -> Self {
        Self {
            component: component.into(),
            kind: None,
            per_call,
            policy: BudgetPolicy::Report,
        }
    }

    /// Only components of `kind`.
    #[must_use]
    pub fn kind(mut self, kind: ComponentType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// What happens past the budget.
    #[must_use]
    pub fn policy(mut self, policy: BudgetPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// One component's hook time so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentHookStats {
    /// The component's kind.
    pub kind: ComponentType,
    /// Its name (for a kind total: `*`).
    pub name: String,
    /// Guarded calls in which hooks ran.
    pub calls: u64,
    /// Hook time over those calls, in nanoseconds.
    pub hook_ns: u64,
    /// The most hook time of one call, in nanoseconds.
    pub max_ns: u64,
    /// Calls whose hooks went over the component's budget.
    pub over_budget: u64,
}

#[derive(Default)]
struct Totals {
    calls: AtomicU64,
    hook_ns: AtomicU64,
    max_ns: AtomicU64,
    over_budget: AtomicU64,
}

struct Compiled {
    budget: ComponentBudget,
    glob: globset::GlobMatcher,
}

/// Each component's figures, by name then kind.
type TotalsByName =
    DashMap<Arc<str>, Vec<(ComponentType, Arc<Totals>)>, foldhash::fast::RandomState>;

/// The budgets and figures a runner and its clones share.
#[derive(Default)]
pub(crate) struct Isolation {
    budgets: ArcSwap<Vec<Arc<Compiled>>>,
    /// By name, then kind (few per name): found with the borrowed name,
    /// so counting a call clones nothing (foldhash: looked up per call).
    totals: TotalsByName,
}

impl Isolation {
    /// Sets `budget`, replacing one for the same component and kind.
    pub(crate) fn set(&self, budget: ComponentBudget) -> Result<()> {
        if budget.per_call.is_zero() {
            return Err(Error::InvalidConfig {
                field: "per_call",
                message: "a hook time budget must be more than zero".into(),
            });
        }
        let glob = globset::Glob::new(&budget.component).map_err(|e| Error::InvalidConfig {
            field: "component",
            message: format!("{:?} is not a name or a valid glob: {e}", budget.component),
        })?;
        let compiled = Arc::new(Compiled {
            glob: glob.compile_matcher(),
            budget,
        });
        self.budgets.rcu(|old| {
            let mut v: Vec<Arc<Compiled>> = old
                .iter()
                .filter(|c| {
                    c.budget.component != compiled.budget.component
                        || c.budget.kind != compiled.budget.kind
                })
                .cloned()
                .collect();
            v.push(compiled.clone());
            v
        });
        Ok(())
    }

    /// Removes the budgets for `component` of `kind` (`None`: of any kind);
    /// whether there was one.
    pub(crate) fn remove(&self, component: &str, kind: Option<ComponentType>) -> bool {
        let mut removed = false;
        self.budgets.rcu(|old| {
            let v: Vec<Arc<Compiled>> = old
                .iter()
                .filter(|c| {
                    c.budget.component != component
                        || kind.is_some_and(|k| c.budget.kind != Some(k))
                })
                .cloned()
                .collect();
            removed = v.len() != old.len();
            v
        });
        removed
    }

    pub(crate) fn budgets(&self) -> Vec<ComponentBudget> {
        self.budgets
            .load()
            .iter()
            .map(|c| c.budget.clone())
            .collect()
    }

    /// The budget of `component` (the most recently set that matches).
    pub(crate) fn budget_of(&self, component: &ComponentId) -> Option<ComponentBudget> {
        let budgets = self.budgets.load();
        if budgets.is_empty() {
            return None;
        }
        budgets
            .iter()
            .rev()
            .find(|c| {
                c.budget.kind.is_none_or(|k| k == component.kind)
                    && c.glob.is_match(&*component.name)
            })
            .map(|c| c.budget.clone())
    }

    /// Counts a call whose hooks took `hook_time`.
    pub(crate) fn record(&self, component: &ComponentId, hook_time: Duration, over: bool) {
        let ns = u64::try_from(hook_time.as_nanos()).unwrap_or(u64::MAX);
        let found = self.totals.get(&*component.name).and_then(|kinds| {
            kinds
                .iter()
                .find(|(k, _)| *k == component.kind)
                .map(|(_, t)| t.clone())
        });
        let totals = match found {
            Some(t) => t,
            None => {
                let mut kinds = self.totals.entry(component.name.clone()).or_default();
                match kinds.iter().find(|(k, _)| *k == component.kind) {
                    Some((_, t)) => t.clone(),
                    None => {
                        let t = Arc::new(Totals::default());
                        kinds.push((component.kind, t.clone()));
                        t
                    }
                }
            }
        };
        totals.calls.fetch_add(1, Ordering::Relaxed);
        totals.hook_ns.fetch_add(ns, Ordering::Relaxed);
        totals.max_ns.fetch_max(ns, Ordering::Relaxed);
        if over {
            totals.over_budget.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every component's figures, by kind then name, and a total per kind
    /// (name `*`) after each kind's components.
    pub(crate) fn stats(&self) -> Vec<ComponentHookStats> {
        let mut rows: Vec<ComponentHookStats> = self
            .totals
            .iter()
            .flat_map(|e| {
                let name = e.key().to_string();
                e.value()
                    .iter()
                    .map(|(kind, t)| ComponentHookStats {
                        kind: *kind,
                        name: name.clone(),
                        calls: t.calls.load(Ordering::Relaxed),
                        hook_ns: t.hook_ns.load(Ordering::Relaxed),
                        max_ns: t.max_ns.load(Ordering::Relaxed),
                        over_budget: t.over_budget.load(Ordering::Relaxed),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort_by(|a, b| (a.kind.as_str(), &a.name).cmp(&(b.kind.as_str(), &b.name)));
        let mut out = Vec::with_capacity(rows.len() + 5);
        for chunk in rows.chunk_by(|a, b| a.kind == b.kind) {
            out.extend(chunk.iter().cloned());
            out.push(ComponentHookStats {
                kind: chunk[0].kind,
                name: "*".to_owned(),
                calls: chunk.iter().map(|r| r.calls).sum(),
                hook_ns: chunk.iter().map(|r| r.hook_ns).sum(),
                max_ns: chunk.iter().map(|r| r.max_ns).max().unwrap_or(0),
                over_budget: chunk.iter().map(|r| r.over_budget).sum(),
            });
        }
        out
    }
}
