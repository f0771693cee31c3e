//! `llmspell trace [ID]`: a correlation trace rebuilt from the persisted
//! span events of earlier runs, as a tree with its analysis; without an id,
//! the most recent traces.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use llmspell_core::CorrelationId;
use llmspell_events::EventQuery;
use llmspell_hooks::{TRACE_TOPIC, Trace};
use serde_json::json;

/// `llmspell trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The trace id (the root operation's correlation id) or the correlation
    /// id of any operation in it; omitted: list the most recent traces
    #[arg(value_name = "ID")]
    id: Option<String>,
    /// Print JSON: `{ "trace": …, "analysis": … }` (or the list)
    #[arg(long)]
    json: bool,
    /// How many slowest operations and hooks the analysis lists
    #[arg(long, default_value_t = 5, value_name = "N")]
    top: usize,
    /// How many traces the list shows
    #[arg(long, default_value_t = 20, value_name = "N")]
    limit: usize,
    /// Where the events are kept [default: `[storage] data_dir` of
    /// llmspell.toml, or .llmspell]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub(crate) fn run(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let store = crate::events::open_store(args.data_dir.as_deref())?;
    let rt = crate::events::runtime()?;
    let Some(id) = &args.id else {
        return list(
            args,
            &rt.block_on(store.query(&EventQuery::new().pattern(TRACE_TOPIC)?))?,
        );
    };
    let id = CorrelationId::parse_field("trace id", id)?;
    let Some(trace) = rt.block_on(Trace::load(&store, &id))? else {
        eprintln!(
            "no trace {id} in the persisted events; spans are persisted when a run keeps \
             traces (`--traces`, default 256) and persists `trace.span` (the default `**` does) \
             with sled storage. `llmspell trace` lists the traces there."
        );
        return Ok(ExitCode::from(1));
    };
    let analysis = trace.analyse(args.top);
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&json!({ "trace": trace, "analysis": analysis }))?
        );
    } else {
        out!("{}", trace.render());
        out!("{}", analysis.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// The most recent traces among span events, newest first.
fn list(args: &TraceArgs, events: &[llmspell_events::UniversalEvent]) -> anyhow::Result<ExitCode> {
    let mut by_trace: HashMap<&CorrelationId, Vec<&llmspell_events::UniversalEvent>> =
        HashMap::new();
    for ev in events {
        if let Some(c) = &ev.metadata.correlation_id {
            by_trace.entry(c).or_default().push(ev);
        }
    }
    let mut traces = Vec::new();
    for (id, evs) in by_trace {
        traces.push(Trace::from_events(id.clone(), evs)?);
    }
    traces.sort_by_key(|t| std::cmp::Reverse(t.start()));
    traces.truncate(args.limit);
    if args.json {
        let list: Vec<_> = traces
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "root": t.roots().next().map(llmspell_hooks::trace::Span::label),
                    "start": t.start(),
                    "duration_ms": t.duration_us() as f64 / 1000.0,
                    "spans": t.spans.len(),
                })
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if traces.is_empty() {
        out!("no traces persisted yet (run scripts with `llmspell run` first)");
    }
    for t in &traces {
        out!(
            "{}  {:<40} {:>10.3} ms  {:>4} operation(s)  {}",
            t.start()
                .map(|s| s.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                .unwrap_or_default(),
            t.roots()
                .next()
                .map(llmspell_hooks::trace::Span::label)
                .unwrap_or_default(),
            t.duration_us() as f64 / 1000.0,
            t.spans.len(),
            t.id
        );
    }
    Ok(ExitCode::SUCCESS)
}
