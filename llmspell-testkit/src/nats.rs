//! A real `nats-server` with JetStream for a test: started on a free
//! loopback port with its own store directory, stopped when the guard is
//! dropped (also when the test panics).

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, program};

/// The hint printed when `nats-server` is missing.
pub const NATS_HINT: &str = "Debian package `nats-server`";

/// A running `nats-server -js`, killed and reaped on drop.
///
/// ```no_run
/// if let Some(server) = llmspell_testkit::nats::NatsServer::start() {
///     let url = server.url(); // nats://127.0.0.1:<port>
///     # let _ = url;
/// }
/// ```
#[derive(Debug)]
pub struct NatsServer {
    program: PathBuf,
    port: u16,
    store: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server, or returns `None` (after the skip line of
    /// [`program`]) when `nats-server` is not installed.
    ///
    /// # Panics
    /// When the server does not start or does not listen within 10 s.
    pub fn start() -> Option<Self> {
        let program = program("nats-server", NATS_HINT)?;
        let store = std::env::temp_dir().join(format!(
            "llmspell-nats-{}-{}",
            std::process::id(),
            free_port()
        ));
        let mut server = Self {
            program,
            port: free_port(),
            store,
            child: None,
        };
        server.spawn();
        Some(server)
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its JetStream store directory.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same store, as after a
    /// crash or a restart.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    #[allow(clippy::expect_used, clippy::panic)]
    fn spawn(&mut self) {
        std::fs::create_dir_all(&self.store).expect("a store directory");
        let child = Command::new(&self.program)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "nats-server on port {} exited at start: {status}",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
