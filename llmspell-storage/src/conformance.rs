//! The conformance suite every [`StorageBackend`] must pass.
//!
//! Each check takes a fresh, empty backend and panics with a message naming
//! the broken guarantee. A backend crate runs them from its tests, one test
//! per check, so a failure names the check:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use llmspell_storage::{conformance, MemoryBackend};
//! #[tokio::test]
//! async fn prefix_scans_are_ordered() {
//!     conformance::prefix_scans_are_ordered(Arc::new(MemoryBackend::new())).await;
//! }
//! ```
//!
//! [`persistence_across_reopen`] needs a way to reopen the same store and only
//! applies to durable backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use crate::{Batch, Error, Scan, StorageBackend};

/// Every check that needs only a fresh backend, by name, for table-driven runners.
pub const CHECKS: &[&str] = &[
    "put_get_delete",
    "empty_keys_are_rejected",
    "prefix_scans_are_ordered",
    "scan_bounds_limit_and_reverse",
    "batches_are_atomic",
    "concurrent_writers_lose_nothing",
    "large_values_round_trip",
];

/// Runs the check named `name` (one of [`CHECKS`]).
///
/// # Panics
/// If the check fails or the name is unknown.
pub async fn run(name: &str, backend: Arc<dyn StorageBackend>) {
    match name {
        "put_get_delete" => put_get_delete(backend).await,
        "empty_keys_are_rejected" => empty_keys_are_rejected(backend).await,
        "prefix_scans_are_ordered" => prefix_scans_are_ordered(backend).await,
        "scan_bounds_limit_and_reverse" => scan_bounds_limit_and_reverse(backend).await,
        "batches_are_atomic" => batches_are_atomic(backend).await,
        "concurrent_writers_lose_nothing" => concurrent_writers_lose_nothing(backend).await,
        "large_values_round_trip" => large_values_round_trip(backend).await,
        other => panic!("unknown conformance check {other:?}; valid: {CHECKS:?}"),
    }
}

