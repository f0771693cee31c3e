//! The segment trie that routes a topic to its subscribers.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::queue::SubscriberQueue;
use crate::topic::{PatternSegment, SegmentGlob};

/// The subscribers one event goes to, borrowed from the routing table (no
/// reference-count traffic on the queues per event). Most events have a
/// handful.
pub(crate) type Targets<'a> = SmallVec<[&'a Arc<SubscriberQueue>; 4]>;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Node {
    literal: FastMap<Box<str>, Node>,
    one: Option<Box<Node>>,
    deep: Option<Box<Node>>,
    globs: Vec<(SegmentGlob, Node)>,
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
            PatternSegment::One => self.one.get_or_insert_with(Box::default),
            PatternSegment::Deep => self.deep.get_or_insert_with(Box::default),
            PatternSegment::Glob(g) => {
                match self.globs.iter().position(|(existing, _)| existing == g) {
                    Some(i) => &mut self.globs[i].1,
                    None => {
                        self.globs.push((g.clone(), Node::default()));
                        let last = self.globs.len() - 1;
                        &mut self.globs[last].1
                    }
                }
            }
        };
        child.insert(rest, q);
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

/// Splits a topic's first segment from the rest. Topics are short and ASCII
/// (validated), so a plain byte scan beats the general `memchr` search that
/// `str::split_once` sets up for every call.
fn split_first(s: &str) -> (&str, Option<&str>) {
    match s.as_bytes().iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// An immutable routing table, rebuilt (copy-on-write) when subscriptions
/// change and loaded without locks by publishers.
#[derive(Default)]
pub(crate) struct Router {
    root: Node,
    len: usize,
    /// Whether some pattern has two or more `**`: only such a pattern can
    /// reach its subscription along several paths (one `**` consumes the
    /// one number of segments that the rest of its pattern leaves).
    multi_deep: bool,
}

impl Router {
    pub(crate) fn build<'a>(subs: impl IntoIterator<Item = &'a Arc<SubscriberQueue>>) -> Self {
        let mut router = Router::default();
        for q in subs {
            let compiled = q.pattern.compiled();
            router.multi_deep |= compiled
                .iter()
                .filter(|s| matches!(s, PatternSegment::Deep))
                .count()
                > 1;
            router.root.insert(compiled, q.clone());
            router.len += 1;
        }
        router
    }

    /// Every subscription whose pattern matches `topic`, each once.
    pub(crate) fn route<'a>(&'a self, topic: &str, out: &mut Targets<'a>) {
        if self.len == 0 {
            return;
        }
        self.root.collect(Some(topic), out);
        if self.multi_deep && out.len() > 1 {
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
