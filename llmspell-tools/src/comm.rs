//! Communication tools (category `communication`): messages to people.
//!
//! - [`EmailSender`] (`email_sender`, `restricted`): one email through the
//!   SMTP server of [`EmailConfig`] (`[email]` in `llmspell.toml`): text
//!   and HTML bodies, attachments from the [`FsSandbox`](crate::FsSandbox)
//!   roots, `STARTTLS`, implicit TLS or plain connections
//!   ([`SmtpSecurity`]), the password from an environment variable on
//!   `secret_env`, recipients limited to configured domains, header
//!   injection refused, size limits and timeouts.
//!
//! The connection to the server goes through the network safety layer
//! ([`crate::net`]): the configured host must be on `allowed_hosts`, and
//! only the addresses [`NetPolicy::resolve`](crate::net::NetPolicy::resolve)
//! returns are connected to.

mod config;
mod email_sender;
mod headers;
mod message;
mod smtp;
mod tls;

pub use config::{
    DEFAULT_MAX_ATTACHMENT_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_RECIPIENTS, EmailConfig,
    SmtpSecurity,
};
pub use email_sender::EmailSender;
