//! What llmspell's test suites share.
//!
//! # External programs
//!
//! Some suites need a program that is not part of Rust: PostgreSQL's
//! `initdb`/`postgres`, `ffmpeg`/`ffprobe`, `nats-server`, Chromium. One rule
//! decides what happens when it is missing:
//!
//! - by default (`cargo test --workspace` on a machine with only Rust) the
//!   test prints `skipped: <test>: <program> not found (<hint>)` to stderr
//!   and passes without running;
//! - with `LLMSPELL_TEST_SERVICES=require` (the README's full test command
//!   sets it after installing the programs) a missing program fails the
//!   test, naming the program and how to install it.
//!
//! ```
//! if let Some(ffmpeg) = llmspell_testkit::program("ffmpeg", "Debian package `ffmpeg`") {
//!     assert!(ffmpeg.is_file());
//! }
//! ```
//!
//! # Ports
//!
//! Servers a test starts listen on 127.0.0.1 on a port the OS picks: bind
//! to port 0 where the server allows it, or ask [`free_port`] for one.
//!
//! # Servers
//!
//! - [`nats::NatsServer`]: a real `nats-server` with JetStream on a free
//!   port with a temporary store, stopped on drop;
//! - [`postgres::PgServer`]: a PostgreSQL cluster of its own for one test,
//!   on 127.0.0.1, run as the `postgres` user when the tests run as root,
//!   stopped and removed when dropped;
//! - [`smtp::SmtpSink`]: an SMTP server that keeps the mail it receives,
//!   with `AUTH PLAIN`, `STARTTLS` or implicit TLS, and misbehaviours
//!   (rejected recipients, hang-ups, a slow greeting);
//! - [`tls::TestCa`]: a certificate authority and a server certificate for
//!   `localhost` and `127.0.0.1`.

pub mod nats;
pub mod postgres;
pub mod smtp;
pub mod tls;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// The environment variable that turns a missing program from a skip into a
/// failure.
pub const SERVICES_ENV: &str = "LLMSPELL_TEST_SERVICES";

/// Whether missing programs fail tests (`LLMSPELL_TEST_SERVICES=require`).
pub fn services_required() -> bool {
    std::env::var(SERVICES_ENV).is_ok_and(|v| v == "require")
}

/// The path of `name`, searched on `PATH` and in the extra directories
/// Debian puts server binaries in (`/usr/lib/postgresql/*/bin`,
/// `/usr/sbin`). When it is missing: `None` after printing a skip line, or
/// a panic naming `name` and `hint` (how to install it) when
/// [`services_required`].
///
/// # Panics
/// When the program is missing and [`services_required`].
pub fn program(name: &str, hint: &str) -> Option<PathBuf> {
    if let Some(found) = find_program(name) {
        return Some(found);
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        !services_required(),
        "{test}: `{name}` is required ({SERVICES_ENV}=require) but not found; install it ({hint})"
    );
    eprintln!(
        "skipped: {test}: `{name}` not found ({hint}; set {SERVICES_ENV}=require to fail instead)"
    );
    None
}

/// The path of `name` on `PATH` or in Debian's server directories, without
/// the skip-or-fail rule of [`program`].
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/sbin"));
    dirs.push(PathBuf::from("/usr/local/sbin"));
    // Debian keeps PostgreSQL's server programs per version, newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.reverse();
        dirs.extend(versions);
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound and released),
/// for servers that cannot be told to pick their own.
///
/// # Panics
/// When no loopback port can be bound at all.
pub fn free_port() -> u16 {
    #[allow(clippy::expect_used)]
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether the tests run as root (servers such as PostgreSQL refuse to, and
/// must be started as another user).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_program_every_machine_has() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-llmspell").is_none());
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert!(port > 0);
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    }
}
