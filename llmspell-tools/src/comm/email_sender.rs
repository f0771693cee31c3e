//! `email_sender`: sends an email (text and/or HTML, attachments) through
//! the configured SMTP server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use super::config::{EmailConfig, SmtpSecurity};
use super::headers::{RecipientDomains, check_header_value, parse_mailbox};
use super::message::{Draft, LoadedAttachment};
use super::smtp::SmtpServer;
use super::tls::TlsTrust;
use crate::net::{NetPolicy, SecretEnv};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;
use crate::schema;

/// Sends one email through the SMTP server of [`EmailConfig`]: to, cc and
/// bcc recipients, a subject, a text and/or an HTML body
/// (`multipart/alternative` when both) and attachments read from the
/// [`FsSandbox`] roots.
///
/// What guards it:
///
/// - the server comes from configuration only, and the connection goes
///   through [`NetPolicy::connect_tcp`] (the host must be on
///   `allowed_hosts`, internal addresses need `allowed_addresses`);
/// - the connection is secured as configured ([`SmtpSecurity`]; with
///   `STARTTLS`, a server that does not offer it is refused), the password
///   comes from an environment variable on `secret_env`, and credentials
///   are not sent in the clear unless allowed;
/// - recipients must be in `allowed_recipient_domains`; addresses are
///   parsed strictly, and a control character (CR, LF, ...) in any header
///   value (subject, address, name, attachment name or type) is an
///   [`Error::InvalidInput`] naming the field, so no header can be
///   injected;
/// - attachments and the whole message have size limits, and the SMTP
///   conversation has connect and total timeouts.
#[derive(Debug, Clone)]
pub struct EmailSender {
    metadata: ComponentMetadata,
    config: Arc<EmailConfig>,
    policy: NetPolicy,
    sandbox: FsSandbox,
    secrets: SecretEnv,
}

impl EmailSender {
    /// Creates the tool: it sends as `config` says, connects where `policy`
    /// allows, attaches files under `sandbox` and reads the password from
    /// `secrets`.
    pub fn new(
        config: EmailConfig,
        policy: NetPolicy,
        sandbox: FsSandbox,
        secrets: SecretEnv,
    ) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "email_sender",
                "Sends an email with text, HTML and attachments through the configured SMTP server",
            ),
            config: Arc::new(config),
            policy,
            sandbox,
            secrets,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EmailConfig {
        &self.config
    }
}

/// A file to attach.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AttachmentParam {
    /// The file, relative to the first file-system root or absolute under
    /// one.
    path: String,
    /// The name the recipient sees (default: the file's name).
    filename: Option<String>,
    /// Its MIME type, e.g. `text/csv` (default: guessed from the file name's
    /// extension, else `application/octet-stream`).
    content_type: Option<String>,
}

/// Parameters of `email_sender`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Recipients (at least one): `user@example.com` or `Name
    /// <user@example.com>`, in a domain of `[email]
    /// allowed_recipient_domains`.
    to: Vec<String>,
    /// Copy recipients, as `to`.
    #[serde(default)]
    cc: Vec<String>,
    /// Blind copy recipients, as `to`: in the envelope, not in the headers.
    #[serde(default)]
    bcc: Vec<String>,
    /// The address replies go to (default: the sender).
    reply_to: Option<String>,
    /// The subject line.
    subject: String,
    /// The plain-text body.
    text: Option<String>,
    /// The HTML body; with `text`, the two are sent as
    /// `multipart/alternative`.
    html: Option<String>,
    /// Files to attach, read from the file-system roots.
    #[serde(default)]
    attachments: Vec<AttachmentParam>,
    /// Time limit of the SMTP conversation in milliseconds (default and
    /// maximum: `[email] timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

/// How `email_sender` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn not_configured(what: &str, key: &str) -> Error {
    Error::SecurityViolation {
        message: format!("email_sender cannot send: {what} (set `[email] {key}`)"),
    }
}

impl EmailSender {
    fn sender(&self) -> Result<Mailbox> {
        let from = self
            .config
            .from
            .as_deref()
            .ok_or_else(|| not_configured("no sender is configured", "from"))?;
        parse_mailbox("[email] from", from)
    }

