//! An SMTP server for tests: it accepts mail on 127.0.0.1 and keeps what it
//! received, and can be told to misbehave.
//!
//! It speaks enough of RFC 5321 for a client to deliver a message: `EHLO`
//! and `HELO`, `MAIL FROM`, `RCPT TO`, `DATA` (with dot-stuffing undone),
//! `RSET`, `NOOP` and `QUIT`; optionally `AUTH PLAIN` (RFC 4954) required
//! before `MAIL`, `STARTTLS` (RFC 3207) or TLS from the first byte. What
//! each connection does is set with [`SmtpSinkBuilder`]: reject some
//! recipients with `550`, hang up at a chosen step, or wait before the
//! greeting.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//!
//! let sink = llmspell_testkit::smtp::SmtpSink::builder().start();
//! let stream = std::net::TcpStream::connect(sink.addr()).unwrap();
//! let mut reader = BufReader::new(stream.try_clone().unwrap());
//! let mut writer = stream;
//! let mut line = String::new();
//! let mut say = |cmd: &str, line: &mut String| {
//!     if !cmd.is_empty() {
//!         writer.write_all(cmd.as_bytes()).unwrap();
//!     }
//!     loop {
//!         line.clear();
//!         reader.read_line(line).unwrap();
//!         if line.as_bytes().get(3) != Some(&b'-') {
//!             break;
//!         }
//!     }
//! };
//! say("", &mut line);
//! assert!(line.starts_with("220"));
//! say("EHLO test\r\n", &mut line);
//! say("MAIL FROM:<a@example.com>\r\n", &mut line);
//! say("RCPT TO:<b@example.com>\r\n", &mut line);
//! say("DATA\r\n", &mut line);
//! assert!(line.starts_with("354"));
//! say("Subject: hi\r\n\r\n..dot\r\n.\r\n", &mut line);
//! assert!(line.starts_with("250"));
//! say("QUIT\r\n", &mut line);
//! let mail = sink.wait_for(1, std::time::Duration::from_secs(5));
//! assert_eq!(mail[0].rcpt_to, ["b@example.com"]);
//! assert!(mail[0].data.ends_with(b"\r\n.dot\r\n"));
//! ```

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::tls::TestCa;

/// The server's name in its replies.
const NAME: &str = "llmspell-test-sink";
/// Largest message accepted, in bytes.
const MAX_MESSAGE: usize = 64 << 20;

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The name the client gave with `EHLO`/`HELO`.
    pub helo: String,
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub mail_from: String,
    /// The envelope recipients accepted (`RCPT TO`), in order.
    pub rcpt_to: Vec<String>,
    /// The message as sent after `DATA`, dot-stuffing undone, without the
    /// final `.` line.
    pub data: Vec<u8>,
    /// The user name and password of `AUTH PLAIN`, when the client
    /// authenticated.
    pub auth: Option<(String, String)>,
    /// Whether the session was encrypted when the message arrived.
    pub tls: bool,
}

/// Where a connection is hung up on (the socket is closed without a
/// reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// Right after accepting: no greeting.
    BeforeGreeting,
    /// When the client sends `MAIL FROM`.
    AtMailFrom,
    /// When the message's final `.` arrives.
    AfterData,
}

/// How the sink secures connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Offers `STARTTLS`.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

#[derive(Debug, Default)]
struct Behaviour {
    reject: Vec<String>,
    hangup: Option<Hangup>,
    greeting_delay: Duration,
    auth: Option<(String, String)>,
    tls: Option<SinkTls>,
}

/// Sets up an [`SmtpSink`].
#[derive(Debug, Default)]
pub struct SmtpSinkBuilder {
    behaviour: Behaviour,
}

impl SmtpSinkBuilder {
    /// Answers `RCPT TO` for `address` with `550 5.1.1`.
    #[must_use]
    pub fn reject_recipient(mut self, address: &str) -> Self {
        self.behaviour.reject.push(address.to_ascii_lowercase());
        self
    }

    /// Closes each connection at `when`.
    #[must_use]
    pub fn hang_up(mut self, when: Hangup) -> Self {
        self.behaviour.hangup = Some(when);
        self
    }

    /// Waits `delay` before greeting each connection.
    #[must_use]
    pub fn greeting_delay(mut self, delay: Duration) -> Self {
        self.behaviour.greeting_delay = delay;
        self
    }

