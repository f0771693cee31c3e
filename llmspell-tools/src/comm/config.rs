//! The settings of `email_sender`: the SMTP server, its security and
//! credentials, the sender, who may receive mail, and limits.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SmtpSecurity {
    /// Connect in the clear, then upgrade with `STARTTLS` (RFC 3207). A
    /// server that does not offer `STARTTLS` is refused: the message is
    /// never sent in the clear. Default port 587.
    #[default]
    StartTls,
    /// TLS from the first byte ("implicit TLS", RFC 8314). Default port
    /// 465.
    Tls,
    /// No encryption. Credentials are refused unless
    /// [`EmailConfig::allow_insecure_auth`]. Default port 25.
    Plain,
}

impl SmtpSecurity {
    /// The configuration name: `starttls`, `tls` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::Plain => "plain",
        }
    }

    /// The port used when none is configured: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "plain" => Ok(SmtpSecurity::Plain),
            other => Err(format!(
                "unknown SMTP security `{other}`; valid: starttls, tls, plain"
            )),
        }
    }
}

/// Default [`EmailConfig::max_attachment_bytes`]: 10 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 << 20;
/// Default [`EmailConfig::max_message_bytes`]: 25 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 25 << 20;
/// Default [`EmailConfig::max_recipients`].
pub const DEFAULT_MAX_RECIPIENTS: usize = 50;

/// What `email_sender` sends through, as whom, to whom, and its limits
/// (`[email]` in `llmspell.toml`).
///
/// The default sends nothing: no server, no sender, no recipient domain.
/// The server's host must also pass the network policy (`[sandbox]
/// allowed_hosts` and `allowed_addresses`), and the password variable must
/// be on `[sandbox] secret_env`.
///
/// # Examples
///
/// ```
/// use llmspell_tools::comm::{EmailConfig, SmtpSecurity};
///
/// let email = EmailConfig {
///     host: Some("smtp.example.com".into()),
///     security: SmtpSecurity::StartTls,
///     username: Some("reports@example.com".into()),
///     password_env: Some("SMTP_PASSWORD".into()),
///     from: Some("Reports <reports@example.com>".into()),
///     allowed_recipient_domains: vec!["example.com".into()],
///     ..EmailConfig::default()
/// };
/// assert_eq!(email.port(), 587);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// The SMTP server's host name or address. `None` (the default): every
    /// call is refused.
    pub host: Option<String>,
    /// The server's port (default: by [`security`](Self::security), 587,
    /// 465 or 25).
    pub port: Option<u16>,
    /// How the connection is secured (default `STARTTLS`, required).
    pub security: SmtpSecurity,
    /// The user name to authenticate with (`AUTH PLAIN` or `LOGIN`); none:
    /// no authentication.
    pub username: Option<String>,
    /// The environment variable holding the password; it must be on
    /// `secret_env`.
    pub password_env: Option<String>,
    /// Allow credentials over a [`SmtpSecurity::Plain`] connection
    /// (default `false`: they would cross the network in the clear).
    pub allow_insecure_auth: bool,
    /// The sender, `Name <address>` or `address`, used as `From` and as the
    /// envelope sender. Required to send.
    pub from: Option<String>,
    /// Domains mail may be sent to: `example.com` (that domain exactly),
    /// `*.example.com` (its subdomains), `*` (any). Empty (the default):
    /// every recipient is refused.
    pub allowed_recipient_domains: Vec<String>,
    /// Most recipients (`to`, `cc` and `bcc` together) of one message
    /// (default 50).
    pub max_recipients: usize,
    /// Largest attachment, in bytes (default 10 MiB).
    pub max_attachment_bytes: u64,
    /// Largest message as sent (headers, bodies and encoded attachments),
    /// in bytes (default 25 MiB).
    pub max_message_bytes: u64,
    /// Time to connect to the server, TLS included (default 10 s).
    pub connect_timeout: Duration,
    /// Time of the whole SMTP conversation, from connecting to the
    /// server's answer to the message (default 60 s); also the most a call
    /// may ask for.
    pub timeout: Duration,
    /// The name sent with `EHLO` (default `localhost`).
    pub hello_name: String,
    /// A PEM file of certificate authorities to trust besides the system's
    /// (for a server with a private CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password_env: None,
            allow_insecure_auth: false,
            from: None,
            allowed_recipient_domains: Vec::new(),
            max_recipients: DEFAULT_MAX_RECIPIENTS,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            hello_name: "localhost".to_owned(),
            ca_file: None,
        }
    }
}

impl EmailConfig {
    /// The port connected to: [`port`](Self::port), or the default of
    /// [`security`](Self::security).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.security.default_port())
    }
}
