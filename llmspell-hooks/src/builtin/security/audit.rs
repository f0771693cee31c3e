//! The hash-chained audit log of the security hook, anchored by a head.

mod head;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use llmspell_storage::{Batch, Namespaced, Scan, StorageBackend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use self::head::{HEAD_KEY, Head};
pub(crate) use self::head::{MIN_SEAL_KEY_BYTES, SealKey};
use crate::builtin::canonical::canonical_json;

/// The `prev_hash` of the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records read per scan page.
const PAGE: usize = 1024;

/// One audit record. Records are stored as JSON under their zero-padded
/// sequence number (`00000000000000000042`) in the audit namespace.
///
/// `hash` is the lowercase hex SHA-256 of `prev_hash`, a newline, and the
/// canonical JSON (keys sorted) of the record without its `hash` field;
/// `prev_hash` is the previous record's `hash` (64 zeros for the first).
/// Changing, removing or reordering a stored record breaks the chain; the
/// log's head catches records removed from its end (see
/// [`AuditVerification`] for what verification proves and what it cannot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When the record was written.
    pub timestamp: DateTime<Utc>,
    /// The hook point's name.
    pub point: String,
    /// The component, `kind:name`.
    pub component: String,
    /// The operation's correlation id.
    pub correlation_id: CorrelationId,
    /// Its parent's, if any.
    pub parent_id: Option<CorrelationId>,
    /// The language that started the operation.
    pub language: String,
    /// The attempt number of the operation.
    pub attempt: u32,
    /// `allowed` or `denied`.
    pub decision: String,
    /// The rule that denied the input.
    pub rule: Option<String>,
    /// What the rule found.
    pub detail: Option<String>,
    /// SHA-256 of the data's canonical JSON (before redaction).
    pub data_sha256: String,
    /// The data, redacted, when the hook is set to store it.
    pub data: Option<Value>,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

impl AuditRecord {
    /// The hash this record should have, computed from its content.
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.remove("hash");
        }
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(canonical_json(&v).as_bytes());
        hex::encode(h.finalize())
    }
}

/// The first problem in an audit log.
///
/// The record problems (`Tampered`, `Missing`, `Unreadable`) come from
/// walking the chain from record 0; the head problems (`Truncated`,
/// `HeadMissing`, `HeadMismatch`) from comparing the head with the end of a
/// chain that checked out. Serialised with a `problem` tag in snake case
/// (`{"problem": "truncated", "head": 5, "last": 3}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditProblem {
    /// A record's content, sequence or link does not match its hash chain.
    Tampered {
        /// The record's sequence number (as its key says).
        seq: u64,
        /// Its key in the audit namespace.
        key: String,
        /// What does not match.
        reason: String,
    },
    /// A record is missing from the middle of the chain: the records jump
    /// over `seq`.
    Missing {
        /// The first missing sequence number.
        seq: u64,
    },
    /// A stored value is not an audit record (or, under the key `head`, not
    /// a head).
    Unreadable {
        /// Its key in the audit namespace.
        key: String,
        /// The decoder's message.
        message: String,
    },
    /// The newest records are gone: the head names record `head`, but the
    /// chain ends before it.
    Truncated {
        /// The sequence number of the newest record, as the head says.
        head: u64,
        /// The sequence number of the last record stored; `None` when no
        /// record is left.
        last: Option<u64>,
    },
    /// Records exist but the head does not: it was removed, and the newest
    /// records may have been removed with it.
    HeadMissing {
        /// The sequence number of the last record stored.
        last: u64,
    },
    /// The head disagrees with the last record (records follow the one it
    /// names, or its hash differs), or its seal does not check.
    HeadMismatch {
        /// The sequence number the head names.
        seq: u64,
        /// What does not match.
        reason: String,
    },
}

