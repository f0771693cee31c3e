//! The overhead of each built-in hook through the executor, beside two
//! baselines measured in the same run: a point with no hooks and a point
//! with one no-op hook.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llmspell_bench::hooks::NoopHook;
use llmspell_core::{ComponentId, Error};
use llmspell_hooks::builtin::{
    Budget, CachingHook, CostTrackingHook, DebuggingHook, LoggingHook, MetricsHook, ModelPrice,
    PricingTable, RateLimitHook, RateQuota, RetryHook, SecurityHook,
};
use llmspell_hooks::{Hook, HookContext, HookExecutor, HookPoint, HookRegistry};
use serde_json::{Value, json};

/// A benchmark: its name, the point, the hook (none: the empty point) and the context.
type Case = (&'static str, HookPoint, Option<Arc<dyn Hook>>, HookContext);

fn input() -> Value {
    json!({
        "operation": "read",
        "path": "reports/2026/summary.txt",
        "options": { "encoding": "utf-8", "max_bytes": 65536 },
        "api_key": "sk-not-a-real-key",
    })
}

fn ctx(point: HookPoint, component: ComponentId, data: Value) -> HookContext {
    let mut c = HookContext::new(point, component, data).with_metadata("tenant", "acme");
    c.elapsed = Some(Duration::from_micros(850));
    c
}

fn before() -> HookContext {
    ctx(
        HookPoint::BeforeToolExecution,
        ComponentId::tool("file_operations"),
        input(),
    )
}

fn executor_with(point: HookPoint, hook: Option<Arc<dyn Hook>>) -> HookExecutor {
    let registry = HookRegistry::new();
    if let Some(h) = hook {
        registry.register(point, h).forget();
    }
    HookExecutor::new(registry)
}

fn builtin(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let llm_response = json!({
        "content": "Hello!",
        "model": "gpt-4o-mini-2024-07-18",
        "provider": "openai",
        "usage": { "input_tokens": 120, "output_tokens": 30, "total_tokens": 150 },
        "finish_reason": "stop",
    });
    let llm_request = json!({
        "model": "gpt-4o-mini",
        "provider": "openai",
        "messages": [{ "role": "user", "content": "Summarise the report in three lines." }],
        "max_tokens": 256,
    });
    let error = Error::External {
        service: "openai".into(),
        message: "503".into(),
        retryable: true,
        source: None,
    }
    .to_json();
    let cost = || -> Arc<dyn Hook> {
        Arc::new(
            CostTrackingHook::builder()
                .pricing(PricingTable::with_defaults().with("x", "y", ModelPrice::new(0.1, 0.1)))
                .total_budget(Budget::new(1e12))
                .build()
                .unwrap(),
        )
    };
    let llm = || ComponentId::agent("writer");

    let cases: Vec<Case> = vec![
        (
            "baseline_empty_point",
            HookPoint::BeforeToolExecution,
            None,
            before(),
        ),
        (
            "baseline_noop_hook",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(NoopHook)),
            before(),
        ),
        (
            "logging_no_subscriber",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(LoggingHook::builder().build().unwrap())),
            before(),
        ),
        (
            "metrics",
            HookPoint::AfterToolExecution,
            Some(Arc::new(MetricsHook::builder().build().unwrap())),
            ctx(
                HookPoint::AfterToolExecution,
                ComponentId::tool("file_operations"),
                json!({ "bytes": 512 }),
            ),
        ),
        (
            "debugging",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(
                DebuggingHook::builder().capacity(1024).build().unwrap(),
            )),
            before(),
        ),
        (
            "security_validation",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(
                SecurityHook::builder()
                    .max_payload_bytes(1 << 20)
                    .deny_absolute_paths(true)
                    .deny_pattern("shell", r"[;&|`]\s*rm\s")
                    .build()
                    .unwrap(),
            )),
            before(),
        ),
        (
            "caching_key",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(
                CachingHook::builder()
                    .key_metadata(["tenant"])
                    .build()
                    .unwrap(),
            )),
            before(),
        ),
        (
            "rate_limit_allowed",
            HookPoint::BeforeToolExecution,
            Some(Arc::new(
                RateLimitHook::builder()
                    .default_quota(RateQuota::per_second(1_000_000_000))
                    .build()
                    .unwrap(),
            )),
            before(),
        ),
        (
            "retry_decision",
            HookPoint::ToolError,
            Some(Arc::new(RetryHook::builder().build().unwrap())),
            ctx(
                HookPoint::ToolError,
                ComponentId::tool("file_operations"),
                error,
            ),
        ),
        (
            "cost_tracking_after",
            HookPoint::AfterLlmCall,
            Some(cost()),
            ctx(HookPoint::AfterLlmCall, llm(), llm_response),
        ),
        (
            "cost_guard_before",
            HookPoint::BeforeLlmCall,
            Some(cost()),
            // As a retried call (attempt 2), each firing replaces the estimate the
            // previous one held, so the bench measures the steady state of one
            // call in flight rather than an ever-growing set of reservations.
            ctx(HookPoint::BeforeLlmCall, llm(), llm_request).with_metadata("attempt", "2"),
        ),
    ];

    let mut g = c.benchmark_group("builtin/fire");
    for (name, point, hook, mut cx) in cases {
        let executor = executor_with(point, hook);
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async { black_box(executor.execute_point(&mut cx).await.is_ok()) })
            })
        });
    }
    // The no-op baseline again, at the end, to show drift within the run.
    let executor = executor_with(HookPoint::BeforeToolExecution, Some(Arc::new(NoopHook)));
    let mut cx = before();
    g.bench_function("baseline_noop_hook_again", |b| {
        b.iter(|| rt.block_on(async { black_box(executor.execute_point(&mut cx).await.is_ok()) }))
    });
    // Logging with a subscriber that formats every event (to a sink).
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let executor = executor_with(
        HookPoint::BeforeToolExecution,
        Some(Arc::new(LoggingHook::builder().build().unwrap())),
    );
    let mut cx = before();
    g.bench_function("logging_formatted", |b| {
        b.iter(|| rt.block_on(async { black_box(executor.execute_point(&mut cx).await.is_ok()) }))
    });
    g.finish();
}

criterion_group!(benches, builtin);
criterion_main!(benches);
