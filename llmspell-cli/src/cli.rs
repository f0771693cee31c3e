//! Command-line arguments and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use llmspell_bridge::RuntimeConfig;

/// llmspell: hooks and events for LLM applications, scriptable from Lua and JavaScript.
#[derive(Debug, Parser)]
#[command(name = "llmspell", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scripts in one runtime (language by extension: .lua, .js)
    Run(RunArgs),
    /// List hook points, or the hooks scripts register
    Hooks {
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// List tools or describe one
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// Inspect and replay persisted events
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Show the effective configuration (llmspell.toml with the flags over it)
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Verify the security hook's audit log
    Audit {
        #[command(subcommand)]
        command: crate::audit::AuditCommand,
    },
    /// Run scripts (which register the current hooks), then replay the hook
    /// executions recorded with --record-hooks against them and report
    /// differences (exit 1 when any differs or cannot be replayed)
    Replay(crate::replay::ReplayArgs),
    /// Show a correlation trace from the persisted events: its operations
    /// as a tree with their hook firings, the critical path, the slowest
    /// operations and hooks, and every hook decision (exit 1: no such
    /// trace); without an id, list the most recent traces
    Trace(crate::trace::TraceArgs),
    /// Run the performance suite
    Bench {
        /// Print the results as a JSON array
        #[arg(long)]
        json: bool,
        /// Exit with a failure status when any target is missed (plain
        /// `bench` only reports)
        #[arg(long)]
        check: bool,
        /// Run only the metrics whose id starts with one of these prefixes
        /// (`hooks.`, `events.one_sub_per_s`, ...); repeatable
        #[arg(long, value_name = "PREFIX")]
        only: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StorageKind {
    /// sled under the data directory (durable; the default)
    Sled,
    /// in memory (nothing is kept)
    Memory,
}

/// Settings shared by every command that builds a runtime. Each overrides
/// the configuration file's value; unset, the file's (or the default) holds.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RuntimeArgs {
    /// The configuration file (default: llmspell.toml in the working
    /// directory, if there is one)
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Give scripts the full standard library (file and process access)
    #[arg(long)]
    pub(crate) allow_unsafe: bool,
    /// Let scripts call privileged tools (process_executor, environment_reader)
    #[arg(long)]
    pub(crate) allow_privileged: bool,
    /// Where persisted events are kept [default: .llmspell]
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Storage backend [default: sled]
    #[arg(long, value_enum)]
    pub(crate) storage: Option<StorageKind>,
    /// Topic patterns to persist (default: every event)
    #[arg(long = "persist", value_name = "PATTERN")]
    pub(crate) persist: Vec<String>,
    /// Persist nothing
    #[arg(long, conflicts_with = "persist")]
    pub(crate) no_persist: bool,
    /// Directories the file-system tools may use
    #[arg(long = "fs-root", value_name = "DIR")]
    pub(crate) fs_roots: Vec<PathBuf>,
    /// Commands process_executor may run
    #[arg(long = "allow-command", value_name = "CMD")]
    pub(crate) allow_commands: Vec<String>,
    /// Environment variables environment_reader may read
    #[arg(long = "allow-env", value_name = "VAR")]
    pub(crate) allow_env: Vec<String>,
    /// Hosts the network tools may contact (`*.example.com`, `*`)
    #[arg(long = "allow-host", value_name = "HOST")]
    pub(crate) allow_hosts: Vec<String>,
    /// Internal addresses the network tools may reach (an address, a CIDR
    /// range, or loopback, private, link_local, shared)
    #[arg(long = "allow-address", value_name = "ADDR")]
    pub(crate) allow_addresses: Vec<String>,
    /// Record every execution of script hooks in storage, for `llmspell replay`
    #[arg(long)]
    pub(crate) record_hooks: bool,
    /// Correlation traces kept in memory for `Trace.get` (0 turns tracing
    /// off); finished spans are persisted with the other events
    /// [default: 256]
    #[arg(long, value_name = "N")]
    pub(crate) traces: Option<usize>,
    /// Keep the scripts' `State` across runs under this session name
    #[arg(long, value_name = "NAME")]
    pub(crate) session: Option<String>,
    /// The version of the session state the scripts expect (older saved
    /// state passes the StateMigration hooks) [default: 1]
    #[arg(long, value_name = "N")]
    pub(crate) state_version: Option<u32>,
    /// Operations (tools, agents, workflows, LLM calls) slower than this fire
    /// PerformanceThresholdExceeded
    #[arg(long, value_name = "MS")]
    pub(crate) slow_operation_ms: Option<u64>,
    /// Fire MemoryUsageHigh when the process's resident memory passes this
    #[arg(long, value_name = "MB")]
    pub(crate) rss_high_water_mb: Option<u64>,
    /// Keep a thread that hands a call to another engine's thread polling
    /// this long for the answer before it sleeps (lower cross-thread latency
    /// for up to this much CPU per call on each side) [default: 0, no polling]
    #[arg(long, value_name = "MICROS")]
    pub(crate) handoff_spin: Option<u64>,
    #[command(flatten)]
    pub(crate) nats: crate::nats::NatsArgs,
}

/// `llmspell run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Script files, run in order in one runtime
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Scripts run before the runtime starts, so the hooks they register see
    /// SystemStartup, StateMigration, SessionRestore and SessionStart (repeatable)
    #[arg(long = "hooks", value_name = "FILE")]
    pub(crate) hooks: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,
    /// Serve the runtime's figures (metrics hooks, the event bus, each hook's
    /// calls and latency) as Prometheus text at http://ADDR/metrics while
    /// the scripts run; a metrics hook is turned on if none is
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_addr: Option<String>,
    /// Give up waiting for callbacks after this many seconds (default: wait until quiet)
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// Export each operation and hook firing as an OpenTelemetry span to
    /// this OTLP/HTTP collector (http://127.0.0.1:4318; /v1/traces is added)
    #[arg(long, value_name = "URL")]
    pub(crate) otel_endpoint: Option<crate::telemetry::OtlpEndpoint>,
    /// Arguments for the scripts, after `--` (scripts read them as `llmspell.args`)
    #[arg(last = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,
}

