#![allow(missing_docs, clippy::unwrap_used)]
use std::hint::black_box;
use std::time::Instant;
use llmspell_hooks::*;
fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ex = HookExecutor::new(HookRegistry::new());
    let mut ctx = HookContext::new(HookPoint::BeforeToolExecution, llmspell_core::ComponentId::tool("b"), serde_json::json!({}));
    let n = 5_000_000u32;
    let t = Instant::now();
    for _ in 0..n { black_box(ex.registry().has_hooks(black_box(&ctx.point))); }
    println!("has_hooks {:.2}ns", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    rt.block_on(async { for _ in 0..n { let r = ex.execute_point(&mut ctx).await; black_box(&r); } });
    println!("execute_point {:.2}ns", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    rt.block_on(async { for _ in 0..n { let r = ex.execute_point(&mut ctx).await; black_box(r.is_ok()); } });
    let t = Instant::now();
    rt.block_on(async { for _ in 0..n { let r: Result<PointOutcome, llmspell_core::Error> = std::future::ready(Ok(PointOutcome::CONTINUE)).await; black_box(r.is_ok()); } });
    println!("floor ready(Result<PointOutcome>) {:.2}ns", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    rt.block_on(async { for _ in 0..n { let r = std::future::ready(1u8).await; black_box(r); } });
    println!("floor ready(u8) {:.2}ns", t.elapsed().as_nanos() as f64 / n as f64);
    println!("execute_point is_ok {:.2}ns", t.elapsed().as_nanos() as f64 / n as f64);
}
#[allow(dead_code)]
fn floor() {}
