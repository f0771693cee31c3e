//! A fixed number of calculator calls, direct or through the guarded tool
//! registry with no-op `hook_fn` hooks, for comparing builds by instruction
//! count (wall time on a shared machine swings too much for that):
//!
//! ```text
//! cargo build --release -p llmspell-bench --example guard_probe
//! valgrind --tool=callgrind --toggle-collect='*invoke_with*' \
//!     target/release/examples/guard_probe guarded 2000 2
//! ```
//!
//! Arguments: `direct` or `guarded`, the number of calls, and the number of
//! hooks (alternately `BeforeToolExecution` and `AfterToolExecution`,
//! declared `ActionSet::OBSERVE`; default 2) and optionally `hash:KIB`, which
//! calls `hash_calculator` (sha256 of a KIB KiB string) instead of the
//! calculator. The collected instructions
//! divided by the calls are the cost of one call; the difference between
//! two hook counts is the cost of those hooks. `sizes 0` prints the sizes
//! of the guarded path's futures instead: every call moves them, so their
//! size is part of its cost.
#![allow(clippy::print_stderr)]

use std::sync::Arc;

use llmspell_core::{ExecutionContext, Tool};
use llmspell_hooks::{
    ActionSet, GuardedRunner, HookContext, HookExecutor, HookPoint, HookRegistry, HookResult,
    hook_fn,
};
use llmspell_tools::ToolRegistry;
use llmspell_tools::utility::{Calculator, HashCalculator};

/// The allocator of the `llmspell` binary, whose `bench` these calls stand
/// for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: guard_probe direct|guarded|sizes CALLS [HOOKS] [hash:KIB]";
    let mode = args.next().ok_or(usage)?;
    let calls: u32 = args.next().ok_or(usage)?.parse()?;
    let hooks: usize = args.next().map_or(Ok(2), |n| n.parse())?;
    let hash_kib: Option<usize> = match args.next() {
        None => None,
        Some(arg) => Some(
            arg.strip_prefix("hash:")
                .ok_or(usage)?
                .parse()
                .map_err(|_| usage)?,
        ),
    };
    let registry = HookRegistry::new();
    for i in 0..hooks {
        let point = if i % 2 == 0 {
            HookPoint::BeforeToolExecution
        } else {
            HookPoint::AfterToolExecution
        };
        let noop = |_ctx: Arc<HookContext>| async { Ok(HookResult::Continue) };
        registry
            .register(point, hook_fn(noop).returns(ActionSet::OBSERVE))
            .forget();
    }
    let tool: Arc<dyn Tool> = if hash_kib.is_some() {
        Arc::new(HashCalculator::new())
    } else {
        Arc::new(Calculator::new())
    };
    let name = tool.metadata().name().to_string();
    let tools = ToolRegistry::new(GuardedRunner::new(HookExecutor::new(registry)));
    tools.register(tool.clone())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let exec = ExecutionContext::native();
    let params = match hash_kib {
        Some(kib) => llmspell_bench::tools::hash_params(kib),
        None => llmspell_bench::tools::calculator_params(),
    };
    if mode == "sizes" {
        use llmspell_core::ComponentId;
        use llmspell_hooks::{GuardPoints, GuardSpec, OperationCall};
        let runner = GuardedRunner::new(HookExecutor::new(HookRegistry::new()));
        let spec = GuardSpec::new(
            ComponentId::new(llmspell_core::ComponentType::Tool, "calculator"),
            GuardPoints::tool(),
        );
        let op = |c: OperationCall| {
            let t = tool.clone();
            let e = exec.clone();
            async move { t.execute(c.input, &e).await }
        };
        let f = runner.run(&spec, &exec, params.clone(), op);
        eprintln!("run: {}", std::mem::size_of_val(&f));
        drop(f);
        let before = || {
            HookContext::new(
                HookPoint::BeforeToolExecution,
                ComponentId::new(llmspell_core::ComponentType::Tool, "calculator"),
                serde_json::Value::Null,
            )
        };
        let f = runner.run_context(&spec, before(), op);
        eprintln!("run_context: {}", std::mem::size_of_val(&f));
        drop(f);
        let f = runner.executor().fire(before());
        eprintln!("fire: {}", std::mem::size_of_val(&f));
        eprintln!(
            "HookContext: {}, GuardOutcome: {}, Value: {}, Error: {}",
            std::mem::size_of::<HookContext>(),
            std::mem::size_of::<llmspell_hooks::GuardOutcome>(),
            std::mem::size_of::<serde_json::Value>(),
            std::mem::size_of::<llmspell_core::Error>()
        );
        let f2 = tools.invoke("calculator", params.clone(), &exec);
        eprintln!("invoke: {}", std::mem::size_of_val(&f2));
        return Ok(());
    }
    let guarded = match mode.as_str() {
        "direct" => false,
        "guarded" => true,
        other => return Err(format!("unknown mode `{other}`; {usage}").into()),
    };
    rt.block_on(async {
        for _ in 0..calls {
            let result = if guarded {
                tools.invoke(&name, params.clone(), &exec).await
            } else {
                tool.execute(params.clone(), &exec).await
            };
            std::hint::black_box(&result);
        }
    });
    eprintln!("{calls} {mode} calls, {hooks} hooks");
    Ok(())
}
