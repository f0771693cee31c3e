//! Command hooks: a hook that runs an external program, written in any
//! language, and reads its decision.
//!
//! - `command.rs`: the hook and its protocol;
//! - `command/config.rs`: its settings;
//! - `command/decision.rs`: what an exit status and output decide;
//! - `command/process.rs`: running the program (pipes, caps, deadline,
//!   killing its process group).

mod config;
mod decision;
mod process;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;

pub use self::config::CommandHookConfig;
use self::process::{Limits, RunError};
use crate::{Hook, HookAdapter, HookContext, HookMetadata, HookResult, JsonHookAdapter, Result};

/// A hook that runs an external program and reads its decision, so hooks
/// can be written in any language. It returns the same results as script
/// hooks, parsed by the same parser ([`JsonHookAdapter`]).
///
/// # Protocol
///
/// **Start.** The program is started from [`argv`](CommandHookConfig::argv)
/// directly, never through a shell, once per call, in its own process group
/// (on Unix).
///
/// **Input.** The program gets the hook context on stdin as one JSON object
/// and a newline, then end of input. It is the form script hooks see
/// ([`HookContext::to_json`]): `point` (`"BeforeToolExecution"`),
/// `component` (`{"type", "name", "id"}`), `correlation_id`, `parent_id`
/// (`null` when there is none), `language`, `data`, `metadata` (strings),
/// and also `attempt`, `cache_hit`, `timestamp` and `elapsed` (milliseconds
/// or `null`). A program need not read it.
///
/// **Answer.** The exit status decides:
///
/// | exit status | result |
/// |---|---|
/// | 0 | stdout is the answer: empty or only whitespace is `Continue`; anything else must be one JSON value of the shapes a script hook returns ([`HookResult::from_script_value`]), e.g. `{"action": "cancel", "reason": "…"}`, `{"action": "modified", "data": {…}}`, `"continue"` |
/// | 2 | `Cancel`, with stderr (trimmed) as the reason; stdout is ignored. With nothing on stderr the reason says the command cancelled without one |
/// | anything else, or killed by a signal | failure |
///
/// **Failures.** The call fails (`execute` returns an error, which the
/// executor handles by the hook's fail mode: skipped when fail-open, the
/// operation cancelled with `HookFailed` when fail-closed) when the program
/// cannot be started (the error names it and the OS error), exits with
/// another status or is killed by a signal (the error quotes the start of
/// stderr), runs past the timeout, writes more than the stdout cap, writes
/// stdout that is not JSON (the error gives the line and column of the bad
/// bytes and an escaped excerpt around them), or writes JSON that is not a
/// valid result. The result is also held to the hook's declared actions
/// like any hook's; a command hook declares every action.
///
/// **Environment.** Cleared: the program gets only the host variables named
/// in [`env`](CommandHookConfig::env) (default `PATH`, `HOME`, `LANG`,
/// `LC_ALL`, `TZ`, `TMPDIR`), then those of
/// [`set_env`](CommandHookConfig::set_env). It runs in
/// [`cwd`](CommandHookConfig::cwd), or the host's working directory.
///
/// **Timeout.** After [`timeout_ms`](CommandHookConfig::timeout_ms) (default
/// 5000) the whole process group gets SIGKILL, the program is reaped and
/// the call fails with a timeout. When the program exits, processes it left
/// in its group are killed too, so a background child that keeps stdout
/// open cannot hold the call; one that left the group and keeps stdout
/// open makes the call time out. The executor's per-hook timeout
/// ([`HookOptions::timeout`](crate::HookOptions::timeout), default 5 s)
/// applies as well: when it is the shorter, the executor abandons the call,
/// which kills the process group just the same.
///
/// **Caps.** stdout past
/// [`max_stdout_bytes`](CommandHookConfig::max_stdout_bytes) (default
/// 1 MiB) kills the process group and fails the call, naming the cap;
/// stderr past [`max_stderr_bytes`](CommandHookConfig::max_stderr_bytes)
/// (default 64 KiB) is read and discarded. The host never holds more than
/// the caps.
///
/// On systems other than Unix there are no process groups: the program
/// itself is killed, not its children.
///
/// # Metadata
///
/// Named `command:` and the file name of the program (`command:policy.py`
/// for `./hooks/policy.py`; registering with
/// [`HookOptions::name`](crate::HookOptions::name) renames it), tagged
/// `command`, normal priority, every action declared.
///
/// # Examples
///
/// ```
/// use llmspell_core::ComponentId;
/// use llmspell_hooks::{
///     CommandHook, HookContext, HookExecutor, HookPoint, HookRegistry, HookResult,
/// };
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // A policy that refuses paths with "..": exit status 2 and the reason on stderr.
/// let hook = CommandHook::from_argv([
///     "sh",
///     "-c",
///     r#"grep -q '\.\.' && { echo "path traversal" >&2; exit 2; }; exit 0"#,
/// ])?;
/// let registry = HookRegistry::new();
/// let _guard = registry.register(HookPoint::BeforeToolExecution, hook);
/// let executor = HookExecutor::new(registry);
/// let mut ctx = HookContext::new(
///     HookPoint::BeforeToolExecution,
///     ComponentId::tool("file_operations"),
///     json!({ "path": "../etc/passwd" }),
/// );
/// let outcome = executor.execute_point(&mut ctx).await?;
/// assert_eq!(*outcome.result(), HookResult::Cancel("path traversal".into()));
/// assert_eq!(outcome.decided_by(), Some("command:sh"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CommandHook {
    config: CommandHookConfig,
    limits: Limits,
    /// The command line as messages show it: command `python3 policy.py`.
    label: String,
    metadata: HookMetadata,
}

