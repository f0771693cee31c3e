//! One SMTP conversation: connect through the network policy, secure the
//! connection as configured, authenticate, send one message, quit; all
//! within a time limit.

use std::net::SocketAddr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::extension::ClientId;
use llmspell_core::{Error, Result};
use parking_lot::Mutex;

use super::config::SmtpSecurity;
use super::tls::TlsTrust;
use crate::net::NetPolicy;

/// Where and how to deliver: the server, its security and credentials.
#[derive(Debug, Clone)]
pub(crate) struct SmtpServer {
    pub(crate) policy: NetPolicy,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: SmtpSecurity,
    /// User name and password.
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) hello_name: String,
    pub(crate) trust: TlsTrust,
    pub(crate) connect_timeout: Duration,
}

/// The server's answer to an accepted message.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// The address connected to.
    pub(crate) address: Option<SocketAddr>,
    /// The reply code (`250`).
    pub(crate) code: u16,
    /// The reply text.
    pub(crate) message: String,
    /// Whether the connection was encrypted.
    pub(crate) encrypted: bool,
}

impl SmtpServer {
    /// `host:port`, for messages.
    fn name(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Delivers `message` (the formatted bytes) to the envelope's
    /// recipients, within `timeout`.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] when the network policy refuses the
    /// server; [`Error::Timeout`] naming the step that did not finish;
    /// [`Error::External`] (service `smtp`) when the server refuses
    /// (retryable for a 4xx reply, not for a 5xx one), closes the
    /// connection, or TLS fails.
    pub(crate) async fn deliver(
        &self,
        envelope: &Envelope,
        message: &[u8],
        timeout: Duration,
    ) -> Result<Accepted> {
        let step = Mutex::new("connecting");
        match tokio::time::timeout(timeout, self.conversation(envelope, message, &step)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                operation: format!("SMTP with {} ({})", self.name(), *step.lock()),
                after: timeout,
            }),
        }
    }

    async fn conversation(
        &self,
        envelope: &Envelope,
        message: &[u8],
        step: &Mutex<&'static str>,
    ) -> Result<Accepted> {
        let tcp = self
            .policy
            .connect_tcp(&self.host, self.port, self.connect_timeout)
            .await?;
        let address = tcp.peer_addr().ok();
        let hello = ClientId::Domain(self.hello_name.clone());
        let stream: Box<dyn AsyncTokioStream> = match self.security {
            SmtpSecurity::Tls => {
                *step.lock() = "TLS handshake";
                let tls =
                    tokio::time::timeout(self.connect_timeout, self.trust.connect(&self.host, tcp))
                        .await
                        .map_err(|_| Error::Timeout {
                            operation: format!("TLS handshake with {}", self.name()),
                            after: self.connect_timeout,
                        })??;
                Box::new(tls)
            }
            SmtpSecurity::StartTls | SmtpSecurity::Plain => Box::new(tcp),
        };
        *step.lock() = "waiting for the greeting";
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &hello)
            .await
            .map_err(|e| self.failed("greeting", &e))?;
        if self.security == SmtpSecurity::StartTls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(Error::External {
                    service: "smtp".to_owned(),
                    message: format!(
                        "SMTP server {} does not offer STARTTLS: the message was not sent in the \
                         clear (`[email] security` is `starttls`)",
                        self.name()
                    ),
                    retryable: false,
                    source: None,
                });
            }
            *step.lock() = "STARTTLS";
            let parameters = self.trust.starttls_parameters(&self.host)?;
            conn.starttls(parameters, &hello)
                .await
                .map_err(|e| self.failed("STARTTLS", &e))?;
        }
        if let Some((user, password)) = &self.credentials {
            *step.lock() = "authenticating";
            let credentials = Credentials::new(user.clone(), password.clone());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| self.failed("authentication", &e))?;
        }
        *step.lock() = "sending the message";
        let response = conn
            .send(envelope, message)
            .await
            .map_err(|e| self.failed("sending", &e))?;
        // An implicit-TLS stream is TLS below lettre, which sees a plain
        // stream.
        let encrypted = self.security == SmtpSecurity::Tls || conn.is_encrypted();
        *step.lock() = "quitting";
        // The message is accepted; a failed QUIT changes nothing.
        let _ = conn.quit().await;
        Ok(Accepted {
            address,
            code: code_number(&response.code()),
            message: response.message().collect::<Vec<_>>().join("\n"),
            encrypted,
        })
    }

    /// An SMTP failure during `step`.
    fn failed(&self, step: &str, e: &SmtpError) -> Error {
        let (what, retryable) = if e.is_permanent() {
            ("refused", false)
        } else if e.is_transient() {
            ("temporarily refused", true)
        } else if e.is_tls() || (step == "STARTTLS" && !e.is_response()) {
            // A certificate that does not verify will not verify next time.
            ("failed TLS", false)
        } else {
            ("failed", true)
        };
        Error::External {
            service: "smtp".to_owned(),
            message: format!("SMTP server {} {what} ({step}): {e}", self.name()),
            retryable,
            source: None,
        }
    }
}

/// `250` from lettre's reply code.
fn code_number(code: &lettre::transport::smtp::response::Code) -> u16 {
    code.to_string().parse().unwrap_or_default()
}
