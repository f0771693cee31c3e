//! What the commands that fire or replay hooks share (`hooks test`,
//! `replay`): a runtime holding the configuration's hooks and those the
//! given scripts register, and bad usage reported with exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use llmspell_bridge::{RuntimeConfig, ScriptRuntime};

/// A runtime from `config` with the configured script hook files and
/// `files` run, their callbacks settled.
///
/// # Errors
/// A runtime that cannot start, or a script that fails.
pub(crate) fn runtime_with_hooks(
    config: RuntimeConfig,
    files: &[PathBuf],
) -> anyhow::Result<ScriptRuntime> {
    let runtime = ScriptRuntime::new(config).context("cannot start the runtime")?;
    runtime
        .preload_configured()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for f in files {
        runtime.run_file(f).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    runtime.wait_quiescent(Some(Duration::from_secs(10)));
    Ok(runtime)
}

/// Runs `command`; an error is printed after `llmspell <name>:` and exits
/// with status 2 (bad usage), as the commands' help texts promise.
pub(crate) fn usage_errors(
    name: &str,
    command: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    match command() {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("llmspell {name}: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}
