//! The segment trie that routes a topic to its subscribers.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::queue::SubscriberQueue;
use crate::subscription::SubscriptionId;
use crate::topic::{PatternSegment, SegmentGlob};

/// The subscribers one event goes to, borrowed from the routing table (no
/// reference-count traffic on the queues per event). Most events have a
/// handful.
pub(crate) type Targets<'a> = SmallVec<[&'a Arc<SubscriberQueue>; 4]>;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A node of the trie. Children are shared (`Arc`): a change copies the
/// nodes on its pattern's path and shares the rest with the table it
/// replaces, so subscribing costs the length of the path, not the size of
/// the table.
#[derive(Default, Clone)]
struct Node {
    literal: FastMap<Box<str>, Arc<Node>>,
    one: Option<Arc<Node>>,
    deep: Option<Arc<Node>>,
    globs: Vec<(SegmentGlob, Arc<Node>)>,
    subs: Vec<Arc<SubscriberQueue>>,
}

impl Node {
    fn insert(&mut self, pattern: &[PatternSegment], q: Arc<SubscriberQueue>) {
        let Some((seg, rest)) = pattern.split_first() else {
            self.subs.push(q);
            return;
        };
        let child = match seg {
            PatternSegment::Literal(l) => self.literal.entry(l.clone()).or_default(),
            PatternSegment::One => self.one.get_or_insert_with(Arc::default),
            PatternSegment::Deep => self.deep.get_or_insert_with(Arc::default),
            PatternSegment::Glob(g) => {
                match self.globs.iter().position(|(existing, _)| existing == g) {
                    Some(i) => &mut self.globs[i].1,
                    None => {
                        self.globs.push((g.clone(), Arc::default()));
                        let last = self.globs.len() - 1;
                        &mut self.globs[last].1
                    }
                }
            }
        };
        Arc::make_mut(child).insert(rest, q);
    }

    /// Removes subscription `id` from the end of `pattern`'s path, and the
    /// nodes left empty; returns whether it was there.
    fn remove(&mut self, pattern: &[PatternSegment], id: SubscriptionId) -> bool {
        let Some((seg, rest)) = pattern.split_first() else {
            let before = self.subs.len();
            self.subs.retain(|q| q.id != id);
            return self.subs.len() != before;
        };
        let (removed, empty) = match seg {
            PatternSegment::Literal(l) => match self.literal.get_mut(l) {
                Some(child) => remove_below(child, rest, id),
                None => (false, false),
            },
            PatternSegment::One => match &mut self.one {
                Some(child) => remove_below(child, rest, id),
                None => (false, false),
            },
            PatternSegment::Deep => match &mut self.deep {
                Some(child) => remove_below(child, rest, id),
                None => (false, false),
            },
            PatternSegment::Glob(g) => match self.globs.iter_mut().find(|(e, _)| e == g) {
                Some((_, child)) => remove_below(child, rest, id),
                None => (false, false),
            },
        };
        if empty {
            match seg {
                PatternSegment::Literal(l) => {
                    self.literal.remove(l);
                }
                PatternSegment::One => self.one = None,
                PatternSegment::Deep => self.deep = None,
                PatternSegment::Glob(g) => self.globs.retain(|(e, _)| e != g),
            }
        }
        removed
    }

    fn is_empty(&self) -> bool {
        self.subs.is_empty()
            && self.literal.is_empty()
            && self.one.is_none()
            && self.deep.is_none()
            && self.globs.is_empty()
    }

