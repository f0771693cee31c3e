//! The audit log's head: where the chain ends, stored beside it.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::AuditProblem;

/// The head's key in the audit namespace. It sorts after every record key
/// (records are keyed by digits), and no record key can equal it.
pub(crate) const HEAD_KEY: &str = "head";

/// The shortest seal key accepted, in bytes.
pub(crate) const MIN_SEAL_KEY_BYTES: usize = 16;

/// The sequence number and hash of the newest record, written in the same
/// atomic batch as that record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: String,
    /// Hex HMAC-SHA256 of [`sealed_text`] under the seal key, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seal: Option<String>,
}

/// What the seal covers: the namespace-independent facts of the head.
fn sealed_text(seq: u64, hash: &str) -> String {
    format!("llmspell audit head\n{seq}\n{hash}")
}

/// A key for sealing heads, kept outside the store by its owner.
#[derive(Clone)]
pub(crate) struct SealKey(Hmac<Sha256>);

impl SealKey {
    /// A key from its bytes; `None` when shorter than
    /// [`MIN_SEAL_KEY_BYTES`].
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        if key.len() < MIN_SEAL_KEY_BYTES {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(key).ok().map(Self)
    }

    fn mac(&self, seq: u64, hash: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(sealed_text(seq, hash).as_bytes());
        mac
    }

    /// The seal of the head at `seq` with `hash`.
    pub(crate) fn seal(&self, seq: u64, hash: &str) -> String {
        hex::encode(self.mac(seq, hash).finalize().into_bytes())
    }

    /// Why `head`'s seal does not check, if it does not.
    fn check(&self, head: &Head) -> Option<&'static str> {
        let Some(seal) = &head.seal else {
            return Some("it carries no seal, and a seal key was given");
        };
        let Ok(bytes) = hex::decode(seal) else {
            return Some("its seal is not hex");
        };
        // verify_slice compares in constant time.
        match self.mac(head.seq, &head.hash).verify_slice(&bytes) {
            Ok(()) => None,
            Err(_) => Some("its seal does not match the seal key"),
        }
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// Compares the head with the end of an intact chain: `last` is the
/// sequence number and hash of its newest record (`None` for no records).
///
/// | head | chain | result |
/// |---|---|---|
/// | none | empty | fine: an empty log |
/// | none | ends at M | [`HeadMissing`](AuditProblem::HeadMissing) |
/// | seal does not check (with a key) | any | [`HeadMismatch`](AuditProblem::HeadMismatch) |
/// | names N | empty, or ends at M < N | [`Truncated`](AuditProblem::Truncated) |
/// | names N | ends at M > N | [`HeadMismatch`](AuditProblem::HeadMismatch) |
/// | names N, hash H | ends at N, hash other than H | [`HeadMismatch`](AuditProblem::HeadMismatch) |
/// | names N, hash H | ends at N, hash H | fine |
pub(crate) fn check(
    head: Option<&Head>,
    last: Option<(u64, &str)>,
    seal: Option<&SealKey>,
) -> Option<AuditProblem> {
    let Some(head) = head else {
        return last.map(|(seq, _)| AuditProblem::HeadMissing { last: seq });
    };
    let mismatch = |reason: String| AuditProblem::HeadMismatch {
        seq: head.seq,
        reason,
    };
    if let Some(why) = seal.and_then(|key| key.check(head)) {
        return Some(mismatch(why.to_owned()));
    }
    match last {
        None => Some(AuditProblem::Truncated {
            head: head.seq,
            last: None,
        }),
        Some((seq, _)) if seq < head.seq => Some(AuditProblem::Truncated {
            head: head.seq,
            last: Some(seq),
        }),
        Some((seq, _)) if seq > head.seq => {
            let first = head.seq.saturating_add(1);
            Some(mismatch(if first == seq {
                format!("record {seq} follows the record it names")
            } else {
                format!("records {first} to {seq} follow the record it names")
            }))
        }
        Some((seq, hash)) if hash != head.hash => {
            Some(mismatch(format!("its hash is not record {seq}'s hash")))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn head(seq: u64, hash: &str) -> Head {
        Head {
            seq,
            hash: hash.to_owned(),
            seal: None,
        }
    }

    #[test]
    fn every_row_of_the_head_table() {
        assert_eq!(check(None, None, None), None);
        assert_eq!(
            check(None, Some((4, "h4")), None),
            Some(AuditProblem::HeadMissing { last: 4 })
        );
        assert_eq!(
            check(Some(&head(4, "h4")), None, None),
            Some(AuditProblem::Truncated {
                head: 4,
                last: None
            })
        );
        assert_eq!(
            check(Some(&head(4, "h4")), Some((2, "h2")), None),
            Some(AuditProblem::Truncated {
                head: 4,
                last: Some(2)
            })
        );
        assert!(matches!(
            check(Some(&head(2, "h2")), Some((4, "h4")), None),
            Some(AuditProblem::HeadMismatch { seq: 2, ref reason }) if reason.contains("records 3 to 4")
        ));
        assert!(matches!(
            check(Some(&head(3, "h3")), Some((4, "h4")), None),
            Some(AuditProblem::HeadMismatch { seq: 3, ref reason }) if reason.starts_with("record 4 follows")
        ));
        assert!(matches!(
            check(Some(&head(4, "other")), Some((4, "h4")), None),
            Some(AuditProblem::HeadMismatch { seq: 4, ref reason }) if reason.contains("hash")
        ));
        assert_eq!(check(Some(&head(4, "h4")), Some((4, "h4")), None), None);
    }

    #[test]
    fn a_seal_checks_only_under_its_own_key() {
        assert!(SealKey::new(b"too short").is_none());
        let key = SealKey::new(b"0123456789abcdef-key").unwrap();
        let other = SealKey::new(b"0123456789abcdef-other").unwrap();
        let mut sealed = head(4, "h4");
        sealed.seal = Some(key.seal(4, "h4"));
        let last = Some((4, "h4"));
        assert_eq!(check(Some(&sealed), last, Some(&key)), None);
        assert_eq!(
            check(Some(&sealed), last, None),
            None,
            "no key: the seal is not checked"
        );
        let bad = |h: &Head, k: &SealKey| match check(Some(h), last, Some(k)) {
            Some(AuditProblem::HeadMismatch { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(bad(&sealed, &other).contains("does not match"));
        assert!(bad(&head(4, "h4"), &key).contains("no seal"));
        // A sealed head moved to another record does not check.
        let mut moved = sealed.clone();
        moved.seq = 3;
        assert!(bad(&moved, &key).contains("does not match"));
        assert!(format!("{key:?}").contains(".."), "the key is not printed");
    }
}