impl CommandHook {
    /// A hook running the program `config` describes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for invalid
    /// settings (see [`CommandHookConfig::validate`]).
    pub fn new(config: CommandHookConfig) -> Result<Self> {
        config.validate()?;
        let program = &config.argv[0];
        let file_name = Path::new(program)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(program);
        let shown = shown_argv(&config.argv);
        let metadata = HookMetadata::named(format!("command:{file_name}"))
            .with_tag("command")
            .with_description(format!("runs `{shown}`"));
        Ok(Self {
            limits: Limits {
                timeout: Duration::from_millis(config.timeout_ms),
                max_stdout: config.max_stdout_bytes,
                max_stderr: config.max_stderr_bytes,
            },
            label: format!("command `{shown}`"),
            metadata,
            config,
        })
    }

    /// A hook running `argv` with the default settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an empty
    /// `argv` or program, or a NUL byte in an argument.
    pub fn from_argv<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Result<Self> {
        Self::new(CommandHookConfig::new(argv))
    }

    /// The settings.
    pub fn config(&self) -> &CommandHookConfig {
        &self.config
    }

    /// The command to start, with its scrubbed environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.config.argv[0]);
        cmd.args(&self.config.argv[1..]).env_clear();
        for name in &self.config.env {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.envs(&self.config.set_env);
        if let Some(dir) = &self.config.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// The error for a run that produced no answer.
    fn run_error(&self, e: RunError) -> llmspell_core::Error {
        match e {
            RunError::Spawn(io) => {
                let mut message = format!("cannot start program `{}`: {io}", self.config.argv[0]);
                if let Some(dir) = self.config.cwd.as_deref().filter(|d| !d.is_dir()) {
                    let _ = write!(
                        message,
                        " (its working directory `{}` is not a directory)",
                        dir.display()
                    );
                }
                llmspell_core::Error::external("process", message, false).caused_by(io)
            }
            RunError::TimedOut => llmspell_core::Error::Timeout {
                operation: self.label.clone(),
                after: self.limits.timeout,
            },
            RunError::StdoutOverflow => llmspell_core::Error::execution(
                &self.label,
                format!(
                    "wrote more than {} bytes to stdout (max_stdout_bytes) and was killed",
                    self.limits.max_stdout
                ),
            ),
            RunError::Io(io) => llmspell_core::Error::external(
                "process",
                format!("{}: reading its output failed: {io}", self.label),
                false,
            )
            .caused_by(io),
        }
    }
}

#[async_trait]
impl Hook for CommandHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        let context = JsonHookAdapter::new(ctx.language).context_to_script(ctx)?;
        let mut input = serde_json::to_vec(&context).map_err(|e| {
            llmspell_core::Error::other(format!("{}: cannot encode the context: {e}", self.label))
        })?;
        input.push(b'\n');
        let output = process::run(self.command(), &input, self.limits)
            .await
            .map_err(|e| self.run_error(e))?;
        decision::decide(&self.label, &output)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// `argv` joined by spaces, cut to a length fit for messages.
fn shown_argv(argv: &[String]) -> String {
    /// The longest command line shown.
    const SHOWN: usize = 80;
    let joined = argv.join(" ");
    match joined.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_is_named_after_its_program_and_may_return_anything() {
        let hook = CommandHook::from_argv(["./hooks/policy.py", "--strict"]).unwrap();
        let meta = hook.metadata();
        assert_eq!(meta.name, "command:policy.py");
        assert_eq!(meta.returns, crate::ActionSet::ALL);
        assert_eq!(meta.priority, crate::Priority::NORMAL);
        assert_eq!(meta.tags, ["command"]);
        assert_eq!(
            meta.description.as_deref(),
            Some("runs `./hooks/policy.py --strict`")
        );
        assert!(shown_argv(&["x".repeat(200)]).ends_with('…'));
    }
}
