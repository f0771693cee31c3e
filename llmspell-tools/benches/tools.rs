//! Per-call cost of cheap built-in tools called directly through `Tool::execute`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_core::{ExecutionContext, Tool};
use llmspell_tools::utility::{Calculator, HashCalculator};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ctx = ExecutionContext::native();
    let calculator = Calculator::new();
    let params = json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } });
    c.bench_function("tools/calculator", |b| {
        b.iter(|| {
            let out = rt
                .block_on(calculator.execute(black_box(params.clone()), &ctx))
                .unwrap();
            black_box(out)
        })
    });
    let hasher = HashCalculator::new();
    let params = json!({ "operation": "hash", "algorithm": "sha256", "input": "abc" });
    c.bench_function("tools/hash_calculator_sha256", |b| {
        b.iter(|| {
            let out = rt
                .block_on(hasher.execute(black_box(params.clone()), &ctx))
                .unwrap();
            black_box(out)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