// Parsed once per process: the size of the arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum HooksCommand {
    /// Every hook point name
    Points,
    /// Fire one point against the hooks of some files and print the
    /// decision as JSON (exit 0: fired and as expected; 1: not the expected
    /// action, or a fixture failed; 2: bad usage)
    Test(crate::hooks_test::HooksTestArgs),
    /// Run scripts that register hooks, then answer other hosts' remote
    /// hook requests for some points over NATS (`<prefix>.hooks.<point>`)
    /// until interrupted
    Serve(crate::nats::ServeArgs),
    /// Run scripts, then list the hooks they registered
    List {
        /// Script files
        files: Vec<PathBuf>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as TOML
    Show {
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// Every tool with its category and security level
    List,
    /// One tool's description and parameter schema
    Info {
        /// The tool's name
        name: String,
    },
}

/// `llmspell events ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// The most recent persisted events
    Tail {
        #[command(flatten)]
        filter: events::Filter,
    },
    /// Persisted events matching a query, oldest first
    Query {
        #[command(flatten)]
        filter: events::Filter,
    },
    /// Run scripts, then replay persisted events into their runtime
    Replay {
        #[command(flatten)]
        filter: events::Filter,
        /// Scripts that subscribe to the replayed events
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

use crate::events;

pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => crate::run::run(args),
        Command::Hooks {
            command: HooksCommand::Points,
        } => {
            for p in llmspell_hooks::HookPoint::all() {
                out!("{p}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hooks {
            command: HooksCommand::List { files, runtime },
        } => crate::run::list_hooks(&files, &runtime),
        Command::Hooks {
            command: HooksCommand::Test(args),
        } => crate::hooks_test::run(&args),
        Command::Hooks {
            command: HooksCommand::Serve(args),
        } => crate::nats::serve(&args),
        Command::Tools { command } => {
            let runtime = llmspell_bridge::ScriptRuntime::new(RuntimeConfig::default())?;
            match command {
                ToolsCommand::List => {
                    let mut names = runtime.tools().names();
                    names.sort();
                    for n in names {
                        let i = runtime.tools().info(&n)?;
                        out!(
                            "{:<20} {:<11} {:<11} {}",
                            i.name,
                            i.category,
                            i.security_level,
                            i.description
                        );
                    }
                }
                ToolsCommand::Info { name } => {
                    let i = runtime.tools().info(&name)?;
                    out!("{} ({}, {})", i.name, i.category, i.security_level);
                    out!("{}", i.description);
                    out!(
                        "parameters: {}",
                        serde_json::to_string_pretty(&i.parameters)?
                    );
                    out!("output: {}", serde_json::to_string_pretty(&i.output)?);
                    for example in &i.examples {
                        out!("example: {example}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Events { command } => events::run(command),
        Command::Trace(args) => crate::trace::run(&args),
        Command::Config {
            command: ConfigCommand::Show { runtime },
        } => crate::config::show(&runtime),
        Command::Audit { command } => crate::audit::run(command),
        Command::Replay(args) => crate::replay::run(&args),
        Command::Bench { json, check, only } => {
            crate::bench::run(&crate::bench::BenchArgs { json, check, only })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::{Cli, Command};

    fn run_config(args: &[&str]) -> Result<llmspell_bridge::RuntimeConfig, clap::Error> {
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Command::Run(run) => Ok(run.runtime.config().expect("no configuration file")),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn handoff_spin_is_off_unless_asked_for() {
        let config = run_config(&["llmspell", "run", "a.lua"]).unwrap();
        assert_eq!(config.handoff_spin, Duration::ZERO);
        let config = run_config(&["llmspell", "run", "--handoff-spin", "50", "a.lua"]).unwrap();
        assert_eq!(config.handoff_spin, Duration::from_micros(50));
        let err = run_config(&["llmspell", "run", "--handoff-spin", "fast", "a.lua"]).unwrap_err();
        assert!(err.to_string().contains("--handoff-spin"), "{err}");
    }
}
