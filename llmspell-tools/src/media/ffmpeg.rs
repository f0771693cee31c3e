//! Running the configured `ffmpeg`: found on `PATH` or at its path, without
//! a shell, with an empty environment, a time limit and capped output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use llmspell_core::{Error, Result};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes of `ffmpeg`'s error output kept for messages.
const MAX_STDERR: usize = 64 * 1024;

/// The demuxers `ffmpeg` may use on an input: video containers only, so a
/// playlist, concat list or image sequence inside the roots cannot make it
/// read files elsewhere.
pub(crate) const DEMUXERS: &str = "mov,mp4,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf,gif";

/// How the configured `ffmpeg` is run.
#[derive(Debug, Clone)]
pub(crate) struct Ffmpeg {
    program: PathBuf,
    timeout: Duration,
}

/// A finished run.
pub(crate) struct Run {
    /// Whether it exited with status 0.
    pub(crate) success: bool,
    /// Standard output, at most the cap asked for.
    pub(crate) stdout: Vec<u8>,
    /// Whether standard output went past the cap.
    pub(crate) stdout_truncated: bool,
    /// The end of the error output, trimmed.
    pub(crate) stderr: String,
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

/// Reads `stream` to its end, keeping at most `cap` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut stream: R, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 * 1024];
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

impl Ffmpeg {
    pub(crate) fn new(program: PathBuf, timeout: Duration) -> Self {
        Self { program, timeout }
    }

    /// The program to start: a bare name looked up in the host's `PATH`, a
    /// path used as it is.
    ///
    /// # Errors
    /// `External` naming the program and the Debian package that has it.
    pub(crate) fn locate(&self) -> Result<PathBuf> {
        let configured = &self.program;
        let found = if configured.components().count() > 1 || configured.is_absolute() {
            Some(configured.clone()).filter(|p| is_executable(p))
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(configured))
                    .find(|p| is_executable(p))
            })
        };
        found.ok_or_else(|| Error::External {
            service: "ffmpeg".to_owned(),
            message: format!(
                "the program `{}` (configured as `ffmpeg`) was not found{}; install it \
                 (Debian package `ffmpeg`) or set `ffmpeg` in `[media]` to its path",
                configured.display(),
                if configured.components().count() > 1 {
                    ""
                } else {
                    " on PATH"
                }
            ),
            retryable: false,
            source: None,
        })
    }

    /// Runs `ffmpeg` with `args`, keeping at most `stdout_cap` bytes of its
    /// output; kills it after the time limit.
    ///
    /// # Errors
    /// `External` when it cannot start, `Timeout` when it runs too long.
    pub(crate) async fn run(&self, args: &[OsString], stdout_cap: usize) -> Result<Run> {
        let program = self.locate()?;
        let mut child = Command::new(&program)
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::External {
                service: "ffmpeg".to_owned(),
                message: format!("cannot start `{}`: {e}", program.display()),
                retryable: false,
                source: Some(llmspell_core::ErrorSource::new(e)),
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out = async move {
            match stdout {
                Some(s) => read_capped(s, stdout_cap).await,
                None => (Vec::new(), false),
            }
        };
        let err = async move {
            match stderr {
                Some(s) => read_capped(s, MAX_STDERR).await,
                None => (Vec::new(), false),
            }
        };
        let work = async { tokio::join!(out, err, child.wait()) };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(((stdout, stdout_truncated), (stderr, _), status)) => {
                let status = status.map_err(|e| Error::External {
                    service: "ffmpeg".to_owned(),
                    message: format!("waiting for ffmpeg failed: {e}"),
                    retryable: false,
                    source: None,
                })?;
                Ok(Run {
                    success: status.success(),
                    stdout,
                    stdout_truncated,
                    stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
                })
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(Error::Timeout {
                    operation: "ffmpeg".to_owned(),
                    after: self.timeout,
                })
            }
        }
    }
}