    /// Offers `AUTH PLAIN` and refuses `MAIL` until a client has
    /// authenticated as `user` with `password` (`535` for others).
    #[must_use]
    pub fn require_auth(mut self, user: &str, password: &str) -> Self {
        self.behaviour.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Speaks TLS as `mode` says, with a certificate of a fresh
    /// [`TestCa`] (see [`SmtpSink::ca_pem`]).
    #[must_use]
    pub fn tls(mut self, mode: SinkTls) -> Self {
        self.behaviour.tls = Some(mode);
        self
    }

    /// Starts the sink on 127.0.0.1, on a port the OS picks.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    #[allow(clippy::expect_used)]
    pub fn start(self) -> SmtpSink {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the sink's address");
        let ca = self.behaviour.tls.map(|_| TestCa::new());
        let shared = Arc::new(Shared {
            behaviour: self.behaviour,
            tls_config: ca.as_ref().map(TestCa::server_config),
            received: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let session = accepting.clone();
                std::thread::spawn(move || {
                    // A client that goes away ends its session; nothing to
                    // report.
                    let _ = serve(&session, stream);
                });
            }
        });
        SmtpSink {
            addr,
            ca_pem: ca.map(|c| c.ca_pem().to_owned()),
            shared,
            thread: Some(thread),
        }
    }
}

struct Shared {
    behaviour: Behaviour,
    tls_config: Option<Arc<ServerConfig>>,
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    connections: AtomicUsize,
    stop: AtomicBool,
}