impl AuditProblem {
    /// The sequence number of the first record the problem names: the
    /// tampered, missing or unreadable record, or the first record missing
    /// from the tail. `None` for a problem with the head alone, and for an
    /// unreadable value whose key is not a sequence number.
    pub fn seq(&self) -> Option<u64> {
        match self {
            AuditProblem::Tampered { seq, .. } | AuditProblem::Missing { seq } => Some(*seq),
            AuditProblem::Unreadable { key, .. } => key.parse().ok(),
            AuditProblem::Truncated { last, .. } => Some(last.map_or(0, |l| l.saturating_add(1))),
            AuditProblem::HeadMissing { .. } | AuditProblem::HeadMismatch { .. } => None,
        }
    }
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Tampered { seq, key, reason } => {
                write!(
                    f,
                    "audit record {seq} (key {key}) was tampered with: {reason}"
                )
            }
            AuditProblem::Missing { seq } => write!(f, "audit record {seq} is missing"),
            AuditProblem::Unreadable { key, message } => {
                write!(f, "audit value at key {key} is not readable: {message}")
            }
            AuditProblem::Truncated { head, last } => {
                let first = last.map_or(0, |l| l.saturating_add(1));
                if first == *head {
                    write!(f, "audit record {head} is missing from the tail")?;
                } else {
                    write!(
                        f,
                        "audit records {first} to {head} are missing from the tail"
                    )?;
                }
                match last {
                    Some(l) => write!(
                        f,
                        " (the head names record {head}, the log ends at record {l})"
                    ),
                    None => write!(
                        f,
                        " (the head names record {head}, the log holds no records)"
                    ),
                }
            }
            AuditProblem::HeadMissing { last } => write!(
                f,
                "the audit head is missing although records 0 to {last} exist; newer records may have been removed"
            ),
            AuditProblem::HeadMismatch { seq, reason } => write!(
                f,
                "the audit head (naming record {seq}) does not match the log: {reason}"
            ),
        }
    }
}

/// What [`SecurityHook::verify`](super::SecurityHook::verify) found.
///
/// # What verification proves
///
/// The log is a hash chain of [`AuditRecord`]s plus a *head*: the sequence
/// number and hash of the newest record, stored as JSON under the key `head`
/// of the audit namespace. Each record and its head are written in one
/// atomic batch, so the store never holds a record without its head (there
/// is no crash window between the two writes; a crash can lose the newest
/// records the backend had not yet made durable, and their head with them,
/// which leaves an older, consistent log).
///
/// Verification walks every record from 0, then compares the head with the
/// last one, and reports the first problem:
/// - a record changed, reordered or not decodable:
///   [`Tampered`](AuditProblem::Tampered),
///   [`Unreadable`](AuditProblem::Unreadable);
/// - a record removed from the middle: [`Missing`](AuditProblem::Missing);
/// - records removed from the end: [`Truncated`](AuditProblem::Truncated)
///   (the head names a later record than the last one stored);
/// - the head removed while records exist:
///   [`HeadMissing`](AuditProblem::HeadMissing); a head that disagrees with
///   the last record, or whose seal does not check:
///   [`HeadMismatch`](AuditProblem::HeadMismatch).
///
/// A hook refuses to append to a log it finds in any of the head states
/// above (its first append compares the head with the last record), so it
/// never overwrites or papers over the evidence; the firing fails with
/// [`Error::AuditBroken`](crate::Error::AuditBroken).
///
/// # What it cannot prove
///
/// The head lives in the same store as the records. Whoever can rewrite the
/// whole store can delete the newest records and write a head naming the new
/// last record (or delete everything): the shorter log verifies as intact.
/// The head protects against truncation and corruption of the records, not
/// against a rewrite of the store. What closes the gap lives outside the
/// store:
/// - a seal: with
///   [`audit_seal_key`](super::SecurityHookBuilder::audit_seal_key) each
///   head carries an HMAC-SHA256 under a key kept outside the store, and
///   verifying with that key rejects an unsealed or forged head. A seal
///   cannot tell an old sealed head, copied earlier and put back with the
///   log cut to match, from the real one;
/// - a checkpoint: export `verified` and `head` of an intact verification
///   now and then to a place the store's writers cannot change. A later log
///   that ends before that record, or whose record there has another hash,
///   was rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Records that checked out before the first problem (all of them when
    /// intact).
    pub verified: u64,
    /// The hash of the last good record (when intact, the newest record's,
    /// which the stored head names too).
    pub head: Option<String>,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
}

