//! Topics and topic patterns, validated once at construction.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

const SEGMENT_RULE: &str =
    "topics are dot-separated, non-empty segments of letters, digits, '_', ':' and '-'";
const PATTERN_RULE: &str = "patterns are dot-separated, non-empty segments of letters, digits, \
     '_', ':', '-' and '*'; '*' alone matches one segment, '**' any number, a trailing '>' one or more";

fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-')
}

/// An event topic such as `tool.calculator.completed`.
///
/// A topic is one or more dot-separated segments of `[A-Za-z0-9_:-]`. It is
/// validated once when built; cloning is cheap (the text is shared).
///
/// ```
/// use llmspell_events::Topic;
/// let t = Topic::new("tool.calculator.completed")?;
/// assert_eq!(t.segments().count(), 3);
/// assert!(Topic::new("tool..completed").is_err());
/// # Ok::<(), llmspell_events::Error>(())
/// ```
#[derive(Clone)]
pub struct Topic {
    text: Arc<str>,
    /// Byte lengths of the first one and two segments (with the dot between),
    /// computed once so prefixes cost nothing on the publish path.
    prefix_lens: [u16; 2],
}

impl Topic {
    /// Validates and builds a topic.
    ///
    /// # Errors
    /// [`Error::InvalidTopic`] naming the offending segment.
    pub fn new(topic: impl AsRef<str>) -> Result<Self> {
        let s = topic.as_ref();
        validate_topic(s)?;
        Ok(Topic::from_valid(Arc::from(s)))
    }

    fn from_valid(text: Arc<str>) -> Self {
        let mut prefix_lens = [text.len().min(u16::MAX as usize) as u16; 2];
        let mut dots = 0;
        for (i, b) in text.bytes().enumerate() {
            if b == b'.' {
                if let Some(slot) = prefix_lens.get_mut(dots) {
                    *slot = i.min(u16::MAX as usize) as u16;
                }
                dots += 1;
                if dots == 2 {
                    break;
                }
            }
        }
        Topic { text, prefix_lens }
    }

    /// The topic text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments, in order.
    pub fn segments(&self) -> std::str::Split<'_, char> {
        self.text.split('.')
    }

    /// The first segment (`"tool"` for `tool.calculator.completed`).
    pub fn root(&self) -> &str {
        self.prefix(1)
    }

    /// The first `depth` segments (`prefix(2)` of `tool.calculator.completed`
    /// is `tool.calculator`); the whole topic if it has fewer.
    pub fn prefix(&self, depth: usize) -> &str {
        match depth {
            0 => "",
            1 | 2 => self
                .text
                .get(..self.prefix_lens[depth - 1] as usize)
                .unwrap_or(&self.text),
            _ => {
                let mut dots = 0;
                for (i, b) in self.text.bytes().enumerate() {
                    if b == b'.' {
                        dots += 1;
                        if dots == depth {
                            return &self.text[..i];
                        }
                    }
                }
                &self.text
            }
        }
    }
}

impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Topic {}

impl std::hash::Hash for Topic {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for Topic {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Topic {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

fn validate_topic(s: &str) -> Result<()> {
    let bad = |position: usize, segment: &str, reason: String| Error::InvalidTopic {
        topic: s.to_owned(),
        segment: segment.to_owned(),
        position,
        reason,
    };
    if s.is_empty() {
        return Err(bad(1, "", format!("the topic is empty; {SEGMENT_RULE}")));
    }
    for (i, seg) in s.split('.').enumerate() {
        if seg.is_empty() {
            return Err(bad(
                i + 1,
                seg,
                format!("segment {} is empty; {SEGMENT_RULE}", i + 1),
            ));
        }
        if let Some(c) = seg.chars().find(|c| !is_topic_char(*c)) {
            return Err(bad(
                i + 1,
                seg,
                format!("segment {seg:?} contains {c:?}; {SEGMENT_RULE}"),
            ));
        }
    }
    Ok(())
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({:?})", &*self.text)
    }
}

impl FromStr for Topic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Topic::new(s)
    }
}

impl TryFrom<&str> for Topic {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        Topic::new(s)
    }
}

