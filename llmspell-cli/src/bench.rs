//! `llmspell bench`: the performance suite of `llmspell-bench`, described in
//! `docs/technical/performance.md`.

use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use llmspell_bench::{Measurement, suite};

fn line(m: &Measurement) -> String {
    let ratio = m
        .ratio
        .map(|r| format!(" ratio {r:.2}"))
        .unwrap_or_default();
    let baseline = m
        .baseline
        .map(|b| format!(" baseline {b:.1}"))
        .unwrap_or_default();
    format!(
        "{:<30} {:>14.1} {:<6}{baseline}{ratio}  target {}  {}",
        m.metric,
        m.value,
        m.unit,
        m.target,
        if m.met { "met" } else { "NOT MET" }
    )
}

/// What `llmspell bench` was asked for.
pub(crate) struct BenchArgs {
    /// Print the results as JSON (and no progress).
    pub(crate) json: bool,
    /// Exit non-zero when a target is missed.
    pub(crate) check: bool,
    /// Metric id prefixes to run (all when empty).
    pub(crate) only: Vec<String>,
}

/// A bar on stderr while metrics run, when stderr is a terminal and the
/// output is not JSON; hidden otherwise.
fn progress(total: usize, json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed:>4} {msg}") {
        bar.set_style(style);
    }
    bar
}

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!("llmspell bench: this is a debug build; figures mean little (use --release)");
    }
    let only = &args.only;
    let selected: Vec<_> = suite()
        .into_iter()
        .filter(|m| only.is_empty() || only.iter().any(|p| m.id.starts_with(p.as_str())))
        .collect();
    if selected.is_empty() {
        let ids: Vec<_> = suite().into_iter().map(|m| m.id).collect();
        anyhow::bail!(
            "no metric id starts with {}; the ids are: {}",
            only.join(" or "),
            ids.join(", ")
        );
    }
    let started = Instant::now();
    let bar = progress(selected.len(), args.json);
    let mut results = Vec::new();
    for metric in selected {
        bar.set_message(metric.id);
        let t = Instant::now();
        let m = match (metric.run)() {
            Ok(m) => m,
            Err(e) => Measurement::new(metric.id, f64::NAN, "ns")
                .with_target(format!("failed to run: {e:#}"), false),
        };
        if !args.json {
            bar.suspend(|| eprintln!("[{:>5.1}s] {}", t.elapsed().as_secs_f64(), line(&m)));
        }
        bar.inc(1);
        results.push(m);
    }
    bar.finish_and_clear();
    let missed: Vec<&str> = results
        .iter()
        .filter(|m| !m.met)
        .map(|m| m.metric.as_str())
        .collect();
    eprintln!(
        "{} of {} targets met in {:.1} s",
        results.len() - missed.len(),
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if args.json {
        out!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for m in &results {
            out!("{}", line(m));
        }
    }
    if args.check && !missed.is_empty() {
        eprintln!("llmspell bench --check: missed {}", missed.join(", "));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
