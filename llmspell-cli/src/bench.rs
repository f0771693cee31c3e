//! `llmspell bench`: the performance suite of `llmspell-bench`, described in
//! `docs/technical/performance.md`.

use std::process::ExitCode;
use std::time::Instant;

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

pub(crate) fn run(json: bool, only: &[String]) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!("llmspell bench: this is a debug build; figures mean little (use --release)");
    }
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
    let mut results = Vec::new();
    for metric in selected {
        let t = Instant::now();
        let m = match (metric.run)() {
            Ok(m) => m,
            Err(e) => Measurement::new(metric.id, f64::NAN, "ns")
                .with_target(format!("failed to run: {e:#}"), false),
        };
        eprintln!("[{:>5.1}s] {}", t.elapsed().as_secs_f64(), line(&m));
        results.push(m);
    }
    eprintln!(
        "{} of {} targets met in {:.1} s",
        results.iter().filter(|m| m.met).count(),
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if json {
        out!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for m in &results {
            out!("{}", line(m));
        }
    }
    Ok(ExitCode::SUCCESS)
}
