//! A PostgreSQL server for one test: a new cluster in a temporary
//! directory, listening on 127.0.0.1 only, stopped and removed when the
//! guard is dropped (also when the test panics).
//!
//! The server programs are Debian's (`initdb`, `postgres`, `pg_isready` in
//! `/usr/lib/postgresql/*/bin`, package `postgresql`), found by
//! [`program`]: when they are missing,
//! [`PgServer::start`] returns `None` after printing a skip line, or fails
//! under `LLMSPELL_TEST_SERVICES=require`.
//!
//! PostgreSQL refuses to run as root. When the tests run as root
//! ([`running_as_root`]), the cluster directory is
//! given to the `postgres` user and `initdb` and `postgres` run as that
//! user (through `setpriv`, which replaces itself with the program, so the
//! guard holds the server's own process).
//!
//! The cluster has one superuser, [`PgServer::USER`], whose password is the
//! one given to [`PgServer::start`]; every connection over TCP must give it
//! (`scram-sha-256`). The server's Unix socket lives in the temporary
//! directory, so it never clashes with a system server.
//!
//! ```no_run
//! if let Some(pg) = llmspell_testkit::postgres::PgServer::start("secret") {
//!     let url = pg.url("postgres"); // postgres://llmspell@127.0.0.1:PORT/postgres
//!     assert!(url.starts_with("postgres://llmspell@127.0.0.1:"));
//! } // stopped and removed here
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{free_port, program, running_as_root};

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running PostgreSQL server; stopped, and its directory removed, when
/// dropped.
#[derive(Debug)]
pub struct PgServer {
    port: u16,
    password: String,
    bin: PathBuf,
    child: Option<Child>,
    // Dropped after the server is stopped (fields drop in order, and
    // `Drop::drop` stops the server first).
    dir: TempDir,
}

/// The uid and gid of the `postgres` user, from `/etc/passwd`.
fn postgres_ids() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
            _ => None,
        }
    })
}

/// Runs `program` as the `postgres` user when running as root.
fn command(program: &Path, as_postgres: Option<(u32, u32)>) -> Command {
    match as_postgres {
        Some((uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn chown_all(path: &Path, (uid, gid): (u32, u32)) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_all(&entry?.path(), (uid, gid))?;
        }
    }
    Ok(())
}

impl PgServer {
    /// The superuser of the cluster.
    pub const USER: &'static str = "llmspell";

    /// Starts a server whose superuser [`USER`](Self::USER) has `password`,
    /// on a free port of 127.0.0.1. `None` (after a skip line) when the
    /// PostgreSQL programs are missing.
    ///
    /// # Panics
    /// When the programs are missing under `LLMSPELL_TEST_SERVICES=require`,
    /// when running as root without a `postgres` user, or when the server
    /// does not start (with its log).
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn start(password: &str) -> Option<Self> {
        let found = program("initdb", "Debian package `postgresql`")?;
        // A link on `PATH` (`/usr/local/bin/initdb`) leads to the directory
        // holding the other server programs.
        let initdb = fs::canonicalize(&found).unwrap_or(found);
        let bin = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
        let as_postgres = if running_as_root() {
            Some(postgres_ids().expect(
                "running as root, PostgreSQL must run as the `postgres` user, which does not exist",
            ))
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("llmspell-pg-")
            .tempdir()
            .expect("a temporary directory");
        let pwfile = dir.path().join("pwfile");
        fs::write(&pwfile, format!("{password}\n")).expect("the password file");
        if let Some(ids) = as_postgres {
            chown_all(dir.path(), ids).expect("give the directory to `postgres`");
        }
        let data = dir.path().join("data");
        let out = command(&initdb, as_postgres)
            .arg("-D")
            .arg(&data)
            .arg("-U")
            .arg(Self::USER)
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = fs::remove_file(&pwfile);
        let mut server = Self {
            port: 0,
            password: password.to_owned(),
            bin,
            child: None,
            dir,
        };
        // A free port may be taken by the time the server binds it: then
        // another is tried.
        let mut last_log = String::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.launch(as_postgres) {
                Ok(()) => return Some(server),
                Err(log) => {
                    server.stop();
                    let port_taken = log.contains("could not bind");
                    last_log = log;
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        panic!("PostgreSQL did not start:\n{last_log}");
    }

    /// Starts `postgres` and waits until it accepts connections; the log
    /// when it does not.
    fn launch(&mut self, as_postgres: Option<(u32, u32)>) -> Result<(), String> {
        let log_path = self.dir.path().join("server.log");
        let log = fs::File::create(&log_path).map_err(|e| e.to_string())?;
        if let Some(ids) = as_postgres {
            std::os::unix::fs::chown(&log_path, Some(ids.0), Some(ids.1))
                .map_err(|e| e.to_string())?;
        }
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = command(&self.bin.join("postgres"), as_postgres)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let read_log = || fs::read_to_string(&log_path).unwrap_or_default();
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("postgres exited ({status}):\n{}", read_log()));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not accept connections within {START_TIMEOUT:?}:\n{}",
                    read_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://llmspell@127.0.0.1:PORT/<database>`, without the
    /// password (the cluster starts with the database `postgres`).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{database}",
            Self::USER,
            self.port
        )
    }

    /// The directory of the server programs (`psql` is there too).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the server: a fast shutdown (SIGINT), then SIGKILL if it has
    /// not exited in time.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}