impl TryFrom<String> for Topic {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        validate_topic(&s)?;
        Ok(Topic::from_valid(Arc::from(s)))
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Topic::try_from(s).map_err(serde::de::Error::custom)
    }
}

/// A glob within one segment: `calc*`, `agent:*`, `*-v2`, `a*b*c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentGlob {
    /// The literal pieces between the `*`s; the first is a required prefix and
    /// the last a required suffix.
    parts: Box<[Box<str>]>,
}

impl SegmentGlob {
    fn new(segment: &str) -> Self {
        SegmentGlob {
            parts: segment.split('*').map(Box::from).collect(),
        }
    }

    /// Whether `segment` matches the glob.
    pub(crate) fn matches(&self, segment: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(x) => x,
            None => return true,
        };
        let (last, middle) = match rest.split_last() {
            Some(x) => x,
            None => return segment == &**first,
        };
        if segment.len() < first.len() + last.len()
            || !segment.starts_with(&**first)
            || !segment.ends_with(&**last)
        {
            return false;
        }
        let mut hay = &segment[first.len()..segment.len() - last.len()];
        for part in middle {
            match hay.find(&**part) {
                Some(at) => hay = &hay[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

/// One compiled segment of a [`TopicPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternSegment {
    /// Matches exactly this segment.
    Literal(Box<str>),
    /// `*`: exactly one segment.
    One,
    /// `**`: zero or more segments (a trailing `>` compiles to `*.**`).
    Deep,
    /// `*` inside a segment.
    Glob(SegmentGlob),
}

/// A subscription pattern such as `tool.*.completed` or `agent.**`.
///
/// - `*` as a whole segment matches exactly one segment;
/// - `**` matches zero or more segments;
/// - a trailing `>` matches one or more segments, as in NATS (`tool.>`
///   matches `tool.a` and `tool.a.b` but not `tool`, which `tool.**` does);
/// - `*` inside a segment globs within it (`tool.calc*.completed`, `agent:*`).
///
/// Patterns compile once when built, never per event.
///
/// ```
/// use llmspell_events::{Topic, TopicPattern};
/// let p = TopicPattern::new("tool.*.completed")?;
/// assert!(p.matches(&Topic::new("tool.calculator.completed")?));
/// assert!(!p.matches(&Topic::new("tool.calculator.step.completed")?));
/// assert!(TopicPattern::new("tool.**")?.matches(&Topic::new("tool")?));
/// assert!(!TopicPattern::new("tool.>")?.matches(&Topic::new("tool")?));
/// assert!(TopicPattern::new("tool.>")?.matches(&Topic::new("tool.a.b")?));
/// # Ok::<(), llmspell_events::Error>(())
/// ```
#[derive(Clone)]
pub struct TopicPattern {
    raw: Arc<str>,
    segments: Arc<[PatternSegment]>,
}

impl TopicPattern {
    /// Validates and compiles a pattern.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] naming the offending segment.
    pub fn new(pattern: impl AsRef<str>) -> Result<Self> {
        let raw = pattern.as_ref();
        let bad = |position: usize, segment: &str, reason: String| Error::InvalidPattern {
            pattern: raw.to_owned(),
            segment: segment.to_owned(),
            position,
            reason,
        };
        if raw.is_empty() {
            return Err(bad(1, "", format!("the pattern is empty; {PATTERN_RULE}")));
        }
        let count = raw.split('.').count();
        let mut segments: Vec<PatternSegment> = Vec::with_capacity(count);
        for (i, seg) in raw.split('.').enumerate() {
            let position = i + 1;
            if seg.is_empty() {
                return Err(bad(
                    position,
                    seg,
                    format!("segment {position} is empty; {PATTERN_RULE}"),
                ));
            }
            if seg == ">" {
                if position != count {
                    return Err(bad(
                        position,
                        seg,
                        format!("'>' is only valid as the last segment; {PATTERN_RULE}"),
                    ));
                }
                // NATS: `>` matches one or more segments, so `tool.>` does
                // not match `tool` itself (`tool.**` does).
                segments.push(PatternSegment::One);
                push_deep(&mut segments);
                continue;
            }
            if let Some(c) = seg.chars().find(|c| !is_topic_char(*c) && *c != '*') {
                return Err(bad(
                    position,
                    seg,
                    format!("segment {seg:?} contains {c:?}; {PATTERN_RULE}"),
                ));
            }
            if seg.chars().all(|c| c == '*') {
                if seg.len() == 1 {
                    segments.push(PatternSegment::One);
                } else {
                    push_deep(&mut segments);
                }
            } else if seg.contains('*') {
                segments.push(PatternSegment::Glob(SegmentGlob::new(&collapse_stars(seg))));
            } else {
                segments.push(PatternSegment::Literal(Box::from(seg)));
            }
        }
        Ok(TopicPattern {
            raw: Arc::from(raw),
            segments: segments.into(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the pattern has no wildcard (it matches exactly one topic).
    pub fn is_exact(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, PatternSegment::Literal(_)))
    }

    pub(crate) fn compiled(&self) -> &[PatternSegment] {
        &self.segments
    }

    /// Whether `topic` matches. (The bus routes with a trie built from many
    /// patterns; this direct check serves single patterns and filters.)
    pub fn matches(&self, topic: &Topic) -> bool {
        let segs: smallvec::SmallVec<[&str; 8]> = topic.segments().collect();
        match_from(&self.segments, &segs)
    }

    /// Whether the topic text matches, validating nothing (for already-valid topics).
    pub fn matches_str(&self, topic: &str) -> bool {
        let segs: smallvec::SmallVec<[&str; 8]> = topic.split('.').collect();
        match_from(&self.segments, &segs)
    }
}

/// Collapses runs of `*` inside a glob segment.
fn collapse_stars(seg: &str) -> String {
    let mut out = String::with_capacity(seg.len());
    for c in seg.chars() {
        if !(c == '*' && out.ends_with('*')) {
            out.push(c);
        }
    }
    out
}

/// Adds a `**`, merging it with a preceding one (`a.**.**` = `a.**`).
fn push_deep(segments: &mut Vec<PatternSegment>) {
    if !matches!(segments.last(), Some(PatternSegment::Deep)) {
        segments.push(PatternSegment::Deep);
    }
}

fn match_from(pattern: &[PatternSegment], topic: &[&str]) -> bool {
    match pattern.split_first() {
        None => topic.is_empty(),
        Some((PatternSegment::Deep, rest)) => {
            (0..=topic.len()).any(|skip| match_from(rest, &topic[skip..]))
        }
        Some((seg, rest)) => match topic.split_first() {
            None => false,
            Some((first, tail)) => {
                let ok = match seg {
                    PatternSegment::Literal(l) => **l == **first,
                    PatternSegment::One => true,
                    PatternSegment::Glob(g) => g.matches(first),
                    PatternSegment::Deep => true,
                };
                ok && match_from(rest, tail)
            }
        },
    }
}

impl PartialEq for TopicPattern {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for TopicPattern {}

impl std::hash::Hash for TopicPattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicPattern({:?})", &*self.raw)
    }
}

impl FromStr for TopicPattern {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TopicPattern::new(s)
    }
}

impl TryFrom<&str> for TopicPattern {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        TopicPattern::new(s)
    }
}

impl Serialize for TopicPattern {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for TopicPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TopicPattern::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, topic: &str) -> bool {
        TopicPattern::new(pattern)
            .unwrap()
            .matches(&Topic::new(topic).unwrap())
    }

    #[test]
    fn pattern_semantics_table() {
        // (pattern, topic, matches)
        let table = [
            (
                "tool.calculator.completed",
                "tool.calculator.completed",
                true,
            ),
            ("tool.calculator.completed", "tool.calculator.failed", false),
            ("tool.*.completed", "tool.calculator.completed", true),
            ("tool.*.completed", "tool.calculator.step.completed", false),
            ("tool.*.completed", "tool.completed", false),
            ("tool.*", "tool.calculator", true),
            ("tool.*", "tool", false),
            ("tool.*", "tool.a.b", false),
            ("tool.**", "tool", true),
            ("tool.**", "tool.a", true),
            ("tool.**", "tool.a.b.c", true),
            ("tool.**", "tools.a", false),
            ("tool.>", "tool.a.b", true),
            ("tool.>", "tool", false),
            ("tool.>", "tool.a", true),
            ("**.>", "a", true),
            ("a.**.>", "a", false),
            ("a.**.>", "a.b.c", true),
            ("**", "anything.at.all", true),
            ("**", "x", true),
            ("*", "x", true),
            ("*", "x.y", false),
            ("**.completed", "tool.calculator.completed", true),
            ("**.completed", "completed", true),
            ("**.completed", "tool.completed.not", false),
            ("tool.**.completed", "tool.completed", true),
            ("tool.**.completed", "tool.a.b.completed", true),
            ("tool.**.completed", "tool.a.b.failed", false),
            ("tool.calc*.completed", "tool.calculator.completed", true),
            ("tool.calc*.completed", "tool.calc.completed", true),
            ("tool.calc*.completed", "tool.xcalc.completed", false),
            ("agent:*", "agent:writer", true),
            ("agent:*", "agent", false),
            ("*-v2.run", "model-v2.run", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("a**b", "aXb", true),
            ("workflow.*.step.*", "workflow.etl.step.started", true),
            ("workflow.*.step.*", "workflow.etl.started", false),
            ("**.**.x", "x", true),
            ("*.**", "a", true),
            ("*.**", "a.b.c", true),
        ];
        for (p, t, want) in table {
            assert_eq!(m(p, t), want, "pattern {p:?} vs topic {t:?}");
        }
    }

    #[test]
    fn topics_are_validated_with_the_offending_segment() {
        for (topic, segment) in [
            ("tool..x", ""),
            ("tool.calc ulator", "calc ulator"),
            ("tool.*", "*"),
            ("a.b.", ""),
            ("é", "é"),
        ] {
            match Topic::new(topic) {
                Err(Error::InvalidTopic { segment: s, .. }) => {
                    assert_eq!(s, segment, "topic {topic:?}")
                }
                other => panic!("topic {topic:?} must be rejected, got {other:?}"),
            }
        }
        let msg = Topic::new("tool.a$b").unwrap_err().to_string();
        assert!(msg.contains("\"a$b\"") && msg.contains("'$'"), "{msg}");
        assert!(Topic::new("").is_err());
        assert!(Topic::new("tool:x.a-b_c.9").is_ok());
    }

    #[test]
    fn patterns_are_validated_with_the_offending_segment() {
        for (pattern, segment) in [("a..b", ""), ("a.>.b", ">"), ("a.b$", "b$"), ("", "")] {
            match TopicPattern::new(pattern) {
                Err(Error::InvalidPattern { segment: s, .. }) => {
                    assert_eq!(s, segment, "pattern {pattern:?}")
                }
                other => panic!("pattern {pattern:?} must be rejected, got {other:?}"),
            }
        }
        let msg = TopicPattern::new("a.>.b").unwrap_err().to_string();
        assert!(msg.contains("last segment"), "{msg}");
    }

    #[test]
    fn prefixes() {
        let t = Topic::new("tool.calculator.completed").unwrap();
        assert_eq!(t.root(), "tool");
        assert_eq!(t.prefix(2), "tool.calculator");
        assert_eq!(t.prefix(3), "tool.calculator.completed");
        assert_eq!(t.prefix(9), "tool.calculator.completed");
        let t = Topic::new("single").unwrap();
        assert_eq!((t.prefix(1), t.prefix(2)), ("single", "single"));
        let t = Topic::new("a.b").unwrap();
        assert_eq!((t.prefix(1), t.prefix(2)), ("a", "a.b"));
    }

    #[test]
    fn serde_validates() {
        let t: Topic = serde_json::from_str("\"a.b\"").unwrap();
        assert_eq!(t.as_str(), "a.b");
        assert!(serde_json::from_str::<Topic>("\"a..b\"").is_err());
        let p: TopicPattern = serde_json::from_str("\"a.*\"").unwrap();
        assert!(!p.is_exact());
        assert!(TopicPattern::new("a.b").unwrap().is_exact());
    }
}
