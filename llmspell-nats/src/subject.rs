//! Topics and subjects: a bus topic `t` is the NATS subject `<prefix>.t`,
//! and a topic pattern maps onto the NATS subjects that cover it.
//!
//! | pattern segment | NATS token | filtered locally |
//! |---|---|---|
//! | `calculator` | `calculator` | no |
//! | `*` | `*` | no |
//! | `calc*` (a glob inside a segment) | `*` | yes |
//! | `**` last | `>` (and the subject without it, since `**` also matches no segment) | no |
//! | `**` elsewhere | `>` from there on | yes |
//! | `>` last | `>` | no |

use llmspell_events::{Topic, TopicPattern};

use crate::{Error, Result};

/// The topic root reserved for remote hook requests (`<prefix>.hooks.<point>`):
/// topics under it are never bridged.
pub const HOOKS_ROOT: &str = "hooks";

/// The topic root of the link's own connection events (`nats.connection.*`):
/// they describe this host's connection and are never bridged out.
pub const LINK_ROOT: &str = "nats";

/// Checks a subject prefix: dot-separated segments of letters, digits, `_`,
/// `:` and `-` (no wildcards).
///
/// # Errors
/// [`Error::InvalidConfig`] naming the offending segment.
pub fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(Error::config(
            "prefix",
            "the prefix is empty; use dot-separated segments of letters, digits, '_', ':' and '-' (e.g. \"llmspell\")",
        ));
    }
    for (i, seg) in prefix.split('.').enumerate() {
        let ok = !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'));
        if !ok {
            return Err(Error::config(
                "prefix",
                format!(
                    "segment {} of {prefix:?} ({seg:?}) is not valid; use dot-separated segments of letters, digits, '_', ':' and '-'",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The subject of `topic` under `prefix`.
pub fn topic_subject(prefix: &str, topic: &Topic) -> String {
    let mut s = String::with_capacity(prefix.len() + 1 + topic.as_str().len());
    s.push_str(prefix);
    s.push('.');
    s.push_str(topic.as_str());
    s
}

/// The topic of a subject under `prefix`.
///
/// # Errors
/// [`Error::Malformed`] when the subject is not under the prefix or the rest
/// is not a valid topic.
pub fn subject_topic(prefix: &str, subject: &str) -> Result<Topic> {
    let rest = subject
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(|| Error::malformed(subject, format!("not under the prefix {prefix:?}")))?;
    Topic::new(rest).map_err(|e| Error::malformed(subject, e.to_string()))
}

/// The NATS subjects that cover a topic pattern, and whether events arriving
/// on them must still be checked against the pattern here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectFilter {
    /// The pattern.
    pub pattern: TopicPattern,
    /// The subjects (with `<prefix>.`), none covering another.
    pub subjects: Vec<String>,
    /// Whether NATS delivers more than the pattern matches (a glob inside a
    /// segment, `**` before the last segment), so that each event is
    /// matched here.
    pub filtered_locally: bool,
}

impl SubjectFilter {
    /// The subjects of `pattern` under `prefix`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an invalid pattern, or one under the
    /// reserved root `hooks`.
    pub fn new(prefix: &str, pattern: &str) -> Result<Self> {
        let compiled =
            TopicPattern::new(pattern).map_err(|e| Error::config("bridge", e.to_string()))?;
        let segments: Vec<&str> = pattern.split('.').collect();
        if segments.first() == Some(&HOOKS_ROOT) {
            return Err(Error::config(
                "bridge",
                format!(
                    "{pattern:?} is under the topic root {HOOKS_ROOT:?}, which carries remote hook requests ({prefix}.{HOOKS_ROOT}.<point>) and is never bridged"
                ),
            ));
        }
        let mut tokens: Vec<String> = Vec::with_capacity(segments.len());
        let mut filtered = false;
        let mut subjects = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match *seg {
                "**" => {
                    if !last {
                        filtered = true;
                    } else if !tokens.is_empty() {
                        // `**` also matches no segment: the subject itself.
                        subjects.push(join(prefix, &tokens));
                    }
                    tokens.push(">".to_owned());
                    break;
                }
                ">" => {
                    tokens.push(">".to_owned());
                    break;
                }
                s if s.contains('*') => {
                    if s != "*" {
                        filtered = true;
                    }
                    tokens.push("*".to_owned());
                }
                s => tokens.push(s.to_owned()),
            }
        }
        subjects.push(join(prefix, &tokens));
        Ok(Self {
            pattern: compiled,
            subjects,
            filtered_locally: filtered,
        })
    }

    /// Whether the pattern's first segment is a wildcard, so that its
    /// subjects cover `<prefix>.hooks.>` too.
    pub fn covers_hooks(&self, prefix: &str) -> bool {
        let hooks = format!("{prefix}.{HOOKS_ROOT}.x");
        self.subjects.iter().any(|s| subject_covers(s, &hooks))
    }
}

fn join(prefix: &str, tokens: &[String]) -> String {
    let mut s = prefix.to_owned();
    for t in tokens {
        s.push('.');
        s.push_str(t);
    }
    s
}

/// Whether NATS subject (or filter) `a` matches everything `b` matches.
pub fn subject_covers(a: &str, b: &str) -> bool {
    let mut bs = b.split('.');
    for at in a.split('.') {
        if at == ">" {
            return bs.next().is_some();
        }
        match bs.next() {
            None => return false,
            Some(">") => return false,
            Some("*") if at != "*" => return false,
            Some(bt) if at != "*" && at != bt => return false,
            Some(_) => {}
        }
    }
    bs.next().is_none()
}

/// `subjects` without duplicates and without any subject another one
/// covers, in their first order.
pub fn minimal_subjects<I: IntoIterator<Item = String>>(subjects: I) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for s in subjects {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    let keep: Vec<bool> = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            !all.iter()
                .enumerate()
                .any(|(j, other)| j != i && subject_covers(other, s))
        })
        .collect();
    all.into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(pattern: &str) -> (Vec<String>, bool) {
        let f = SubjectFilter::new("ls", pattern).unwrap();
        (f.subjects, f.filtered_locally)
    }

    #[test]
    fn patterns_map_one_to_one_and_globs_are_filtered_here() {
        let rows: [(&str, &[&str], bool); 8] = [
            (
                "tool.calculator.completed",
                &["ls.tool.calculator.completed"],
                false,
            ),
            ("tool.*.completed", &["ls.tool.*.completed"], false),
            ("tool.calc*.completed", &["ls.tool.*.completed"], true),
            ("tool.**", &["ls.tool", "ls.tool.>"], false),
            ("**", &["ls.>"], false),
            ("tool.>", &["ls.tool.>"], false),
            ("a.**.b", &["ls.a.>"], true),
            ("agent:*", &["ls.*"], true),
        ];
        for (pattern, want, filtered) in rows {
            let (got, f) = subjects(pattern);
            assert_eq!(got, want, "{pattern}");
            assert_eq!(f, filtered, "{pattern}");
        }
    }

    #[test]
    fn the_hooks_root_and_bad_patterns_are_refused() {
        let e = SubjectFilter::new("ls", "hooks.**")
            .unwrap_err()
            .to_string();
        assert!(e.contains("remote hook requests"), "{e}");
        let e = SubjectFilter::new("ls", "tool..x").unwrap_err().to_string();
        assert!(e.contains("segment 2 is empty"), "{e}");
        assert!(SubjectFilter::new("ls", "**").unwrap().covers_hooks("ls"));
        assert!(SubjectFilter::new("ls", "*.x").unwrap().covers_hooks("ls"));
        assert!(
            !SubjectFilter::new("ls", "tool.**")
                .unwrap()
                .covers_hooks("ls")
        );
    }

    #[test]
    fn subjects_and_topics_round_trip() {
        let t = Topic::new("tool.calculator.completed").unwrap();
        let s = topic_subject("llmspell.dev", &t);
        assert_eq!(s, "llmspell.dev.tool.calculator.completed");
        assert_eq!(subject_topic("llmspell.dev", &s).unwrap(), t);
        assert!(subject_topic("llmspell.dev", "other.tool").is_err());
        let e = subject_topic("ls", "ls.a b").unwrap_err().to_string();
        assert!(e.contains("malformed message on \"ls.a b\""), "{e}");
    }

    #[test]
    fn prefixes_are_checked() {
        check_prefix("llmspell").unwrap();
        check_prefix("acme.prod-1").unwrap();
        for bad in ["", "a..b", "a.*", "a.>", "a b"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn covering_subjects_are_dropped() {
        assert!(subject_covers("a.>", "a.b.c"));
        assert!(!subject_covers("a.>", "a"));
        assert!(subject_covers("a.*", "a.b"));
        assert!(!subject_covers("a.b", "a.*"));
        assert!(subject_covers("a.*.c", "a.*.c"));
        let min = minimal_subjects(["a.b", "a.>", "a", "a.b", "c.*.d", "c.x.d"].map(str::to_owned));
        assert_eq!(min, ["a.>", "a", "c.*.d"]);
    }
}
