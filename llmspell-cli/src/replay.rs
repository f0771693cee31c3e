//! `llmspell replay`: recorded hook executions run again against the hooks
//! registered now, and the differences reported.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use crate::cli::RuntimeArgs;

/// `llmspell replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Scripts that register the current hooks (named as when recorded)
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Only the executions of the hook of this name
    #[arg(long, value_name = "NAME")]
    pub(crate) hook: Option<String>,
    /// Only the executions within this operation
    #[arg(long, value_name = "ID")]
    pub(crate) correlation_id: Option<String>,
    /// Print every replayed execution as a JSON array
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,
}

/// Exit codes: 0 every recorded execution replayed with the same result;
/// 1 one differed or had no current hook; 2 bad usage or storage.
pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    crate::scripted::usage_errors("replay", || replay(args))
}

fn replay(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.runtime.config()?;
    // Replaying records nothing new and persists nothing.
    config.record_hooks = false;
    config.persist.clear();
    let runtime = crate::scripted::runtime_with_hooks(config, &args.files)?;
    let filter = json!({ "hook": args.hook, "correlation_id": args.correlation_id });
    let filter = match filter {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reports = rt
        .block_on(runtime.host().replay(&filter))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    runtime.shutdown().map_err(|e| anyhow::anyhow!("{e}"))?;
    let reports = reports.as_array().cloned().unwrap_or_default();
    let differing = reports.iter().filter(|r| r["matches"] != true).count();
    if args.json {
        out!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            let hook = r["replay_id"].as_str().unwrap_or("?");
            let point = r["point"].as_str().unwrap_or("?");
            let recorded = short(&r["recorded"]);
            match (&r["problem"], r["matches"].as_bool()) {
                (Value::String(p), _) => out!("SKIP {hook} at {point}: {p}"),
                (_, Some(true)) => out!("same {hook} at {point}: {recorded}"),
                _ => out!(
                    "DIFF {hook} at {point}: recorded {recorded}, now {}",
                    short(&r["replayed"])
                ),
            }
        }
        out!("{} executions replayed, {differing} differ", reports.len());
    }
    Ok(if differing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A result in one line.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}
