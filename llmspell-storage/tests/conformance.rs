//! Both backends pass the whole conformance suite, one test per check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use llmspell_storage::{MemoryBackend, SledBackend, StorageBackend, conformance};

macro_rules! suite {
    ($backend:ident, $open:expr) => {
        mod $backend {
            use super::*;
            suite!(@check $open, put_get_delete);
            suite!(@check $open, empty_keys_are_rejected);
            suite!(@check $open, prefix_scans_are_ordered);
            suite!(@check $open, scan_bounds_limit_and_reverse);
            suite!(@check $open, batches_are_atomic);
            suite!(@check $open, concurrent_writers_lose_nothing);
            suite!(@check $open, large_values_round_trip);

            #[test]
            fn suite_covers_every_check() {
                assert_eq!(conformance::CHECKS.len(), 7, "add the new check to this macro");
            }
        }
    };
    (@check $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (backend, _guard) = $open;
            conformance::run(stringify!($name), backend).await;
        }
    };
}

fn memory() -> (Arc<dyn StorageBackend>, ()) {
    (Arc::new(MemoryBackend::new()), ())
}

fn sled() -> (Arc<dyn StorageBackend>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let backend = SledBackend::open(dir.path().join("db")).unwrap();
    (Arc::new(backend), dir)
}

suite!(memory_backend, memory());
suite!(sled_backend, sled());

#[tokio::test]
async fn sled_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    conformance::persistence_across_reopen(|| {
        let path = path.clone();
        async move { Arc::new(SledBackend::open(path).unwrap()) as Arc<dyn StorageBackend> }
    })
    .await;
}