    /// Collects the subscriptions matching the remaining segments (`None`
    /// once every segment is consumed).
    fn collect<'a>(&'a self, rest: Option<&str>, out: &mut Targets<'a>) {
        if let Some(deep) = &self.deep {
            // `**` consumes zero or more segments.
            let mut r = rest;
            loop {
                deep.collect(r, out);
                match r {
                    Some(s) => r = split_first(s).1,
                    None => break,
                }
            }
        }
        let Some(s) = rest else {
            out.extend(self.subs.iter());
            return;
        };
        let (first, tail) = split_first(s);
        if let Some(child) = self.literal.get(first) {
            child.collect(tail, out);
        }
        if let Some(one) = &self.one {
            one.collect(tail, out);
        }
        for (glob, child) in &self.globs {
            if glob.matches(first) {
                child.collect(tail, out);
            }
        }
    }

    fn any(&self, rest: Option<&str>) -> bool {
        if let Some(deep) = &self.deep {
            let mut r = rest;
            loop {
                if deep.any(r) {
                    return true;
                }
                match r {
                    Some(s) => r = split_first(s).1,
                    None => break,
                }
            }
        }
        let Some(s) = rest else {
            return !self.subs.is_empty();
        };
        let (first, tail) = split_first(s);
        self.literal.get(first).is_some_and(|c| c.any(tail))
            || self.one.as_ref().is_some_and(|c| c.any(tail))
            || self
                .globs
                .iter()
                .any(|(g, c)| g.matches(first) && c.any(tail))
    }
}

/// Removes `id` below `child` (copying it if shared); returns whether it
/// was there and whether `child` is left empty.
fn remove_below(
    child: &mut Arc<Node>,
    rest: &[PatternSegment],
    id: SubscriptionId,
) -> (bool, bool) {
    let node = Arc::make_mut(child);
    let removed = node.remove(rest, id);
    (removed, node.is_empty())
}

/// Splits a topic's first segment from the rest. Topics are short and ASCII
/// (validated), so a plain byte scan beats the general `memchr` search that
/// `str::split_once` sets up for every call.
fn split_first(s: &str) -> (&str, Option<&str>) {
    match s.as_bytes().iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// An immutable routing table, replaced (copy-on-write) when subscriptions
/// change and loaded without locks by publishers. A change copies only the
/// nodes on its pattern's path ([`with`](Router::with),
/// [`without`](Router::without)).
#[derive(Default, Clone)]
pub(crate) struct Router {
    root: Node,
    len: usize,
    /// How many patterns have two or more `**`: only such a pattern can
    /// reach its subscription along several paths (one `**` consumes the
    /// one number of segments that the rest of its pattern leaves).
    multi_deep: usize,
}

fn is_multi_deep(pattern: &[PatternSegment]) -> bool {
    pattern
        .iter()
        .filter(|s| matches!(s, PatternSegment::Deep))
        .count()
        > 1
}

impl Router {
    /// This table with subscription `q` added.
    pub(crate) fn with(&self, q: Arc<SubscriberQueue>) -> Self {
        let mut next = self.clone();
        let compiled = q.pattern.compiled();
        next.multi_deep += usize::from(is_multi_deep(compiled));
        next.root.insert(compiled, q.clone());
        next.len += 1;
        next
    }

    /// This table without subscription `q` (itself when `q` is not in it).
    pub(crate) fn without(&self, q: &SubscriberQueue) -> Self {
        let mut next = self.clone();
        let compiled = q.pattern.compiled();
        if next.root.remove(compiled, q.id) {
            next.multi_deep -= usize::from(is_multi_deep(compiled));
            next.len -= 1;
        }
        next
    }

    /// Every subscription whose pattern matches `topic`, each once.
    pub(crate) fn route<'a>(&'a self, topic: &str, out: &mut Targets<'a>) {
        if self.len == 0 {
            return;
        }
        self.root.collect(Some(topic), out);
        if self.multi_deep > 0 && out.len() > 1 {
            // Two `**` in one pattern can reach its subscription twice.
            out.sort_unstable_by_key(|q| q.id);
            out.dedup_by_key(|q| q.id);
        }
    }

    /// Whether any subscription matches `topic`.
    pub(crate) fn any(&self, topic: &str) -> bool {
        if self.len == 0 {
            return false;
        }
        self.root.any(Some(topic))
    }
}