    fn server(&self) -> Result<SmtpServer> {
        let host = self
            .config
            .host
            .clone()
            .ok_or_else(|| not_configured("no SMTP server is configured", "host"))?;
        let credentials = match (&self.config.username, &self.config.password_env) {
            (Some(user), Some(var)) => {
                Some((user.clone(), self.secrets.read(var, "password_env")?))
            }
            (Some(_), None) => {
                return Err(not_configured(
                    "`username` is set but no password variable",
                    "password_env",
                ));
            }
            (None, _) => None,
        };
        if credentials.is_some()
            && self.config.security == SmtpSecurity::Plain
            && !self.config.allow_insecure_auth
        {
            return Err(Error::SecurityViolation {
                message: "email_sender refuses to send credentials over an unencrypted \
                          connection (`[email] security = \"plain\"`): use `starttls` or `tls`, \
                          or set `allow_insecure_auth = true`"
                    .to_owned(),
            });
        }
        let hello = &self.config.hello_name;
        check_header_value("[email] hello_name", hello)?;
        if hello.is_empty() || hello.contains(' ') {
            return Err(Error::invalid_input(
                "[email] hello_name",
                format!("`{hello}` is not a host name"),
            ));
        }
        let trust = match self.config.security {
            SmtpSecurity::Plain => TlsTrust::default(),
            _ => TlsTrust::load(self.config.ca_file.as_deref())?,
        };
        Ok(SmtpServer {
            policy: self.policy.clone(),
            port: self.config.port(),
            host,
            security: self.config.security,
            credentials,
            hello_name: self.config.hello_name.clone(),
            trust,
            connect_timeout: self.config.connect_timeout,
        })
    }

    fn recipients(
        &self,
        field: &str,
        values: &[String],
        domains: &RecipientDomains,
    ) -> Result<Vec<Mailbox>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let field = format!("{field}[{i}]");
                let mailbox = parse_mailbox(&field, v)?;
                domains.check(&field, &mailbox)?;
                Ok(mailbox)
            })
            .collect()
    }

    async fn attachment(&self, i: usize, a: &AttachmentParam) -> Result<LoadedAttachment> {
        let field = |name: &str| format!("attachments[{i}].{name}");
        let path = self.sandbox.resolve_existing(&a.path)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| fs_error(&path, &e))?;
        if !meta.is_file() {
            return Err(Error::invalid_input(
                field("path"),
                format!("`{}` is not a regular file", a.path),
            ));
        }
        let max = self.config.max_attachment_bytes;
        if meta.len() > max {
            return Err(too_large("attachment_bytes", max, meta.len()));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or_default());
        tokio::fs::File::open(&path)
            .await
            .map_err(|e| fs_error(&path, &e))?
            .take(max + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| fs_error(&path, &e))?;
        if bytes.len() as u64 > max {
            return Err(too_large("attachment_bytes", max, bytes.len() as u64));
        }
        let filename = match &a.filename {
            Some(name) => name.clone(),
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "attachment".to_owned()),
        };
        check_header_value(&field("filename"), &filename)?;
        if filename.trim().is_empty() {
            return Err(Error::invalid_input(
                field("filename"),
                "expected a non-empty name",
            ));
        }
        let mime = match &a.content_type {
            Some(t) => {
                check_header_value(&field("content_type"), t)?;
                t.trim().to_owned()
            }
            None => guess_content_type(&filename),
        };
        let content_type = ContentType::parse(&mime).map_err(|e| {
            Error::invalid_input(
                field("content_type"),
                format!("`{mime}` is not a MIME type ({e}); expected e.g. `text/csv`"),
            )
        })?;
        Ok(LoadedAttachment {
            filename,
            content_type,
            mime,
            bytes,
        })
    }

    fn timeout(&self, asked: Option<u64>) -> Result<Duration> {
        let max = self.config.timeout;
        match asked {
            None => Ok(max),
            Some(ms) if ms >= 1 && u128::from(ms) <= max.as_millis() => {
                Ok(Duration::from_millis(ms))
            }
            Some(ms) => Err(Error::invalid_input(
                "timeout_ms",
                format!(
                    "expected 1 to {} (`[email] timeout_ms`), got {ms}",
                    max.as_millis()
                ),
            )),
        }
    }
}

/// The MIME type of a file from its name's extension (text types with
/// `charset=utf-8`).
fn guess_content_type(filename: &str) -> String {
    let guessed = mime_guess::from_path(filename).first_or_octet_stream();
    if guessed.type_() == mime_guess::mime::TEXT {
        format!("{}; charset=utf-8", guessed.essence_str())
    } else {
        guessed.essence_str().to_owned()
    }
}

fn too_large(resource: &str, limit: u64, requested: u64) -> Error {
    Error::ResourceLimitExceeded {
        resource: resource.to_owned(),
        limit,
        requested,
    }
}

fn fs_error(path: &Path, e: &std::io::Error) -> Error {
    Error::External {
        service: "filesystem".to_owned(),
        message: format!("cannot read `{}`: {e}", path.display()),
        retryable: false,
        source: None,
    }
}

fn addresses(mailboxes: &[Mailbox]) -> Value {
    json!(
        mailboxes
            .iter()
            .map(|m| m.email.to_string())
            .collect::<Vec<_>>()
    )
}

