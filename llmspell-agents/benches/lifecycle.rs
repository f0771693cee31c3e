//! Agent invocation cost: the trivial handler's work called directly (the
//! baseline), then a basic agent running it through the lifecycle with no
//! hooks registered and with a no-op hook on every agent point; the same
//! two for an agent whose handler makes one calculator tool call.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bench::agents::{input, runtime, tool_agent, trivial_agent, trivial_work};
use llmspell_core::ExecutionContext;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    let p = input();
    let mut g = c.benchmark_group("agents/lifecycle");
    g.bench_function("direct_handler_baseline", |b| {
        b.iter(|| black_box(rt.block_on(trivial_work(p.clone())).unwrap()))
    });
    for (name, hooked) in [
        ("invoke_no_hooks", false),
        ("invoke_noop_hooks_every_point", true),
    ] {
        let agents = runtime(hooked);
        let agent = trivial_agent(&agents).unwrap();
        rt.block_on(agent.initialize(&exec)).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.block_on(agent.invoke(p.clone(), &exec)).unwrap()))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("agents/tool_handler");
    for (name, hooked) in [
        ("invoke_no_hooks", false),
        ("invoke_noop_hooks_every_point", true),
    ] {
        let agents = runtime(hooked);
        let agent = tool_agent(&agents).unwrap();
        rt.block_on(agent.initialize(&exec)).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.block_on(agent.invoke(p.clone(), &exec)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