impl AuditVerification {
    /// Whether the whole log checked out: every record and the head.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Where the chain ends, as this process knows it.
struct Tail {
    next_seq: u64,
    last_hash: String,
}

/// An append-only, hash-chained log in a storage namespace.
pub(crate) struct AuditLog {
    backend: Arc<dyn StorageBackend>,
    seal: Option<SealKey>,
    /// Appends are serialised: each needs the previous hash. `None` until
    /// the tail was read from storage (lazily, at the first append).
    tail: tokio::sync::Mutex<Option<Tail>>,
}

pub(crate) fn key_of(seq: u64) -> String {
    format!("{seq:020}")
}

/// The fields of a record before it is chained.
pub(crate) struct Draft {
    pub(crate) point: String,
    pub(crate) component: String,
    pub(crate) correlation_id: CorrelationId,
    pub(crate) parent_id: Option<CorrelationId>,
    pub(crate) language: String,
    pub(crate) attempt: u32,
    pub(crate) decision: &'static str,
    pub(crate) rule: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) data_sha256: String,
    pub(crate) data: Option<Value>,
}

fn broken(problem: AuditProblem) -> crate::Error {
    crate::Error::AuditBroken { problem }
}

fn decode_head(bytes: &[u8]) -> Result<Head, AuditProblem> {
    serde_json::from_slice(bytes).map_err(|e| AuditProblem::Unreadable {
        key: HEAD_KEY.to_owned(),
        message: e.to_string(),
    })
}