#[async_trait]
impl Tool for EmailSender {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Communication
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        let mut schema = PARAMS.schema();
        let max = u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX);
        schema::refine(&mut schema, "timeout_ms", "maximum", json!(max));
        schema::refine(
            &mut schema,
            "to",
            "maxItems",
            json!(self.config.max_recipients),
        );
        schema
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![json!({
            "to": ["Ada Lovelace <ada@example.com>"],
            "subject": "Weekly report",
            "text": "The report is attached.",
            "html": "<p>The report is <b>attached</b>.</p>",
            "attachments": [{ "path": "reports/weekly.csv" }]
        })]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "sent": { "type": "boolean", "const": true },
                "message_id": { "type": "string", "description": "The Message-ID header, with its angle brackets" },
                "from": { "type": "string" },
                "to": { "type": "array", "items": { "type": "string" } },
                "cc": { "type": "array", "items": { "type": "string" } },
                "bcc": { "type": "array", "items": { "type": "string" } },
                "server": { "type": "string", "description": "The configured host:port" },
                "address": { "type": ["string", "null"], "description": "The address connected to" },
                "encrypted": { "type": "boolean" },
                "response": {
                    "type": "object",
                    "properties": { "code": { "type": "integer" }, "message": { "type": "string" } },
                    "required": ["code", "message"]
                },
                "bytes": { "type": "integer", "description": "Size of the message as sent" },
                "attachments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "filename": { "type": "string" },
                            "content_type": { "type": "string" },
                            "bytes": { "type": "integer" }
                        },
                        "required": ["filename", "content_type", "bytes"]
                    }
                }
            },
            "required": ["sent", "message_id", "from", "to", "server", "response", "bytes"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        let timeout = self.timeout(p.timeout_ms)?;
        check_header_value("subject", &p.subject)?;
        if p.text.is_none() && p.html.is_none() {
            return Err(Error::invalid_input(
                "text",
                "give the message a body: `text`, `html` or both",
            ));
        }
        if p.to.is_empty() {
            return Err(Error::invalid_input(
                "to",
                "expected at least one recipient",
            ));
        }
        let count = p.to.len() + p.cc.len() + p.bcc.len();
        if count > self.config.max_recipients {
            return Err(too_large(
                "recipients",
                self.config.max_recipients as u64,
                count as u64,
            ));
        }
        let server = self.server()?;
        let from = self.sender()?;
        let domains = RecipientDomains::new(&self.config.allowed_recipient_domains);
        let to = self.recipients("to", &p.to, &domains)?;
        let cc = self.recipients("cc", &p.cc, &domains)?;
        let bcc = self.recipients("bcc", &p.bcc, &domains)?;
        let reply_to = p
            .reply_to
            .as_deref()
            .map(|r| parse_mailbox("reply_to", r))
            .transpose()?;
        let mut attachments = Vec::with_capacity(p.attachments.len());
        for (i, a) in p.attachments.iter().enumerate() {
            attachments.push(self.attachment(i, a).await?);
        }
        let listed: Vec<Value> = attachments
            .iter()
            .map(|a| {
                json!({
                    "filename": a.filename,
                    "content_type": a.mime,
                    "bytes": a.bytes.len(),
                })
            })
            .collect();
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), from.email.domain());
        let (to_json, cc_json, bcc_json) = (addresses(&to), addresses(&cc), addresses(&bcc));
        let from_json = from.email.to_string();
        let message = Draft {
            from,
            to,
            cc,
            bcc,
            reply_to,
            subject: p.subject,
            text: p.text,
            html: p.html,
            attachments,
            message_id: message_id.clone(),
        }
        .build()?;
        let bytes = message.formatted();
        // The SMTP client ends the data with a line break before the final
        // `.`: the server receives two bytes more than the formatted
        // message.
        let sent_bytes = bytes.len() as u64 + 2;
        if sent_bytes > self.config.max_message_bytes {
            return Err(too_large(
                "message_bytes",
                self.config.max_message_bytes,
                sent_bytes,
            ));
        }
        let accepted = server.deliver(message.envelope(), &bytes, timeout).await?;
        Ok(json!({
            "sent": true,
            "message_id": message_id,
            "from": from_json,
            "to": to_json,
            "cc": cc_json,
            "bcc": bcc_json,
            "server": format!("{}:{}", server.host, server.port),
            "address": accepted.address.map(|a| a.to_string()),
            "encrypted": accepted.encrypted,
            "response": { "code": accepted.code, "message": accepted.message },
            "bytes": sent_bytes,
            "attachments": listed,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_guessed_from_the_name() {
        assert_eq!(guess_content_type("r.csv"), "text/csv; charset=utf-8");
        assert_eq!(guess_content_type("p.png"), "image/png");
        assert_eq!(guess_content_type("d.pdf"), "application/pdf");
        assert_eq!(
            guess_content_type("blob.zzz-unknown"),
            "application/octet-stream"
        );
    }
}
