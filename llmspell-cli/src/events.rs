//! `llmspell events tail|query|replay` over the persisted store.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use llmspell_bridge::{RuntimeConfig, ScriptRuntime, StorageChoice};
use llmspell_core::CorrelationId;
use llmspell_events::{EventQuery, EventStore, UniversalEvent};
use llmspell_storage::SledBackend;

use crate::cli::EventsCommand;

/// Which persisted events.
#[derive(Debug, Args, Clone)]
pub(crate) struct Filter {
    /// Topic pattern (`tool.**`, `agent.*.failed`)
    #[arg(long)]
    pattern: Option<String>,
    /// Only events at or after this time: RFC 3339, or an age such as 30s, 10m, 2h, 1d
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (same forms as --since)
    #[arg(long)]
    until: Option<String>,
    /// Only events of this correlation id (a generated UUID or the string a script chose)
    #[arg(long, visible_alias = "correlation-id", value_name = "ID")]
    correlation: Option<String>,
    /// At most this many events
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// One JSON object per line
    #[arg(long)]
    json: bool,
    /// Where the events are kept [default: `[storage] data_dir` of
    /// llmspell.toml, or .llmspell]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Read the local store (sled) or the JetStream stream of `[nats]`
    #[arg(long, value_enum, default_value_t)]
    from: crate::nats::Source,
    /// With --from nats: the server [default: `[nats] url`, or nats://127.0.0.1:4222]
    #[arg(long = "nats", value_name = "URL")]
    nats: Option<String>,
    /// With --from nats: the subject prefix [default: `[nats] prefix`, or llmspell]
    #[arg(long = "nats-prefix", value_name = "PREFIX")]
    nats_prefix: Option<String>,
    /// With --from nats: the stream [default: `[nats.stream] name`, or <PREFIX>_EVENTS]
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,
}

fn when(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let (num, unit) = text.split_at(
        text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: f64 = num
        .parse()
        .with_context(|| format!("{text:?} is neither RFC 3339 nor an age like 10m"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        other => bail!("unknown unit {other:?} in {text:?}; use s, m, h or d"),
    };
    Ok(Utc::now() - chrono::Duration::milliseconds((secs * 1000.0) as i64))
}

impl Filter {
    fn query(&self) -> anyhow::Result<EventQuery> {
        let mut q = EventQuery::new().limit(self.limit);
        if let Some(p) = &self.pattern {
            q = q.pattern(p)?;
        }
        if let Some(s) = &self.since {
            q = q.since(when(s)?);
        }
        if let Some(u) = &self.until {
            q = q.until(when(u)?);
        }
        if let Some(c) = &self.correlation {
            q = q.correlation_id(CorrelationId::parse_field("--correlation", c)?);
        }
        Ok(q)
    }

    fn store(&self) -> anyhow::Result<EventStore> {
        open_store(self.data_dir.as_deref())
    }

    /// The events of `query` from the chosen source.
    fn read(&self, query: &EventQuery) -> anyhow::Result<Vec<UniversalEvent>> {
        let rt = runtime()?;
        match self.from {
            crate::nats::Source::Sled => Ok(rt.block_on(self.store()?.query(query))?),
            crate::nats::Source::Nats => {
                let history = self.history(&rt)?;
                rt.block_on(history.query(query))
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
        }
    }

    fn history(
        &self,
        rt: &tokio::runtime::Runtime,
    ) -> anyhow::Result<llmspell_nats::JetStreamHistory> {
        crate::nats::history(
            rt,
            self.nats.as_deref(),
            self.nats_prefix.as_deref(),
            self.stream.as_deref(),
        )
    }

    fn print(&self, events: &[UniversalEvent]) -> anyhow::Result<()> {
        for ev in events {
            if self.json {
                out!("{}", serde_json::to_string(ev)?);
            } else {
                out!(
                    "{}  {:<32} {:<10} {}",
                    ev.timestamp.format("%Y-%m-%d %H:%M:%S%.3f"),
                    ev.event_type.as_str(),
                    ev.language.as_str(),
                    serde_json::to_string(&ev.data)?
                );
            }
        }
        Ok(())
    }
}

/// The persisted events under `data_dir` (default: the configuration's, or
/// `.llmspell`).
///
/// # Errors
/// No store there yet, or one that cannot be opened.
pub(crate) fn open_store(data_dir: Option<&std::path::Path>) -> anyhow::Result<EventStore> {
    let path = crate::config::data_dir(data_dir)?.join("db");
    if !path.exists() {
        bail!(
            "no persisted events at {} (run scripts with `llmspell run` first)",
            path.display()
        );
    }
    let backend = SledBackend::open(&path)?;
    Ok(EventStore::new(Arc::new(backend)))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn run(command: EventsCommand) -> anyhow::Result<ExitCode> {
    match command {
        EventsCommand::Tail { filter } => {
            let mut events = filter.read(&filter.query()?.newest_first())?;
            events.reverse();
            filter.print(&events)?;
        }
        EventsCommand::Query { filter } => {
            let events = filter.read(&filter.query()?)?;
            filter.print(&events)?;
        }
        EventsCommand::Replay { filter, files } => {
            let query = filter.query()?;
            let config = RuntimeConfig {
                storage: StorageChoice::Sled(
                    crate::config::data_dir(filter.data_dir.as_deref())?.join("db"),
                ),
                ..RuntimeConfig::default()
            };
            let rt = ScriptRuntime::new(config)?;
            let mut failed = false;
            for f in &files {
                if let Err(e) = rt.run_file(f) {
                    eprintln!("{e}");
                    failed = true;
                }
            }
            let tokio = runtime()?;
            let n = match filter.from {
                crate::nats::Source::Sled => {
                    tokio.block_on(rt.event_store().replay_into(&query, rt.bus()))?
                }
                crate::nats::Source::Nats => {
                    let history = filter.history(&tokio)?;
                    tokio
                        .block_on(history.replay_into(&query, rt.bus()))
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                }
            };
            rt.wait_quiescent(Some(Duration::from_secs(60)));
            eprintln!("replayed {n} event(s)");
            rt.shutdown()?;
            if failed {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
