//! put / get / prefix-scan throughput of both backends.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_storage::{MemoryBackend, Scan, SledBackend, StorageBackend};

fn backends() -> Vec<(
    &'static str,
    Arc<dyn StorageBackend>,
    Option<tempfile::TempDir>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledBackend::open(dir.path().join("db")).unwrap();
    vec![
        ("memory", Arc::new(MemoryBackend::new()), None),
        ("sled", Arc::new(sled), Some(dir)),
    ]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (name, backend, _dir) in backends() {
        let mut group = c.benchmark_group(format!("storage/{name}"));
        let value = vec![42u8; 256];
        let mut i = 0u64;
        group.bench_function("put_256b", |b| {
            b.to_async(&rt).iter(|| {
                i += 1;
                let key = format!("bench/{:012}", i % 10_000);
                let backend = backend.clone();
                let value = value.clone();
                async move { backend.put(&key, value).await.unwrap() }
            })
        });
        rt.block_on(async {
            for i in 0..10_000u64 {
                backend
                    .put(&format!("bench/{i:012}"), value.clone())
                    .await
                    .unwrap();
            }
        });
        let mut j = 0u64;
        group.bench_function("get_256b", |b| {
            b.to_async(&rt).iter(|| {
                j = (j + 7919) % 10_000;
                let key = format!("bench/{j:012}");
                let backend = backend.clone();
                async move { black_box(backend.get(&key).await.unwrap()) }
            })
        });
        group.bench_function("scan_prefix_100", |b| {
            b.to_async(&rt).iter(|| {
                let backend = backend.clone();
                async move {
                    let rows = backend
                        .scan(&Scan::prefix("bench/00000000").limit(100))
                        .await;
                    black_box(rows.unwrap().len())
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
