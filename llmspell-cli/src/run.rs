//! `llmspell run` and `llmspell hooks list`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use llmspell_bridge::{Error, ScriptRuntime};
use llmspell_hooks::HookFilter;

use crate::cli::{RunArgs, RuntimeArgs};

/// An error as `file:line: message` (scripts) or a plain message.
fn report(e: &Error) {
    eprintln!("{e}");
}

/// Runs the files in one runtime, waits for callbacks to settle, and exits
/// non-zero when any script had an uncaught error.
pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let effective = args.runtime.effective()?;
    // Dropped last: the spans still buffered are sent before the process ends.
    let endpoint = match (&args.otel_endpoint, &effective.file.runtime.otel_endpoint) {
        (Some(flag), _) => Some(flag.clone()),
        (None, Some(url)) => Some(
            url.parse::<crate::telemetry::OtlpEndpoint>()
                .map_err(|e| anyhow::anyhow!("[runtime] otel_endpoint: {e}"))?,
        ),
        (None, None) => None,
    };
    let _telemetry = endpoint
        .as_ref()
        .map(crate::telemetry::install)
        .transpose()?;
    let mut config = crate::config::runtime_config(&effective)?;
    config.script_args = args.args.clone();
    let nats = crate::nats::nats_config(effective.file.nats.as_ref())?;
    let runtime = ScriptRuntime::new(config).context("cannot start the runtime")?;
    let mut link = match crate::nats::RuntimeLink::start(nats, &runtime) {
        Ok(l) => l,
        Err(e) => {
            runtime.shutdown().context("shutting down")?;
            return Err(e);
        }
    };
    let metrics_addr = args
        .metrics_addr
        .clone()
        .or_else(|| effective.file.runtime.metrics_addr.clone());
    let _metrics = match metrics_addr {
        Some(addr) => {
            let host = runtime.host();
            if !host.builtin_in_use("metrics") {
                host.use_builtin("metrics", &serde_json::Value::Null)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let server = crate::metrics_server::MetricsServer::start(&addr, host.clone())?;
            Some(server)
        }
        None => None,
    };
    let timeout = args
        .timeout
        .filter(|t| t.is_finite() && *t > 0.0)
        .map(Duration::from_secs_f64);
    let mut failed = false;
    if let Err(e) = runtime.preload_configured() {
        report(&e);
        failed = true;
    }
    for file in &args.hooks {
        if let Err(e) = runtime.preload_file(file) {
            report(&e);
            failed = true;
        }
    }
    if let Err(e) = link.serve(&runtime) {
        eprintln!("{e}");
        failed = true;
    }
    if let Err(e) = runtime.start() {
        report(&e);
        link.finish(Duration::from_secs(2));
        runtime.shutdown().context("shutting down")?;
        return Ok(ExitCode::from(1));
    }
    for file in &args.files {
        if let Err(e) = runtime.run_file(file) {
            report(&e);
            failed = true;
        }
    }
    if !runtime.wait_quiescent(timeout) {
        eprintln!(
            "llmspell: callbacks were still running after {:.1} s; stopping",
            timeout.map_or(0.0, |t| t.as_secs_f64())
        );
        failed = true;
    }
    link.finish(Duration::from_secs(10));
    runtime.shutdown().context("shutting down")?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs scripts, then prints the hooks they registered.
pub(crate) fn list_hooks(files: &[PathBuf], args: &RuntimeArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.config()?;
    config.persist.clear();
    config.storage = llmspell_bridge::StorageChoice::Memory;
    let runtime = ScriptRuntime::new(config)?;
    let mut failed = false;
    if let Err(e) = runtime.preload_configured() {
        report(&e);
        failed = true;
    }
    for f in files {
        if let Err(e) = runtime.run_file(f) {
            report(&e);
            failed = true;
        }
    }
    runtime.wait_quiescent(Some(Duration::from_secs(10)));
    for h in runtime.hooks().list(&HookFilter::new()) {
        out!(
            "{:<6} {:<28} {:<8} {:<11} {}{}",
            h.id,
            h.point.to_string(),
            h.priority.to_string(),
            h.language.to_string(),
            h.name,
            if h.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", h.tags.join(", "))
            }
        );
    }
    runtime.shutdown()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
