//! The hash-chained audit log of the security hook.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use llmspell_core::CorrelationId;
use llmspell_storage::{JsonStore, Namespaced, Scan, StorageBackend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::builtin::canonical::canonical_json;

/// The `prev_hash` of the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records read per scan page in [`AuditLog::verify`].
const PAGE: usize = 1024;

/// One audit record. Records are stored as JSON under their zero-padded
/// sequence number (`00000000000000000042`) in the audit namespace.
///
/// `hash` is the lowercase hex SHA-256 of `prev_hash`, a newline, and the
/// canonical JSON (keys sorted) of the record without its `hash` field;
/// `prev_hash` is the previous record's `hash` (64 zeros for the first).
/// Changing, removing or reordering a stored record breaks the chain.
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

/// The first break in an audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
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
    /// A record is missing: the chain jumps over `seq`, or ends before it
    /// although this hook wrote it.
    Missing {
        /// The first missing sequence number.
        seq: u64,
    },
    /// A stored value is not an audit record.
    Unreadable {
        /// Its key in the audit namespace.
        key: String,
        /// The decoder's message.
        message: String,
    },
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
                write!(f, "audit value at key {key} is not a record: {message}")
            }
        }
    }
}

/// What [`SecurityHook::verify`](super::SecurityHook::verify) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Records that checked out before the first problem (all of them when intact).
    pub verified: u64,
    /// The hash of the last good record.
    pub head: Option<String>,
    /// The first problem, if any.
    pub problem: Option<AuditProblem>,
}

impl AuditVerification {
    /// Whether the whole chain checked out.
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
    store: JsonStore,
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

impl AuditLog {
    pub(crate) fn new(backend: Arc<dyn StorageBackend>, namespace: &str) -> crate::Result<Self> {
        let ns: Arc<dyn StorageBackend> = Arc::new(Namespaced::new(backend, namespace)?);
        Ok(Self {
            store: JsonStore::new(ns.clone()),
            backend: ns,
            tail: tokio::sync::Mutex::new(None),
        })
    }

    async fn read_tail(&self) -> llmspell_storage::Result<Tail> {
        let last = self
            .backend
            .scan(&Scan::prefix("").reverse().limit(1))
            .await?;
        Ok(match last.into_iter().next() {
            Some((key, bytes)) => {
                let rec: AuditRecord = serde_json::from_slice(&bytes).map_err(|e| {
                    llmspell_storage::Error::Decode {
                        key: key.clone(),
                        format: "JSON audit record",
                        message: e.to_string(),
                    }
                })?;
                Tail {
                    next_seq: rec.seq + 1,
                    last_hash: rec.hash,
                }
            }
            None => Tail {
                next_seq: 0,
                last_hash: GENESIS.to_owned(),
            },
        })
    }

    /// Chains and stores a record.
    pub(crate) async fn append(&self, d: Draft) -> llmspell_storage::Result<AuditRecord> {
        let mut guard = self.tail.lock().await;
        if guard.is_none() {
            *guard = Some(self.read_tail().await?);
        }
        let Some(tail) = guard.as_mut() else {
            return Err(llmspell_storage::Error::Backend {
                op: "append",
                key: "audit".to_owned(),
                message: "the audit tail could not be read".to_owned(),
                source: None,
            });
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
        self.store.put(&key_of(rec.seq), &rec).await?;
        tail.next_seq = rec.seq + 1;
        tail.last_hash.clone_from(&rec.hash);
        Ok(rec)
    }

    /// Every record, in order (stops at the first unreadable one).
    pub(crate) async fn records(&self) -> llmspell_storage::Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let mut scan = Scan::prefix("").limit(PAGE);
            if let Some(s) = &start {
                scan = scan.start(s.clone());
            }
            let page = self.store.scan::<AuditRecord>(&scan).await?;
            let n = page.len();
            for (k, r) in page {
                if start.as_deref() != Some(k.as_str()) {
                    out.push(r);
                }
                start = Some(k);
            }
            if n < PAGE {
                return Ok(out);
            }
        }
    }

    /// Walks the chain from the first record and reports the first break.
    pub(crate) async fn verify(&self) -> llmspell_storage::Result<AuditVerification> {
        // Hold the append lock so the walk sees a consistent chain.
        let guard = self.tail.lock().await;
        let written = guard.as_ref().map(|t| t.next_seq);
        let mut expected: u64 = 0;
        let mut prev = GENESIS.to_owned();
        let mut head: Option<String> = None;
        let mut start: Option<String> = None;
        let done = |verified: u64, head: Option<String>, problem: Option<AuditProblem>| {
            AuditVerification {
                verified,
                head,
                problem,
            }
        };
        loop {
            let mut scan = Scan::prefix("").limit(PAGE + 1);
            if let Some(s) = &start {
                scan = scan.start(s.clone());
            }
            let page = self.backend.scan(&scan).await?;
            let n = page.len();
            for (key, bytes) in page {
                if start.as_deref() == Some(key.as_str()) {
                    continue;
                }
                start = Some(key.clone());
                let rec: AuditRecord = match serde_json::from_slice(&bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        let problem = AuditProblem::Unreadable {
                            key,
                            message: e.to_string(),
                        };
                        return Ok(done(expected, head, Some(problem)));
                    }
                };
                let key_seq = key.parse::<u64>().ok();
                if key_seq.is_some_and(|s| s > expected) {
                    return Ok(done(
                        expected,
                        head,
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
                    return Ok(done(expected, head, problem));
                }
                prev.clone_from(&rec.hash);
                head = Some(rec.hash);
                expected += 1;
            }
            if n < PAGE + 1 {
                break;
            }
        }
        if let Some(w) = written
            && w > expected
        {
            return Ok(done(
                expected,
                head,
                Some(AuditProblem::Missing { seq: expected }),
            ));
        }
        Ok(done(expected, head, None))
    }
}