impl Shared {
    fn received(&self) -> MutexGuard<'_, Vec<Received>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An SMTP server on 127.0.0.1 that keeps every message it accepts;
/// stopped when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// A sink that accepts every message.
    pub fn builder() -> SmtpSinkBuilder {
        SmtpSinkBuilder::default()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The PEM certificate of the CA that signed its certificate, when it
    /// speaks TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received().clone()
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived, at most `timeout`, and
    /// returns those there are.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut received = self.shared.received();
        while received.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            received = self
                .shared
                .arrived
                .wait_timeout(received, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        received.clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connection, in the clear or in TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Reads lines from a connection with its own buffer, so that the
/// connection can change to TLS between lines.
struct Session {
    conn: Conn,
    buf: Vec<u8>,
}

impl Session {
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                return Ok(Some(line));
            }
            if self.buf.len() > MAX_MESSAGE {
                return Err(io::Error::other("line too long"));
            }
            let mut chunk = [0u8; 8192];
            let n = self.conn.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reply(&mut self, text: &str) -> io::Result<()> {
        self.conn.write_all(text.as_bytes())?;
        self.conn.write_all(b"\r\n")?;
        self.conn.flush()
    }

    fn hang_up(&self) {
        let _ = self.conn.tcp().shutdown(Shutdown::Both);
    }

    fn start_tls(self, config: &Arc<ServerConfig>) -> io::Result<Self> {
        let Conn::Plain(tcp) = self.conn else {
            return Err(io::Error::other("already encrypted"));
        };
        let server = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(server, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Self {
            conn: Conn::Tls(Box::new(stream)),
            buf: self.buf,
        })
    }
}

/// The transaction being built.
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

fn path_argument(line: &str, prefix_len: usize) -> String {
    let rest = line.get(prefix_len..).unwrap_or_default().trim();
    let path = rest.split_whitespace().next().unwrap_or_default();
    path.trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn serve(shared: &Shared, stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let b = &shared.behaviour;
    let mut s = Session {
        conn: Conn::Plain(stream),
        buf: Vec::new(),
    };
    if b.hangup == Some(Hangup::BeforeGreeting) {
        s.hang_up();
        return Ok(());
    }
    if !b.greeting_delay.is_zero() {
        std::thread::sleep(b.greeting_delay);
    }
    if let (Some(SinkTls::Implicit), Some(config)) = (b.tls, &shared.tls_config) {
        s = s.start_tls(config)?;
    }
    s.reply(&format!("220 {NAME} ESMTP ready"))?;
    let mut helo = String::new();
    let mut authed: Option<(String, String)> = None;
    let mut tx = Transaction::default();
    while let Some(raw) = s.read_line()? {
        let line = String::from_utf8_lossy(&raw).into_owned();
        let upper = line.to_ascii_uppercase();
        let verb = upper
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let encrypted = matches!(s.conn, Conn::Tls(_));
        match verb.as_str() {
            "EHLO" | "HELO" => {
                helo = line.get(5..).unwrap_or_default().trim().to_owned();
                tx = Transaction::default();
                if verb == "HELO" {
                    s.reply(&format!("250 {NAME}"))?;
                    continue;
                }
                let mut lines = vec![NAME.to_owned(), "8BITMIME".to_owned()];
                if b.tls == Some(SinkTls::StartTls) && !encrypted {
                    lines.push("STARTTLS".to_owned());
                }
                if b.auth.is_some() {
                    lines.push("AUTH PLAIN".to_owned());
                }
                lines.push(format!("SIZE {MAX_MESSAGE}"));
                let last = lines.len() - 1;
                let text: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect();
                s.reply(&text.join("\r\n"))?;
            }
            "STARTTLS" => match (&shared.tls_config, b.tls) {
                (Some(config), Some(SinkTls::StartTls)) if !encrypted => {
                    s.reply("220 2.0.0 Ready to start TLS")?;
                    s = s.start_tls(config)?;
                    helo.clear();
                    tx = Transaction::default();
                }
                _ => s.reply("502 5.5.1 STARTTLS not offered")?,
            },
            "AUTH" => {
                let Some(expected) = &b.auth else {
                    s.reply("502 5.5.1 AUTH not offered")?;
                    continue;
                };
                let mut words = line.split_whitespace().skip(1);
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    s.reply("504 5.5.4 only PLAIN")?;
                    continue;
                }
                let initial = match words.next() {
                    Some(w) => w.to_owned(),
                    None => {
                        s.reply("334 ")?;
                        let Some(answer) = s.read_line()? else {
                            return Ok(());
                        };
                        String::from_utf8_lossy(&answer).trim().to_owned()
                    }
                };
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(initial.as_bytes())
                    .unwrap_or_default();
                let parts: Vec<String> = decoded
                    .split(|b| *b == 0)
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                match parts.as_slice() {
                    [_, user, password] if (user, password) == (&expected.0, &expected.1) => {
                        authed = Some((user.clone(), password.clone()));
                        s.reply("235 2.7.0 Authentication successful")?;
                    }
                    _ => s.reply("535 5.7.8 Authentication credentials invalid")?,
                }
            }
            "MAIL" if upper.starts_with("MAIL FROM:") => {
                if b.hangup == Some(Hangup::AtMailFrom) {
                    s.hang_up();
                    return Ok(());
                }
                if b.auth.is_some() && authed.is_none() {
                    s.reply("530 5.7.0 Authentication required")?;
                    continue;
                }
                tx = Transaction {
                    mail_from: Some(path_argument(&line, "MAIL FROM:".len())),
                    rcpt_to: Vec::new(),
                };
                s.reply("250 2.1.0 Ok")?;
            }
            "RCPT" if upper.starts_with("RCPT TO:") => {
                if tx.mail_from.is_none() {
                    s.reply("503 5.5.1 MAIL first")?;
                    continue;
                }
                let to = path_argument(&line, "RCPT TO:".len());
                if b.reject.contains(&to.to_ascii_lowercase()) {
                    s.reply(&format!(
                        "550 5.1.1 <{to}>: Recipient address rejected: no such user"
                    ))?;
                } else {
                    tx.rcpt_to.push(to);
                    s.reply("250 2.1.5 Ok")?;
                }
            }
            "DATA" => {
                if tx.rcpt_to.is_empty() {
                    s.reply("554 5.5.1 No valid recipients")?;
                    continue;
                }
                s.reply("354 End data with <CR><LF>.<CR><LF>")?;
                let mut data = Vec::new();
                loop {
                    let Some(l) = s.read_line()? else {
                        return Ok(());
                    };
                    if l == b"." {
                        break;
                    }
                    let l = l.strip_prefix(b".").unwrap_or(&l);
                    data.extend_from_slice(l);
                    data.extend_from_slice(b"\r\n");
                    if data.len() > MAX_MESSAGE {
                        s.reply("552 5.3.4 Message too big")?;
                        return Ok(());
                    }
                }
                if b.hangup == Some(Hangup::AfterData) {
                    s.hang_up();
                    return Ok(());
                }
                let received = Received {
                    helo: helo.clone(),
                    mail_from: tx.mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut tx.rcpt_to),
                    data,
                    auth: authed.clone(),
                    tls: encrypted,
                };
                let n = {
                    let mut all = shared.received();
                    all.push(received);
                    all.len()
                };
                shared.arrived.notify_all();
                s.reply(&format!("250 2.0.0 Ok: queued as {n}"))?;
            }
            "RSET" => {
                tx = Transaction::default();
                s.reply("250 2.0.0 Ok")?;
            }
            "NOOP" => s.reply("250 2.0.0 Ok")?,
            "QUIT" => {
                s.reply("221 2.0.0 Bye")?;
                return Ok(());
            }
            _ => s.reply("502 5.5.2 Command not recognized")?,
        }
    }
    Ok(())
}
