//! Tool call cost: direct `Tool::execute` (the baseline) against the hooked
//! registry path with no hooks and with two no-op hooks.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bench::hooks::NoopHook;
use llmspell_core::{ExecutionContext, Tool};
use llmspell_hooks::{GuardedRunner, HookExecutor, HookPoint, HookRegistry};
use llmspell_tools::ToolRegistry;
use llmspell_tools::utility::{Calculator, HashCalculator};
use serde_json::json;

fn registry(hooks: usize) -> ToolRegistry {
    let h = HookRegistry::new();
    for i in 0..hooks {
        let p = if i % 2 == 0 {
            HookPoint::BeforeToolExecution
        } else {
            HookPoint::AfterToolExecution
        };
        h.register(p, NoopHook).forget();
    }
    let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(h)));
    tools.register(Arc::new(Calculator::new())).unwrap();
    tools
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = ExecutionContext::native();
    let params = json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } });
    let mut g = c.benchmark_group("tools/calculator");
    let calculator = Calculator::new();
    g.bench_function("direct_execute_baseline", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(calculator.execute(params.clone(), &ctx))
                    .unwrap(),
            )
        })
    });
    for hooks in [0usize, 2] {
        let tools = registry(hooks);
        g.bench_function(format!("invoke_{hooks}_hooks"), |b| {
            b.iter(|| {
                black_box(
                    rt.block_on(tools.invoke("calculator", params.clone(), &ctx))
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
    let hasher = HashCalculator::new();
    let params = json!({ "operation": "hash", "algorithm": "sha256", "input": "abc" });
    c.bench_function("tools/hash_calculator_sha256_direct", |b| {
        b.iter(|| black_box(rt.block_on(hasher.execute(params.clone(), &ctx)).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
