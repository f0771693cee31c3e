//! `llmspell hooks test`: fire one point against the hooks of some files
//! and print the decision, for people writing hooks and for CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use llmspell_bridge::{CallOptions, StorageChoice};
use llmspell_core::Language;
use serde::Deserialize;
use serde_json::Value;

use crate::cli::RuntimeArgs;

/// `llmspell hooks test`.
#[derive(Debug, Args)]
pub(crate) struct HooksTestArgs {
    /// Script files (.lua, .js) whose code registers hooks; their hooks,
    /// and those of the configuration file (built-in and command hooks),
    /// are the ones fired
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// The point to fire
    #[arg(long, required_unless_present = "fixtures")]
    pub(crate) point: Option<String>,
    /// The data the hooks see, as JSON
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub(crate) data: String,
    /// The component the firing concerns (what `component` filters match)
    #[arg(long, value_name = "NAME")]
    pub(crate) component: Option<String>,
    /// Exit 1 unless the final action is this one (continue, modified,
    /// cancel, replace, redirect, retry, fork, cache, skipped)
    #[arg(long, value_name = "ACTION")]
    pub(crate) expect: Option<String>,
    /// Run every `*.json` fixture in DIR (`{"point", "data", "component",
    /// "expect"}`), one line each
    #[arg(long, value_name = "DIR", conflicts_with_all = ["point", "expect"])]
    pub(crate) fixtures: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,
}

/// A fixture file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    point: String,
    #[serde(default)]
    data: Value,
    component: Option<String>,
    expect: Option<String>,
}

/// Exit codes: 0 the firing ran (and met `--expect`, or every fixture
/// passed); 1 an expectation was not met; 2 bad usage (an unknown point,
/// data that is not JSON, a script that fails to load, a bad fixture).
pub(crate) fn run(args: &HooksTestArgs) -> anyhow::Result<ExitCode> {
    crate::scripted::usage_errors("hooks test", || try_run(args))
}

fn try_run(args: &HooksTestArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.runtime.config()?;
    config.persist.clear();
    config.storage = StorageChoice::Memory;
    let runtime = crate::scripted::runtime_with_hooks(config, &args.files)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fire = |point: &str, data: Value, component: Option<String>| {
        let options = CallOptions {
            component,
            ..CallOptions::default()
        };
        rt.block_on(
            runtime
                .host()
                .fire_hook(point, data, &options, Language::Native),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let code = match &args.fixtures {
        Some(dir) => fixtures(dir, &fire)?,
        None => {
            let point = args.point.as_deref().unwrap_or_default();
            let data: Value = serde_json::from_str(&args.data)
                .with_context(|| format!("--data is not JSON: {}", args.data))?;
            let result = fire(point, data, args.component.clone())?;
            out!("{}", serde_json::to_string(&result)?);
            match &args.expect {
                Some(want) if !matches(&result, want) => {
                    eprintln!(
                        "expected {want}, got {}",
                        result["action"].as_str().unwrap_or("?")
                    );
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
    };
    runtime.shutdown().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(code)
}

/// Whether `result`'s action is `want` (`skip` and `skipped` alike).
fn matches(result: &Value, want: &str) -> bool {
    let got = result["action"].as_str().unwrap_or_default();
    let norm = |a: &str| {
        if a == "skip" {
            "skipped".to_owned()
        } else {
            a.to_ascii_lowercase()
        }
    };
    norm(got) == norm(want)
}

/// Fires a point with data for a component; the decision as JSON.
type Fire<'a> = &'a dyn Fn(&str, Value, Option<String>) -> anyhow::Result<Value>;

fn fixtures(dir: &Path, fire: Fire<'_>) -> anyhow::Result<ExitCode> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the fixtures directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no *.json fixtures in {}", dir.display());
    }
    let mut failed = 0;
    for path in &paths {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        let fixture: Fixture = serde_json::from_str(&text).with_context(|| {
            format!("{name}: not a fixture ({{\"point\", \"data\", \"component\", \"expect\"}})")
        })?;
        let result = fire(&fixture.point, fixture.data, fixture.component)?;
        let action = result["action"].as_str().unwrap_or("?").to_owned();
        let reason = result
            .get("reason")
            .and_then(Value::as_str)
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        match &fixture.expect {
            Some(want) if !matches(&result, want) => {
                failed += 1;
                out!("FAIL {name}: expected {want}, got {action}{reason}");
            }
            Some(_) => out!("ok   {name}: {action}{reason}"),
            None => out!("--   {name}: {action}{reason}"),
        }
    }
    out!("{} fixtures, {failed} failed", paths.len());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
