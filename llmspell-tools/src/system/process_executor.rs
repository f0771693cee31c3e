//! `process_executor`: runs allow-listed programs without a shell.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;
use crate::schema;

/// Default time a process may run.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bytes kept from each of stdout and stderr.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Runs programs from an allow-list of exact names, without a shell.
///
/// Parameters `{ command, args?, cwd?, env?, stdin?, timeout_ms? }`; output
/// `{ exit_code, stdout, stderr, timed_out, truncated, duration_ms }`.
///
/// - `command` must equal an allow-list entry exactly (`git` allows `git`,
///   not `/usr/bin/git`); a bare name is looked up in the host's `PATH`.
///   Arguments are passed as they are: there is no shell, so no globbing,
///   pipes or variable expansion.
/// - The child starts with an empty environment plus `PATH`, the
///   allow-listed variables the host has, and the allow-listed entries of
///   `env`; an `env` key not on the list is an error.
/// - `cwd` must resolve inside the [`FsSandbox`] roots; without it the child
///   runs in the first root, or in the host's working directory when no roots
///   are configured.
/// - After `timeout_ms` (default 30 s, capped by the configured maximum) the
///   child is killed and `timed_out` is `true`. Output beyond the cap (1 MiB
///   per stream by default) is read and discarded, and `truncated` is `true`.
///   Output is decoded as UTF-8, with invalid bytes replaced.
///
/// `exit_code` is null when the process was ended by a signal (including
/// the kill on timeout). Processes the child starts are not tracked: a
/// grandchild that ignores its parent's death can outlive the timeout.
#[derive(Debug, Clone)]
pub struct ProcessExecutor {
    metadata: ComponentMetadata,
    allowed_commands: Arc<[String]>,
    allowed_env: Arc<[String]>,
    sandbox: FsSandbox,
    max_timeout: Duration,
    max_output_bytes: usize,
}

impl ProcessExecutor {
    /// Creates the tool; only the programs named in `allowed_commands` run,
    /// and working directories must lie inside `sandbox`.
    pub fn new<I, S>(allowed_commands: I, sandbox: FsSandbox) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            metadata: ComponentMetadata::tool(
                "process_executor",
                "Runs allow-listed programs (no shell) with a timeout and output caps",
            ),
            allowed_commands: allowed_commands.into_iter().map(Into::into).collect(),
            allowed_env: Arc::from(Vec::new()),
            sandbox,
            max_timeout: DEFAULT_PROCESS_TIMEOUT,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }

    /// Sets the environment variables a call may set and the host passes
    /// through.
    #[must_use]
    pub fn with_allowed_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_env = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the default and largest timeout.
    #[must_use]
    pub fn with_max_timeout(mut self, timeout: Duration) -> Self {
        self.max_timeout = timeout;
        self
    }

    /// Sets how many bytes of each output stream are kept.
    #[must_use]
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }
}

/// The parameters of `process_executor`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The program, exactly as it is named on the configured allow-list; a
    /// bare name is looked up in the host's `PATH`.
    command: String,
    /// The arguments, passed as they are: no shell, globbing, pipes or
    /// variable expansion (default: none).
    #[serde(default)]
    args: Vec<String>,
    /// The working directory, inside the allowed roots (default: the first
    /// root).
    cwd: Option<String>,
    /// Environment variables to set, name to value; only names on the
    /// configured allow-list (default: none).
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Text written to the program's standard input (default: none).
    stdin: Option<String>,
    /// Kill the program after this many milliseconds (default and maximum:
    /// the configured `process_timeout`, 30 s unless set).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

/// How `process_executor` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// Finds `program` in the directories of `path`.
fn find_in_path(program: &str, path: Option<&OsString>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Reads `stream` to the end, keeping at most `cap` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut stream: R, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, truncated)
}

impl ProcessExecutor {
    fn allowed_env_name(&self, name: &str) -> bool {
        self.allowed_env.iter().any(|a| a == name)
    }