/// Get, put (overwrite), exists and delete behave as a map.
pub async fn put_get_delete(b: Arc<dyn StorageBackend>) {
    assert_eq!(b.get("k").await.unwrap(), None, "fresh store must be empty");
    assert!(!b.exists("k").await.unwrap());
    b.put("k", b"v1".to_vec()).await.unwrap();
    assert_eq!(b.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
    b.put("k", b"v2".to_vec()).await.unwrap();
    assert_eq!(
        b.get("k").await.unwrap().as_deref(),
        Some(&b"v2"[..]),
        "put must overwrite"
    );
    assert!(b.exists("k").await.unwrap());
    assert!(
        b.delete("k").await.unwrap(),
        "delete of a present key returns true"
    );
    assert!(
        !b.delete("k").await.unwrap(),
        "delete of an absent key returns false"
    );
    assert_eq!(b.get("k").await.unwrap(), None);
    b.put("empty-value", Vec::new()).await.unwrap();
    assert_eq!(
        b.get("empty-value").await.unwrap(),
        Some(Vec::new()),
        "empty values are values"
    );
}

/// Empty keys are refused by every method with a clear error; nothing is written.
pub async fn empty_keys_are_rejected(b: Arc<dyn StorageBackend>) {
    let check = |r: Result<(), Error>, op: &str| match r {
        Err(Error::InvalidKey { ref reason, .. }) => {
            assert!(
                reason.contains("non-empty"),
                "{op}: unclear reason {reason:?}"
            )
        }
        other => panic!("{op} with an empty key must fail with InvalidKey, got {other:?}"),
    };
    check(b.put("", b"x".to_vec()).await, "put");
    check(b.get("").await.map(|_| ()), "get");
    check(b.delete("").await.map(|_| ()), "delete");
    check(b.exists("").await.map(|_| ()), "exists");
    check(
        b.apply_batch(Batch::new().put("ok", b"1".to_vec()).put("", b"2".to_vec()))
            .await,
        "apply_batch",
    );
    assert!(
        b.scan(&Scan::all()).await.unwrap().is_empty(),
        "a rejected write must not land"
    );
}

/// Prefix scans return exactly the keys with the prefix, in byte order.
pub async fn prefix_scans_are_ordered(b: Arc<dyn StorageBackend>) {
    // Inserted out of order, with neighbours just outside the prefix.
    for key in [
        "p/10", "p/02", "p/1", "o/9", "p/z", "q", "p/", "p0", "p/ä", "p/A",
    ] {
        b.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let keys: Vec<String> = b
        .scan(&Scan::prefix("p/"))
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["p/", "p/02", "p/1", "p/10", "p/A", "p/z", "p/ä"],
        "byte order"
    );
    let (k, v) = &b.scan_prefix("p/1").await.unwrap()[1];
    assert_eq!(
        (k.as_str(), v.as_slice()),
        ("p/10", &b"p/10"[..]),
        "values travel with keys"
    );
    assert_eq!(
        b.scan_keys(&Scan::prefix("p/1")).await.unwrap(),
        ["p/1", "p/10"]
    );
    assert_eq!(b.scan(&Scan::all()).await.unwrap().len(), 10);
    assert!(b.scan(&Scan::prefix("zz")).await.unwrap().is_empty());
}

/// Start/end bounds, limits and reverse order compose.
pub async fn scan_bounds_limit_and_reverse(b: Arc<dyn StorageBackend>) {
    for i in 0..20u32 {
        b.put(&format!("e/{i:04}"), i.to_be_bytes().to_vec())
            .await
            .unwrap();
    }
    b.put("f/0000", Vec::new()).await.unwrap();
    let keys = |rows: Vec<String>| {
        rows.into_iter()
            .map(|k| k[2..].to_owned())
            .collect::<Vec<_>>()
    };
    let s = Scan::prefix("e/").start("e/0005").end("e/0008");
    assert_eq!(
        keys(b.scan_keys(&s).await.unwrap()),
        ["0005", "0006", "0007"]
    );
    let s = Scan::prefix("e/").limit(3).reverse();
    assert_eq!(
        keys(b.scan_keys(&s).await.unwrap()),
        ["0019", "0018", "0017"]
    );
    let s = Scan::prefix("e/").start("e/0017").reverse();
    assert_eq!(
        keys(b.scan_keys(&s).await.unwrap()),
        ["0019", "0018", "0017"]
    );
    let s = Scan::prefix("e/").end("e/0002").reverse();
    assert_eq!(keys(b.scan_keys(&s).await.unwrap()), ["0001", "0000"]);
    let s = Scan::prefix("e/").start("e/0018").limit(10);
    assert_eq!(
        keys(b.scan_keys(&s).await.unwrap()),
        ["0018", "0019"],
        "prefix bounds the end"
    );
    assert!(
        b.scan(&Scan::prefix("e/").limit(0))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A batch applies every op in order, or none when any key is invalid.
pub async fn batches_are_atomic(b: Arc<dyn StorageBackend>) {
    b.put("keep", b"old".to_vec()).await.unwrap();
    b.put("gone", b"x".to_vec()).await.unwrap();
    let bad = Batch::new()
        .put("a", b"1".to_vec())
        .delete("keep")
        .put("", b"bad".to_vec());
    assert!(
        b.apply_batch(bad).await.is_err(),
        "a batch with an empty key must fail"
    );
    assert_eq!(
        b.get("a").await.unwrap(),
        None,
        "no op of a failed batch may land"
    );
    assert!(
        b.exists("keep").await.unwrap(),
        "no op of a failed batch may land"
    );

    let good = Batch::new()
        .put("a", b"1".to_vec())
        .put("b", b"2".to_vec())
        .delete("gone")
        .put("a", b"3".to_vec());
    b.apply_batch(good).await.unwrap();
    assert_eq!(
        b.get("a").await.unwrap().as_deref(),
        Some(&b"3"[..]),
        "later op wins"
    );
    assert_eq!(b.get("b").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert!(!b.exists("gone").await.unwrap());
    b.apply_batch(Batch::new()).await.unwrap();
}

/// Writers on several tasks lose no write and corrupt no value.
pub async fn concurrent_writers_lose_nothing(b: Arc<dyn StorageBackend>) {
    const WRITERS: usize = 8;
    const EACH: usize = 250;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let key = format!("w{w}/{i:05}");
                b.put(&key, key.as_bytes().to_vec()).await.unwrap();
                if i % 10 == 0 {
                    let batch = Batch::new()
                        .put(format!("w{w}/b{i:05}"), b"x".to_vec())
                        .put("shared", w.to_string().into_bytes());
                    b.apply_batch(batch).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task panicked");
    }
    for w in 0..WRITERS {
        let rows = b.scan(&Scan::prefix(format!("w{w}/"))).await.unwrap();
        assert_eq!(rows.len(), EACH + EACH / 10, "writer {w} lost writes");
        for (k, v) in rows.iter().filter(|(k, _)| !k.contains("/b")) {
            assert_eq!(k.as_bytes(), v.as_slice(), "value of {k} corrupted");
        }
    }
    let shared = b.get("shared").await.unwrap().expect("shared key written");
    let w: usize = String::from_utf8(shared).unwrap().parse().unwrap();
    assert!(w < WRITERS);
}

/// Values of several megabytes round-trip byte for byte.
pub async fn large_values_round_trip(b: Arc<dyn StorageBackend>) {
    let big: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    b.put("big", big.clone()).await.unwrap();
    let back = b.get("big").await.unwrap().expect("big value present");
    assert_eq!(back.len(), big.len());
    assert!(back == big, "large value corrupted");
    let rows = b.scan_prefix("big").await.unwrap();
    assert_eq!(rows[0].1.len(), big.len());
    let long_key = "k".repeat(crate::key::MAX_KEY_LEN);
    b.put(&long_key, b"v".to_vec()).await.unwrap();
    assert!(
        b.exists(&long_key).await.unwrap(),
        "keys of the maximum length are valid"
    );
}

/// Data written and flushed survives closing and reopening the store.
///
/// `open` must open the same store each time; the previous handle is dropped
/// before the next open.
pub async fn persistence_across_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn StorageBackend>>,
{
    {
        let b = open().await;
        assert!(b.is_durable(), "{} claims to be durable", b.name());
        b.put("a", b"1".to_vec()).await.unwrap();
        b.apply_batch(Batch::new().put("b", b"2".to_vec()).put("c", b"3".to_vec()))
            .await
            .unwrap();
        b.delete("c").await.unwrap();
        b.flush().await.unwrap();
    }
    let b = open().await;
    assert_eq!(
        b.get("a").await.unwrap().as_deref(),
        Some(&b"1"[..]),
        "put lost on reopen"
    );
    assert_eq!(
        b.get("b").await.unwrap().as_deref(),
        Some(&b"2"[..]),
        "batch lost on reopen"
    );
    assert!(!b.exists("c").await.unwrap(), "delete lost on reopen");
    assert_eq!(b.scan_keys(&Scan::all()).await.unwrap(), ["a", "b"]);
}
