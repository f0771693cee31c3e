//! Ordered scans.

use std::ops::Bound;

/// A scan over keys in byte order.
///
/// A scan selects keys that start with `prefix`, are `>= start` (if set) and
/// `< end` (if set); it returns them ascending (or descending with
/// [`reverse`](Scan::reverse)), at most `limit` of them.
///
/// ```
/// use llmspell_storage::Scan;
/// let s = Scan::prefix("events/").start("events/0005").limit(10).reverse();
/// assert_eq!(s.limit, Some(10));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Scan {
    /// Keys must start with this (empty: every key).
    pub prefix: String,
    /// Inclusive lower bound.
    pub start: Option<String>,
    /// Exclusive upper bound.
    pub end: Option<String>,
    /// At most this many entries.
    pub limit: Option<usize>,
    /// Descending order when true.
    pub reverse: bool,
}

impl Scan {
    /// Every key.
    pub fn all() -> Self {
        Self::default()
    }

    /// Keys starting with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            ..Self::default()
        }
    }

    /// Only keys `>= start`.
    pub fn start(mut self, start: impl Into<String>) -> Self {
        self.start = Some(start.into());
        self
    }

    /// Only keys `< end`.
    pub fn end(mut self, end: impl Into<String>) -> Self {
        self.end = Some(end.into());
        self
    }

    /// At most `n` entries.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Descending key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// The byte range this scan covers, for backends with ordered ranges.
    pub fn byte_bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let prefix = self.prefix.as_bytes();
        let lower = match &self.start {
            Some(s) if s.as_bytes() > prefix => Bound::Included(s.as_bytes().to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        let prefix_end = prefix_successor(prefix);
        let upper = match (&self.end, prefix_end) {
            (Some(e), Some(p)) => Bound::Excluded(std::cmp::min(e.as_bytes().to_vec(), p)),
            (Some(e), None) => Bound::Excluded(e.as_bytes().to_vec()),
            (None, Some(p)) => Bound::Excluded(p),
            (None, None) => Bound::Unbounded,
        };
        (lower, upper)
    }

    /// Whether the range is empty before touching any data.
    pub(crate) fn is_trivially_empty(&self) -> bool {
        if self.limit == Some(0) {
            return true;
        }
        match self.byte_bounds() {
            (Bound::Included(lo), Bound::Excluded(hi)) => lo >= hi,
            _ => false,
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`,
/// or `None` when there is none (empty prefix or all `0xff`).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_increments_last_byte() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn bounds_intersect_prefix_and_range() {
        let s = Scan::prefix("e/").start("e/5").end("f");
        assert_eq!(
            s.byte_bounds(),
            (
                Bound::Included(b"e/5".to_vec()),
                Bound::Excluded(b"e0".to_vec())
            )
        );
        assert!(Scan::prefix("b").start("c").is_trivially_empty());
        assert!(Scan::all().limit(0).is_trivially_empty());
    }
}
