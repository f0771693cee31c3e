//! Running one program: input on stdin, capped output, a deadline, and its
//! whole process group killed when it ends, overruns or floods its output.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How long reaping a killed program may take before it is left to the
/// runtime's background reaper (a process stuck in the kernel).
const REAP_WAIT: Duration = Duration::from_secs(1);

/// The limits of one run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) timeout: Duration,
    pub(super) max_stdout: usize,
    pub(super) max_stderr: usize,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

/// What a program that ended by itself left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Output {
    pub(super) exit: Exit,
    pub(super) stdout: Vec<u8>,
    /// The first `max_stderr` bytes of stderr.
    pub(super) stderr: Vec<u8>,
    /// Whether stderr went on past `max_stderr` (the rest was discarded).
    pub(super) stderr_truncated: bool,
}

/// Why a run produced no [`Output`]. The program is dead in every case but
/// `Spawn`, where it never started.
#[derive(Debug)]
pub(super) enum RunError {
    /// The program could not be started.
    Spawn(io::Error),
    /// It ran past the timeout and was killed.
    TimedOut,
    /// It wrote more than `max_stdout` bytes to stdout and was killed.
    StdoutOverflow,
    /// Reading its output or waiting for it failed.
    Io(io::Error),
}

/// Runs `cmd` with `input` on stdin, within `limits`.
///
/// The program gets a process group of its own (on Unix). When it exits,
/// processes it left in its group are killed, so a background child that
/// keeps stdout open cannot hold the run; on a timeout or a stdout flood the
/// whole group is killed and the program reaped. If the returned future is
/// dropped early, the group is killed as well.
pub(super) async fn run(
    mut cmd: Command,
    input: &[u8],
    limits: Limits,
) -> Result<Output, RunError> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let group = Group::of(&child);
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let work = async {
        let feed = async {
            if let Some(mut pipe) = stdin {
                // A program that exits without reading its input is not an
                // error; dropping the pipe closes it.
                let _ = pipe.write_all(input).await;
            }
            Ok::<(), RunError>(())
        };
        let exited = async {
            let status = child.wait().await.map_err(RunError::Io)?;
            // What is left of the group would keep the output pipes open.
            group.kill();
            Ok(status)
        };
        tokio::try_join!(
            feed,
            read_stdout(stdout, limits.max_stdout),
            read_stderr(stderr, limits.max_stderr),
            exited
        )
    };
    let finished = tokio::time::timeout(limits.timeout, work).await;
    match finished {
        Ok(Ok(((), stdout, (stderr, stderr_truncated), status))) => {
            group.disarm();
            Ok(Output {
                exit: exit_of(status),
                stdout,
                stderr,
                stderr_truncated,
            })
        }
        Ok(Err(e)) => {
            group.terminate(&mut child).await;
            Err(e)
        }
        Err(_) => {
            group.terminate(&mut child).await;
            Err(RunError::TimedOut)
        }
    }
}

/// Reads stdout to its end; more than `cap` bytes is an overflow (the
/// host holds at most `cap + 1`).
async fn read_stdout(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
) -> Result<Vec<u8>, RunError> {
    let mut out = Vec::new();
    if let Some(pipe) = pipe {
        let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
        pipe.take(limit)
            .read_to_end(&mut out)
            .await
            .map_err(RunError::Io)?;
    }
    if out.len() > cap {
        return Err(RunError::StdoutOverflow);
    }
    Ok(out)
}

/// Reads stderr to its end, keeping the first `cap` bytes and discarding
/// the rest; says whether anything was discarded.
async fn read_stderr(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
) -> Result<(Vec<u8>, bool), RunError> {
    let mut kept = Vec::new();
    let Some(pipe) = pipe else {
        return Ok((kept, false));
    };
    let mut head = pipe.take(u64::try_from(cap).unwrap_or(u64::MAX));
    head.read_to_end(&mut kept).await.map_err(RunError::Io)?;
    let mut rest = head.into_inner();
    let discarded = tokio::io::copy(&mut rest, &mut tokio::io::sink())
        .await
        .map_err(RunError::Io)?;
    Ok((kept, discarded > 0))
}

fn exit_of(status: ExitStatus) -> Exit {
    if let Some(code) = status.code() {
        return Exit::Code(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Exit::Signal(signal);
        }
    }
    // Neither a code nor a signal: not a normal end.
    Exit::Code(-1)
}

/// The name of signal `number` (`SIGKILL`), where known.
pub(super) fn signal_name(number: i32) -> Option<&'static str> {
    #[cfg(unix)]
    {
        nix::sys::signal::Signal::try_from(number)
            .ok()
            .map(|s| s.as_str())
    }
    #[cfg(not(unix))]
    {
        let _ = number;
        None
    }
}

/// The program's process group, killed when the run ends unless disarmed.
struct Group {
    /// The group's id: the program's pid (it leads a group of its own).
    #[cfg(unix)]
    id: Option<nix::unistd::Pid>,
    armed: AtomicBool,
}

impl Group {
    fn of(child: &Child) -> Self {
        #[cfg(not(unix))]
        let _ = child;
        Self {
            #[cfg(unix)]
            id: child
                .id()
                .and_then(|pid| i32::try_from(pid).ok())
                .map(nix::unistd::Pid::from_raw),
            armed: AtomicBool::new(true),
        }
    }

    /// Sends SIGKILL to every process of the group. (Elsewhere than on Unix
    /// there is no group; the program itself is killed by [`terminate`] or
    /// when its handle drops.)
    ///
    /// [`terminate`]: Group::terminate
    fn kill(&self) {
        #[cfg(unix)]
        if let Some(id) = self.id {
            // ESRCH: nobody is left in the group. After the leader is reaped
            // its id stays taken while any member lives, so this cannot reach
            // an unrelated group in practice.
            let _ = nix::sys::signal::killpg(id, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Kills the group and the program, and reaps the program.
    async fn terminate(&self, child: &mut Child) {
        self.kill();
        let _ = child.start_kill();
        // Not reaped in time: `kill_on_drop` hands it to tokio's reaper.
        let _ = tokio::time::timeout(REAP_WAIT, child.wait()).await;
        self.disarm();
    }

    fn disarm(&self) {
        self.armed.store(false, Ordering::Release);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if *self.armed.get_mut() {
            self.kill();
        }
    }
}
