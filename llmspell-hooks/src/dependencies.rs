//! Ordering a point's hooks by the dependencies they declare (`after`,
//! `before` other hooks, by name), then by priority, then by registration.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use crate::registry::HookEntry;
use crate::{Error, HookPoint, Result};

/// The hooks a registration says it runs after and before, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dependencies {
    /// Names of hooks this one runs after.
    pub(crate) after: Vec<Arc<str>>,
    /// Names of hooks this one runs before.
    pub(crate) before: Vec<Arc<str>>,
    /// Whether a named hook that is not registered is allowed (the
    /// dependency then does nothing).
    pub(crate) optional: bool,
}

impl Dependencies {
    pub(crate) fn is_empty(&self) -> bool {
        self.after.is_empty() && self.before.is_empty()
    }
}

/// How strictly [`order`] treats dependencies it cannot satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// A registration: a required dependency on a missing hook, or a
    /// cycle, is an error.
    Register,
    /// A removal or a registration that declares nothing: dependencies on
    /// missing hooks do nothing, and optional dependencies that would close
    /// a cycle are dropped (a required cycle cannot arise then).
    Lenient,
}

/// `entries` (one point's hooks) in run order: every hook after the hooks
/// it runs after and before those it runs before; among hooks free to run,
/// higher priority first, then earlier registration.
///
/// # Errors
/// With [`Strictness::Register`]: [`Error::InvalidConfig`] naming the hook
/// and the missing hook it depends on (and the hooks registered at the
/// point), or the hooks of a dependency cycle.
pub(crate) fn order(
    entries: Vec<Arc<HookEntry>>,
    point: &HookPoint,
    strictness: Strictness,
) -> Result<Vec<Arc<HookEntry>>> {
    if entries.iter().all(|e| e.dependencies.is_empty()) {
        return Ok(entries);
    }
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_name.entry(e.meta.name.as_str()).or_default().push(i);
    }
    // Edges first → then, required and optional apart.
    let mut required = Vec::new();
    let mut optional = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let deps = &e.dependencies;
        let named = |name: &Arc<str>| -> Result<&[usize]> {
            match by_name.get(&**name) {
                Some(ids) => Ok(ids.as_slice()),
                None if deps.optional || strictness == Strictness::Lenient => Ok(&[]),
                None => {
                    let registered: BTreeSet<&str> = by_name.keys().copied().collect();
                    Err(Error::InvalidConfig {
                        field: "dependencies",
                        message: format!(
                            "hook {:?} depends on {name:?}, but no hook of that name is \
                             registered at {point} (registered: {}); register it first or mark \
                             the dependency optional",
                            e.meta.name,
                            registered.into_iter().collect::<Vec<_>>().join(", ")
                        ),
                    })
                }
            }
        };
        let edges = if deps.optional {
            &mut optional
        } else {
            &mut required
        };
        for name in &deps.after {
            for &j in named(name)? {
                if j != i {
                    edges.push((j, i));
                }
            }
        }
        for name in &deps.before {
            for &j in named(name)? {
                if j != i {
                    edges.push((i, j));
                }
            }
        }
    }
    let mut all = required.clone();
    all.extend(optional.iter().copied());
    match sort(&entries, &all) {
        Ok(order) => Ok(order),
        Err(cycle) if strictness == Strictness::Lenient => {
            sort(&entries, &required).map_err(|_| cycle_error(&entries, &cycle, point))
        }
        Err(cycle) => Err(cycle_error(&entries, &cycle, point)),
    }
}

/// Kahn's algorithm with the ready hooks taken by priority, then
/// registration. The hooks left over when it stalls are in or behind a
/// cycle.
fn sort(
    entries: &[Arc<HookEntry>],
    edges: &[(usize, usize)],
) -> std::result::Result<Vec<Arc<HookEntry>>, Vec<usize>> {
    let n = entries.len();
    let mut incoming = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        out[a].push(b);
        incoming[b] += 1;
    }
    let key = |i: usize| {
        (
            entries[i].meta.priority,
            Reverse(entries[i].seq),
            Reverse(i),
        )
    };
    let mut ready: BinaryHeap<_> = (0..n).filter(|&i| incoming[i] == 0).map(key).collect();
    let mut ordered = Vec::with_capacity(n);
    while let Some((_, _, Reverse(i))) = ready.pop() {
        ordered.push(entries[i].clone());
        for &j in &out[i] {
            incoming[j] -= 1;
            if incoming[j] == 0 {
                ready.push(key(j));
            }
        }
    }
    if ordered.len() == n {
        Ok(ordered)
    } else {
        Err((0..n).filter(|&i| incoming[i] > 0).collect())
    }
}

fn cycle_error(entries: &[Arc<HookEntry>], stuck: &[usize], point: &HookPoint) -> Error {
    let names: BTreeSet<&str> = stuck
        .iter()
        .map(|&i| entries[i].meta.name.as_str())
        .collect();
    Error::InvalidConfig {
        field: "dependencies",
        message: format!(
            "the dependencies of hooks {} at {point} form a cycle (or depend on one): no order \
             runs each after the hooks it names",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
