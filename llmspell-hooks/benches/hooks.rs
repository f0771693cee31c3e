//! Hook benchmarks: empty points, one and ten no-op hooks (with direct-call
//! baselines), registration into a long list, and the guarded runner.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bench::hooks::NoopHook;
use llmspell_core::ComponentId;
use llmspell_hooks::{
    GuardPoints, GuardSpec, GuardedRunner, Hook, HookContext, HookExecutor, HookPoint, HookRegistry,
};
use serde_json::json;

fn ctx() -> HookContext {
    HookContext::new(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("bench"),
        json!({ "x": 1 }),
    )
}

fn executor_with(n: usize) -> HookExecutor {
    let registry = HookRegistry::new();
    for _ in 0..n {
        registry
            .register(HookPoint::BeforeToolExecution, NoopHook)
            .forget();
    }
    HookExecutor::new(registry)
}

fn firing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("hooks/fire");
    for n in [0usize, 1, 10] {
        let executor = executor_with(n);
        let mut cx = ctx();
        g.bench_function(format!("{n}_noop_hooks"), |b| {
            b.iter(|| {
                rt.block_on(async { black_box(executor.execute_point(&mut cx).await.is_ok()) })
            })
        });
    }
    let mut cx = ctx();
    g.bench_function("baseline_direct_call", |b| {
        b.iter(|| rt.block_on(async { black_box(NoopHook.execute(&mut cx).await.is_ok()) }))
    });
    g.finish();
}

fn registration(c: &mut Criterion) {
    let registry = HookRegistry::new();
    for _ in 0..1000 {
        registry
            .register(HookPoint::BeforeToolExecution, NoopHook)
            .forget();
    }
    c.bench_function("hooks/register_with_1000_on_the_point", |b| {
        b.iter(|| {
            let h = registry.register(HookPoint::BeforeToolExecution, NoopHook);
            black_box(h.unregister())
        })
    });
}

fn runner(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("hooks/guarded_runner");
    for n in [0usize, 2] {
        let registry = HookRegistry::new();
        for i in 0..n {
            let point = if i % 2 == 0 {
                HookPoint::BeforeToolExecution
            } else {
                HookPoint::AfterToolExecution
            };
            registry.register(point, NoopHook).forget();
        }
        let runner = GuardedRunner::new(HookExecutor::new(registry));
        let spec = GuardSpec::new(ComponentId::tool("bench"), GuardPoints::tool());
        g.bench_function(format!("{n}_noop_hooks"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let out = runner
                        .run_context(&spec, ctx(), |call| async move { Ok(call.input) })
                        .await;
                    black_box(out.is_ok())
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, firing, registration, runner);
criterion_main!(benches);
