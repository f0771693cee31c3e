//! Workflow overhead: a 10-step sequential workflow of function steps with
//! no hooks, and with a no-op hook at `BeforeWorkflowStage` and
//! `AfterWorkflowStage`; the baseline is the 10 step functions called
//! directly in a row.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bench::hooks::NoopHook;
use llmspell_core::ExecutionContext;
use llmspell_hooks::{GuardedRunner, HookExecutor, HookPoint, HookRegistry};
use llmspell_workflows::{
    SequentialWorkflow, Step, StepFn, WorkflowEngine, WorkflowState, step_fn,
};
use serde_json::{Value, json};

const STEPS: usize = 10;

fn add_one() -> StepFn {
    step_fn(|input: Value, _state| async move { Ok(json!(input.as_i64().unwrap_or(0) + 1)) })
}

fn workflow(stage_hooks: bool) -> SequentialWorkflow {
    let hooks = HookRegistry::new();
    if stage_hooks {
        hooks
            .register(HookPoint::BeforeWorkflowStage, NoopHook)
            .forget();
        hooks
            .register(HookPoint::AfterWorkflowStage, NoopHook)
            .forget();
    }
    let engine = WorkflowEngine::new(GuardedRunner::new(HookExecutor::new(hooks)));
    let mut b = SequentialWorkflow::builder("bench").engine(engine);
    for i in 0..STEPS {
        b = b.step(Step::function(format!("s{i}"), add_one()).input(json!(i)));
    }
    b.build().unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exec = ExecutionContext::native();
    let mut g = c.benchmark_group("workflows/sequential_10_fn_steps");
    let f = add_one();
    g.bench_function("direct_calls_baseline", |b| {
        b.iter(|| {
            rt.block_on(async {
                let state = WorkflowState::default();
                for i in 0..STEPS {
                    black_box(f(json!(i), state.clone()).await.unwrap());
                }
            })
        })
    });
    for (label, hooked) in [("no_hooks", false), ("noop_stage_hooks", true)] {
        let wf = workflow(hooked);
        g.bench_function(label, |b| {
            b.iter(|| black_box(rt.block_on(wf.run(json!(null), &exec)).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