    fn command(&self, p: &Params) -> Result<Command> {
        if !self.allowed_commands.iter().any(|c| c == &p.command) {
            return Err(Error::SecurityViolation {
                message: if self.allowed_commands.is_empty() {
                    format!(
                        "command `{}` refused: no commands are allowed (configure `allowed_commands`)",
                        p.command
                    )
                } else {
                    format!(
                        "command `{}` is not in the allow-list [{}]",
                        p.command,
                        self.allowed_commands.join(", ")
                    )
                },
            });
        }
        for key in p.env.keys() {
            if !self.allowed_env_name(key) {
                return Err(Error::SecurityViolation {
                    message: format!(
                        "environment variable `{key}` may not be set: allowed [{}]",
                        self.allowed_env.join(", ")
                    ),
                });
            }
        }
        let host_path = std::env::var_os("PATH");
        let program = if p.command.contains(std::path::MAIN_SEPARATOR) || p.command.contains('/') {
            PathBuf::from(&p.command)
        } else {
            find_in_path(&p.command, host_path.as_ref())
                .ok_or_else(|| Error::not_found("command", p.command.clone()))?
        };
        let cwd = match &p.cwd {
            Some(dir) => {
                let resolved = self.sandbox.resolve_existing(dir)?;
                if !resolved.is_dir() {
                    return Err(Error::invalid_input(
                        "cwd",
                        format!("`{dir}` is not a directory"),
                    ));
                }
                Some(resolved)
            }
            None => self
                .sandbox
                .roots()
                .first()
                .and_then(|r| r.canonicalize().ok()),
        };
        let mut cmd = Command::new(program);
        cmd.args(&p.args)
            .env_clear()
            .stdin(if p.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(path) = host_path {
            cmd.env("PATH", path);
        }
        for name in self.allowed_env.iter() {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        cmd.envs(&p.env);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        Ok(cmd)
    }

    async fn run(&self, p: Params) -> Result<Value> {
        let timeout = match p.timeout_ms {
            Some(ms) if Duration::from_millis(ms) > self.max_timeout => {
                return Err(Error::invalid_input(
                    "timeout_ms",
                    format!(
                        "expected at most {} ms, got {ms}",
                        self.max_timeout.as_millis()
                    ),
                ));
            }
            Some(ms) => Duration::from_millis(ms),
            None => self.max_timeout,
        };
        let mut cmd = self.command(&p)?;
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| Error::External {
            service: "process".to_owned(),
            message: format!("cannot start `{}`: {e}", p.command),
            retryable: false,
            source: Some(llmspell_core::ErrorSource::new(e)),
        })?;
        let stdin = child.stdin.take();
        let input = p.stdin;
        let feed = async move {
            if let (Some(mut pipe), Some(text)) = (stdin, input) {
                // A child that exits without reading its input is not an error.
                let _ = pipe.write_all(text.as_bytes()).await;
                let _ = pipe.shutdown().await;
            }
        };
        let cap = self.max_output_bytes;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out = async move {
            match stdout {
                Some(s) => read_capped(s, cap).await,
                None => (Vec::new(), false),
            }
        };
        let err = async move {
            match stderr {
                Some(s) => read_capped(s, cap).await,
                None => (Vec::new(), false),
            }
        };
        let work = async { tokio::join!(feed, out, err, child.wait()) };
        let (status, stdout, stderr, timed_out) = match tokio::time::timeout(timeout, work).await {
            Ok(((), out, err, status)) => (Some(status), out, err, false),
            Err(_) => (None, (Vec::new(), false), (Vec::new(), false), true),
        };
        let exit_code = if timed_out {
            let _ = child.kill().await;
            None
        } else {
            match status {
                Some(Ok(s)) => s.code(),
                Some(Err(e)) => {
                    return Err(Error::External {
                        service: "process".to_owned(),
                        message: format!("waiting for `{}` failed: {e}", p.command),
                        retryable: false,
                        source: None,
                    });
                }
                None => None,
            }
        };
        Ok(json!({
            "exit_code": exit_code,
            "stdout": String::from_utf8_lossy(&stdout.0),
            "stderr": String::from_utf8_lossy(&stderr.0),
            "timed_out": timed_out,
            "truncated": stdout.1 || stderr.1,
            "duration_ms": started.elapsed().as_millis() as u64,
        }))
    }
}

#[async_trait]
impl Tool for ProcessExecutor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::System
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Privileged
    }

    fn parameters_schema(&self) -> Value {
        let mut schema = PARAMS.schema();
        let allowed = if self.allowed_commands.is_empty() {
            "none: nothing may run".to_owned()
        } else {
            self.allowed_commands.join(", ")
        };
        schema::refine(
            &mut schema,
            "command",
            "description",
            json!(format!(
                "The program, exactly as it is named on the allow-list ({allowed}); a bare \
                 name is looked up in the host's `PATH`."
            )),
        );
        let max = u64::try_from(self.max_timeout.as_millis()).unwrap_or(u64::MAX);
        schema::refine(&mut schema, "timeout_ms", "maximum", json!(max));
        schema
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "command": "echo", "args": ["hello", "world"] }),
            json!({ "command": "echo", "args": ["hello"], "timeout_ms": 5000 }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "exit_code": { "type": ["integer", "null"], "description": "Null when ended by a signal or the timeout" },
                "stdout": { "type": "string" },
                "stderr": { "type": "string" },
                "timed_out": { "type": "boolean" },
                "truncated": { "type": "boolean", "description": "Output exceeded the cap" },
                "duration_ms": { "type": "integer" }
            },
            "required": ["exit_code", "stdout", "stderr", "timed_out", "truncated"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        self.run(p).await
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn tool() -> ProcessExecutor {
        ProcessExecutor::new(["echo", "sh", "cat", "pwd"], FsSandbox::deny_all())
    }

    async fn exec(t: &ProcessExecutor, params: Value) -> Result<Value> {
        t.execute(params, &ExecutionContext::native()).await
    }

    #[tokio::test]
    async fn runs_without_a_shell() {
        let out = exec(
            &tool(),
            json!({ "command": "echo", "args": ["a b", "$HOME", "*"] }),
        )
        .await
        .unwrap();
        assert_eq!(out["stdout"], "a b $HOME *\n");
        assert_eq!(out["exit_code"], 0);
        assert_eq!(out["timed_out"], false);
    }

    #[tokio::test]
    async fn reports_exit_codes_stderr_and_stdin() {
        let out = exec(
            &tool(),
            json!({ "command": "sh", "args": ["-c", "echo oops >&2; exit 3"] }),
        )
        .await
        .unwrap();
        assert_eq!(out["exit_code"], 3);
        assert_eq!(out["stderr"], "oops\n");
        let out = exec(&tool(), json!({ "command": "cat", "stdin": "piped in" }))
            .await
            .unwrap();
        assert_eq!(out["stdout"], "piped in");
    }

    #[tokio::test]
    async fn kills_on_timeout() {
        let started = Instant::now();
        let out = exec(
            &tool(),
            json!({ "command": "sh", "args": ["-c", "sleep 5"], "timeout_ms": 200 }),
        )
        .await
        .unwrap();
        assert_eq!(out["timed_out"], true);
        assert_eq!(out["exit_code"], Value::Null);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn caps_output() {
        let t = tool().with_max_output_bytes(10);
        let out = exec(
            &t,
            json!({ "command": "sh", "args": ["-c", "printf '%0100d' 0"] }),
        )
        .await
        .unwrap();
        assert_eq!(out["stdout"], "0000000000");
        assert_eq!(out["truncated"], true);
    }

    #[tokio::test]
    async fn environment_is_cleared_and_allow_listed() {
        let t = tool().with_allowed_env(["GREETING"]);
        let out = exec(&t, json!({ "command": "sh", "args": ["-c", "echo \"$GREETING|$HOME\""], "env": { "GREETING": "hi" } })).await.unwrap();
        assert_eq!(out["stdout"], "hi|\n");
        let err = exec(&t, json!({ "command": "sh", "env": { "LD_PRELOAD": "x" } }))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("`LD_PRELOAD` may not be set"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn working_directory_must_be_inside_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let t = ProcessExecutor::new(["pwd"], FsSandbox::new([dir.path()]));
        let out = exec(&t, json!({ "command": "pwd" })).await.unwrap();
        assert_eq!(
            out["stdout"].as_str().unwrap().trim(),
            dir.path().canonicalize().unwrap().to_str().unwrap()
        );
        let err = exec(&t, json!({ "command": "pwd", "cwd": "/" }))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::SecurityViolation { .. }), "{err}");
    }
}