fn encode<T: Serialize>(key: &str, value: &T) -> llmspell_storage::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| llmspell_storage::Error::Encode {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

impl AuditLog {
    pub(crate) fn new(
        backend: Arc<dyn StorageBackend>,
        namespace: &str,
        seal: Option<SealKey>,
    ) -> crate::Result<Self> {
        Ok(Self {
            backend: Arc::new(Namespaced::new(backend, namespace)?),
            seal,
            tail: tokio::sync::Mutex::new(None),
        })
    }

    /// Up to a page of entries after `after` (from the first when `None`),
    /// without the head, and the key to continue after (`None` at the end).
    async fn page(
        &self,
        after: Option<&str>,
    ) -> llmspell_storage::Result<(Vec<(String, Vec<u8>)>, Option<String>)> {
        let mut scan = Scan::prefix("").limit(PAGE + 1);
        if let Some(a) = after {
            scan = scan.start(a);
        }
        let rows = self.backend.scan(&scan).await?;
        let next = (rows.len() == PAGE + 1)
            .then(|| rows.last().map(|(k, _)| k.clone()))
            .flatten();
        let rows = rows
            .into_iter()
            .filter(|(k, _)| Some(k.as_str()) != after && k != HEAD_KEY)
            .collect();
        Ok((rows, next))
    }

    /// Reads where the stored log ends, and refuses a log whose head does
    /// not match its last record: appending to it would overwrite or bury
    /// the evidence.
    async fn read_tail(&self) -> crate::Result<Tail> {
        let head = match self.backend.get(HEAD_KEY).await? {
            Some(bytes) => Some(decode_head(&bytes).map_err(broken)?),
            None => None,
        };
        // The head sorts after every record key: the last record is the
        // first entry of a reverse scan that is not the head.
        let newest = self.backend.scan(&Scan::all().reverse().limit(2)).await?;
        let last = match newest.into_iter().find(|(k, _)| k != HEAD_KEY) {
            Some((key, bytes)) => {
                Some(serde_json::from_slice::<AuditRecord>(&bytes).map_err(|e| {
                    broken(AuditProblem::Unreadable {
                        key,
                        message: e.to_string(),
                    })
                })?)
            }
            None => None,
        };
        let end = last.as_ref().map(|r| (r.seq, r.hash.as_str()));
        if let Some(problem) = head::check(head.as_ref(), end, self.seal.as_ref()) {
            return Err(broken(problem));
        }
        Ok(match head {
            Some(h) => Tail {
                next_seq: after(h.seq)?,
                last_hash: h.hash,
            },
            None => Tail {
                next_seq: 0,
                last_hash: GENESIS.to_owned(),
            },
        })
    }

    /// Chains a record and stores it with the new head, in one batch.
    pub(crate) async fn append(&self, d: Draft) -> crate::Result<AuditRecord> {
        let mut guard = self.tail.lock().await;
        let tail = match &mut *guard {
            Some(tail) => tail,
            slot @ None => slot.insert(self.read_tail().await?),
        };
        let mut rec = AuditRecord {
            seq: tail.next_seq,
            timestamp: llmspell_core::clock::now_utc(),
            point: d.point,
            component: d.component,
            correlation_id: d.correlation_id,
            parent_id: d.parent_id,
            language: d.language,
            attempt: d.attempt,
            decision: d.decision.to_owned(),
            rule: d.rule,
            detail: d.detail,
            data_sha256: d.data_sha256,
            data: d.data,
            prev_hash: tail.last_hash.clone(),
            hash: String::new(),
        };
        rec.hash = rec.compute_hash();
        let next_seq = after(rec.seq)?;
        let head = Head {
            seq: rec.seq,
            hash: rec.hash.clone(),
            seal: self.seal.as_ref().map(|k| k.seal(rec.seq, &rec.hash)),
        };
        let key = key_of(rec.seq);
        let batch = Batch::new()
            .put(&key, encode(&key, &rec)?)
            .put(HEAD_KEY, encode(HEAD_KEY, &head)?);
        self.backend.apply_batch(batch).await?;
        tail.next_seq = next_seq;
        tail.last_hash.clone_from(&rec.hash);
        Ok(rec)
    }

    /// Every record, in order.
    pub(crate) async fn records(&self) -> llmspell_storage::Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (rows, next) = self.page(after.as_deref()).await?;
            for (key, bytes) in rows {
                let rec = serde_json::from_slice(&bytes).map_err(|e| {
                    llmspell_storage::Error::Decode {
                        key,
                        format: "JSON audit record",
                        message: e.to_string(),
                    }
                })?;
                out.push(rec);
            }
            match next {
                Some(k) => after = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// Walks the chain from the first record, then checks the head against
    /// its end; reports the first problem.
    pub(crate) async fn verify(&self) -> llmspell_storage::Result<AuditVerification> {
        // Hold the append lock so the walk sees a consistent log.
        let _guard = self.tail.lock().await;
        let mut expected: u64 = 0;
        let mut prev = GENESIS.to_owned();
        let mut last_hash: Option<String> = None;
        let mut after: Option<String> = None;
        let done = |verified: u64, head: Option<String>, problem: Option<AuditProblem>| {
            AuditVerification {
                verified,
                head,
                problem,
            }
        };
        loop {
            let (rows, next) = self.page(after.as_deref()).await?;
            for (key, bytes) in rows {
                let rec: AuditRecord = match serde_json::from_slice(&bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        let problem = AuditProblem::Unreadable {
                            key,
                            message: e.to_string(),
                        };
                        return Ok(done(expected, last_hash, Some(problem)));
                    }
                };
                let key_seq = key.parse::<u64>().ok();
                if key_seq.is_some_and(|s| s > expected) {
                    return Ok(done(
                        expected,
                        last_hash,
                        Some(AuditProblem::Missing { seq: expected }),
                    ));
                }
                let tampered = |reason: String| AuditProblem::Tampered {
                    seq: key_seq.unwrap_or(rec.seq),
                    key: key.clone(),
                    reason,
                };
                let problem = if key_seq != Some(expected) || rec.seq != expected {
                    Some(tampered(format!(
                        "expected record {expected} here, the record says {}",
                        rec.seq
                    )))
                } else if rec.prev_hash != prev {
                    Some(tampered(
                        "its prev_hash is not the previous record's hash".to_owned(),
                    ))
                } else if rec.compute_hash() != rec.hash {
                    Some(tampered("its content does not match its hash".to_owned()))
                } else {
                    None
                };
                if problem.is_some() {
                    return Ok(done(expected, last_hash, problem));
                }
                prev.clone_from(&rec.hash);
                last_hash = Some(rec.hash);
                expected += 1;
            }
            match next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        let head = match self.backend.get(HEAD_KEY).await? {
            Some(bytes) => match decode_head(&bytes) {
                Ok(h) => Some(h),
                Err(problem) => return Ok(done(expected, last_hash, Some(problem))),
            },
            None => None,
        };
        let end = expected.checked_sub(1).zip(last_hash.as_deref());
        let problem = head::check(head.as_ref(), end, self.seal.as_ref());
        Ok(done(expected, last_hash, problem))
    }
}

/// The sequence number after `seq`.
fn after(seq: u64) -> crate::Result<u64> {
    seq.checked_add(1).ok_or_else(|| {
        broken(AuditProblem::HeadMismatch {
            seq,
            reason: "no sequence number follows it".to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use llmspell_storage::MemoryBackend;

    use super::*;

    fn draft(i: u32) -> Draft {
        Draft {
            point: "BeforeToolExecution".to_owned(),
            component: "tool:t".to_owned(),
            correlation_id: CorrelationId::new_v7(),
            parent_id: None,
            language: "rust".to_owned(),
            attempt: i,
            decision: "allowed",
            rule: None,
            detail: None,
            data_sha256: GENESIS.to_owned(),
            data: None,
        }
    }

    /// A log of `n` records in the `audit` namespace of a fresh backend.
    async fn log_of(n: u32) -> (Arc<MemoryBackend>, AuditLog, Vec<AuditRecord>) {
        let backend = Arc::new(MemoryBackend::new());
        let log = AuditLog::new(backend.clone(), "audit", None).unwrap();
        let mut records = Vec::new();
        for i in 0..n {
            records.push(log.append(draft(i)).await.unwrap());
        }
        (backend, log, records)
    }

    /// What a process that opens the store afresh finds.
    async fn fresh(backend: &Arc<MemoryBackend>) -> AuditVerification {
        AuditLog::new(backend.clone(), "audit", None)
            .unwrap()
            .verify()
            .await
            .unwrap()
    }

    fn record_key(seq: u64) -> String {
        format!("audit/{}", key_of(seq))
    }

    async fn refused(backend: &Arc<MemoryBackend>) -> AuditProblem {
        let log = AuditLog::new(backend.clone(), "audit", None).unwrap();
        match log.append(draft(99)).await {
            Err(crate::Error::AuditBroken { problem }) => problem,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_clean_log_is_intact_and_its_head_names_the_newest_record() {
        let (backend, _log, records) = log_of(0).await;
        assert!(records.is_empty());
        let empty = fresh(&backend).await;
        assert_eq!((empty.verified, empty.problem), (0, None));

        let (backend, log, records) = log_of(5).await;
        let report = fresh(&backend).await;
        assert_eq!((report.verified, &report.problem), (5, &None));
        assert_eq!(report.head.as_deref(), Some(records[4].hash.as_str()));
        let head: Head =
            serde_json::from_slice(&backend.get("audit/head").await.unwrap().unwrap()).unwrap();
        assert_eq!(
            (head.seq, head.hash.as_str()),
            (4, records[4].hash.as_str())
        );
        assert_eq!(
            log.records().await.unwrap(),
            records,
            "the head is no record"
        );
        // A new writer continues where the head says.
        let next = AuditLog::new(backend.clone(), "audit", None)
            .unwrap()
            .append(draft(5))
            .await
            .unwrap();
        assert_eq!(
            (next.seq, next.prev_hash.as_str()),
            (5, records[4].hash.as_str())
        );
        assert!(fresh(&backend).await.is_intact());
    }

    #[tokio::test]
    async fn deleting_the_newest_records_is_a_truncated_tail() {
        let (backend, log, _) = log_of(5).await;
        for seq in [3, 4] {
            assert!(backend.delete(&record_key(seq)).await.unwrap());
        }
        let report = fresh(&backend).await;
        assert_eq!(report.verified, 3, "records 0 to 2 still check out");
        let problem = report.problem.unwrap();
        assert_eq!(
            problem,
            AuditProblem::Truncated {
                head: 4,
                last: Some(2)
            }
        );
        assert_eq!(problem.seq(), Some(3));
        assert_eq!(
            problem.to_string(),
            "audit records 3 to 4 are missing from the tail (the head names record 4, the log ends at record 2)"
        );
        assert_eq!(log.verify().await.unwrap().problem, Some(problem.clone()));
        // A new writer does not paper over the gap.
        assert_eq!(refused(&backend).await, problem);

        for seq in 0..3 {
            backend.delete(&record_key(seq)).await.unwrap();
        }
        let report = fresh(&backend).await;
        assert_eq!(
            report.problem,
            Some(AuditProblem::Truncated {
                head: 4,
                last: None
            })
        );
    }

    #[tokio::test]
    async fn deleting_the_head_is_reported_while_records_exist() {
        let (backend, _log, _) = log_of(3).await;
        assert!(backend.delete("audit/head").await.unwrap());
        let report = fresh(&backend).await;
        assert_eq!(report.verified, 3);
        let problem = report.problem.unwrap();
        assert_eq!(problem, AuditProblem::HeadMissing { last: 2 });
        assert_eq!(problem.seq(), None);
        assert!(problem.to_string().contains("head is missing"), "{problem}");
        assert_eq!(refused(&backend).await, problem);
        // And with the newest record gone too, the head's absence still shows.
        backend.delete(&record_key(2)).await.unwrap();
        assert_eq!(
            fresh(&backend).await.problem,
            Some(AuditProblem::HeadMissing { last: 1 })
        );
    }

    #[tokio::test]
    async fn tampering_a_middle_record_names_it_as_the_first_break() {
        let (backend, _log, _) = log_of(5).await;
        let key = record_key(2);
        let mut stored: Value =
            serde_json::from_slice(&backend.get(&key).await.unwrap().unwrap()).unwrap();
        stored["decision"] = Value::from("denied");
        backend
            .put(&key, serde_json::to_vec(&stored).unwrap())
            .await
            .unwrap();
        let report = fresh(&backend).await;
        assert_eq!(report.verified, 2);
        let problem = report.problem.unwrap();
        assert!(
            matches!(&problem, AuditProblem::Tampered { seq: 2, reason, .. } if reason.contains("does not match its hash")),
            "{problem:?}"
        );
        assert_eq!(problem.seq(), Some(2));
    }

    #[tokio::test]
    async fn a_head_that_disagrees_with_the_last_record_is_a_mismatch() {
        let (backend, log, records) = log_of(3).await;
        let old_head = backend.get("audit/head").await.unwrap().unwrap();
        log.append(draft(3)).await.unwrap();
        // The head rolled back one record: record 3 follows the one it names.
        backend.put("audit/head", old_head).await.unwrap();
        let report = fresh(&backend).await;
        assert!(
            matches!(&report.problem, Some(AuditProblem::HeadMismatch { seq: 2, reason }) if reason.contains("record 3 follows")),
            "{report:?}"
        );
        // A head naming the right record with another hash.
        let forged = Head {
            seq: 3,
            hash: records[0].hash.clone(),
            seal: None,
        };
        backend
            .put("audit/head", serde_json::to_vec(&forged).unwrap())
            .await
            .unwrap();
        assert!(matches!(
            fresh(&backend).await.problem,
            Some(AuditProblem::HeadMismatch { seq: 3, .. })
        ));
        // A head that points past the last record is a truncated tail.
        let past = Head {
            seq: 9,
            hash: records[0].hash.clone(),
            seal: None,
        };
        backend
            .put("audit/head", serde_json::to_vec(&past).unwrap())
            .await
            .unwrap();
        assert_eq!(
            fresh(&backend).await.problem,
            Some(AuditProblem::Truncated {
                head: 9,
                last: Some(3)
            })
        );
        backend
            .put("audit/head", b"{not json".to_vec())
            .await
            .unwrap();
        assert!(matches!(
            fresh(&backend).await.problem,
            Some(AuditProblem::Unreadable { ref key, .. }) if key == "head"
        ));
    }

    #[tokio::test]
    async fn a_rewritten_head_passes_unsealed_and_fails_under_the_seal_key() {
        let key = b"a key kept outside the store".as_slice();
        let seal = || Some(SealKey::new(key).unwrap());
        let backend = Arc::new(MemoryBackend::new());
        let log = AuditLog::new(backend.clone(), "audit", seal()).unwrap();
        let mut records = Vec::new();
        for i in 0..4 {
            records.push(log.append(draft(i)).await.unwrap());
        }
        let sealed =
            |backend: &Arc<MemoryBackend>| AuditLog::new(backend.clone(), "audit", seal()).unwrap();
        assert!(sealed(&backend).verify().await.unwrap().is_intact());

        // Someone with write access cuts the log to two records and writes a
        // head that names the new last one: a consistent, shorter log.
        for seq in [2, 3] {
            backend.delete(&record_key(seq)).await.unwrap();
        }
        let rewritten = Head {
            seq: 1,
            hash: records[1].hash.clone(),
            seal: None,
        };
        backend
            .put("audit/head", serde_json::to_vec(&rewritten).unwrap())
            .await
            .unwrap();
        // Without the key this cannot be told from a log of two records:
        // the limit of a head kept in the same store.
        assert!(fresh(&backend).await.is_intact());
        // With the key, the head's missing seal gives it away, and the
        // sealed writer refuses to continue it.
        let report = sealed(&backend).verify().await.unwrap();
        assert!(
            matches!(&report.problem, Some(AuditProblem::HeadMismatch { seq: 1, reason }) if reason.contains("no seal")),
            "{report:?}"
        );
        assert!(matches!(
            sealed(&backend).append(draft(9)).await,
            Err(crate::Error::AuditBroken {
                problem: AuditProblem::HeadMismatch { .. }
            })
        ));
    }
}
