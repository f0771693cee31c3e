//! `email_sender` against a real SMTP server on 127.0.0.1 (the testkit's
//! sink): what arrives is parsed as MIME and compared with what was asked
//! for (headers, text and HTML bodies, attachments byte for byte), over a
//! plain connection, STARTTLS and implicit TLS with `AUTH PLAIN`; and what
//! must not happen does not: rejected recipients, servers that hang up or
//! stall, refused hosts, header injection, files outside the roots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_testkit::smtp::{Hangup, Received, SinkTls, SmtpSink};
use llmspell_tools::comm::{EmailConfig, EmailSender, SmtpSecurity};
use llmspell_tools::net::{NetPolicy, SecretEnv};
use llmspell_tools::{FsSandbox, ToolRegistry};
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Cargo sets this variable for every test process: its value is a
/// password both the sink and the tool can read.
const PASSWORD_VAR: &str = "CARGO_PKG_NAME";

fn password() -> String {
    std::env::var(PASSWORD_VAR).unwrap()
}

/// A configuration sending to `sink` over a plain connection.
fn config_for(sink: &SmtpSink) -> EmailConfig {
    EmailConfig {
        host: Some("127.0.0.1".into()),
        port: Some(sink.port()),
        security: SmtpSecurity::Plain,
        from: Some("Reports <reports@example.com>".into()),
        allowed_recipient_domains: vec!["example.com".into(), "*.example.org".into()],
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        ..EmailConfig::default()
    }
}

struct Rig {
    hooks: HookRegistry,
    tools: ToolRegistry,
    dir: TempDir,
}

impl Rig {
    fn new(config: EmailConfig, policy: NetPolicy) -> Self {
        let dir = TempDir::new().unwrap();
        let hooks = HookRegistry::new();
        let tools = ToolRegistry::new(GuardedRunner::new(
            HookExecutor::builder(hooks.clone()).build(),
        ));
        tools
            .register(Arc::new(EmailSender::new(
                config,
                policy,
                FsSandbox::new([dir.path()]),
                SecretEnv::new([PASSWORD_VAR]),
            )))
            .unwrap();
        Self { hooks, tools, dir }
    }

    fn local(config: EmailConfig) -> Self {
        Self::new(config, NetPolicy::new(["127.0.0.1"]))
    }

    async fn send(&self, params: Value) -> Result<Value, Error> {
        self.tools
            .invoke("email_sender", params, &ExecutionContext::native())
            .await
    }

    fn file(&self, name: &str, bytes: &[u8]) {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn one(sink: &SmtpSink) -> Received {
    let mut received = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(received.len(), 1, "{received:?}");
    received.remove(0)
}

/// Bytes that are not text: every byte value, then a pseudo-random tail.
fn binary(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|i| {
            if i < 256 {
                i as u8
            } else {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            }
        })
        .collect()
}

#[tokio::test]
async fn text_html_and_attachments_arrive_as_sent_and_a_hook_changes_the_call() {
    let sink = SmtpSink::builder().start();
    let rig = Rig::local(config_for(&sink));
    let csv = b"name,score\nada,90\nbob,70\n";
    let blob = binary(200_000);
    rig.file("reports/weekly.csv", csv);
    rig.file("reports/chart.png", &blob);
    // A hook tags every subject: the message sent is the changed call.
    let _tag = rig.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            let mut params = c.data.clone();
            let subject = params["subject"].as_str().unwrap_or_default().to_owned();
            params["subject"] = json!(format!("[llmspell] {subject}"));
            Ok(HookResult::Modified(params))
        }),
    );
    // Lines starting with a dot are escaped on the wire and restored.
    let text = "Hello Ada,\n.hidden line\n..two dots\n.\nend\n";
    let html = "<p>Hello <b>Ada</b> — Grüße</p>";
    let out = rig
        .send(json!({
            "to": ["Ada Lovelace <ada@example.com>", "bob@mail.example.org"],
            "cc": ["carol@example.com"],
            "bcc": ["audit@example.com"],
            "reply_to": "desk@example.com",
            "subject": "Weekly report — Grüße",
            "text": text,
            "html": html,
            "attachments": [
                { "path": "reports/weekly.csv" },
                { "path": "reports/chart.png", "filename": "chart (week 7).png" }
            ]
        }))
        .await
        .unwrap();
    assert_eq!(out["sent"], true);
    assert_eq!(out["response"]["code"], 250);
    assert_eq!(out["address"], format!("127.0.0.1:{}", sink.port()));
    assert_eq!(out["encrypted"], false);
    assert_eq!(
        out["attachments"],
        json!([
            { "filename": "weekly.csv", "content_type": "text/csv; charset=utf-8", "bytes": csv.len() },
            { "filename": "chart (week 7).png", "content_type": "image/png", "bytes": blob.len() }
        ])
    );

    let got = one(&sink);
    assert_eq!(got.mail_from, "reports@example.com");
    assert_eq!(
        got.rcpt_to,
        [
            "ada@example.com",
            "bob@mail.example.org",
            "carol@example.com",
            "audit@example.com"
        ]
    );
    assert_eq!(got.helo, "localhost");
    assert_eq!(out["bytes"], got.data.len());

    let mail = MessageParser::default().parse(&got.data).unwrap();
    assert_eq!(mail.subject(), Some("[llmspell] Weekly report — Grüße"));
    let from = mail.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Reports"), Some("reports@example.com"))
    );
    let to: Vec<_> = mail
        .to()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(to, ["ada@example.com", "bob@mail.example.org"]);
    assert_eq!(
        mail.to().unwrap().first().unwrap().name(),
        Some("Ada Lovelace")
    );
    let cc: Vec<_> = mail
        .cc()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(cc, ["carol@example.com"]);
    assert!(mail.bcc().is_none(), "Bcc must not be a header");
    let raw = String::from_utf8_lossy(&got.data).to_ascii_lowercase();
    assert!(
        !raw.contains("audit@example.com"),
        "the bcc address leaked into the message"
    );
    assert_eq!(
        mail.reply_to().unwrap().first().unwrap().address(),
        Some("desk@example.com")
    );
    assert_eq!(
        format!("<{}>", mail.message_id().unwrap()),
        out["message_id"].as_str().unwrap()
    );
    assert!(mail.date().is_some());
    assert_eq!(mail.body_text(0).unwrap().replace("\r\n", "\n"), text);
    assert_eq!(mail.body_html(0).unwrap(), html);
    let content = |part: &mail_parser::MessagePart<'_>| {
        let ct = part.content_type().unwrap();
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
    };
    assert_eq!(content(&mail.parts[0]), "multipart/mixed");
    let attachments: Vec<_> = mail.attachments().collect();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0].attachment_name(), Some("weekly.csv"));
    assert_eq!(content(attachments[0]), "text/csv");
    assert_eq!(attachments[0].contents(), csv);
    assert_eq!(attachments[1].attachment_name(), Some("chart (week 7).png"));
    assert_eq!(content(attachments[1]), "image/png");
    assert_eq!(attachments[1].contents(), blob.as_slice());
    // The text and HTML bodies are alternatives of one another.
    assert!(
        mail.parts
            .iter()
            .any(|p| p.content_type().and_then(|c| c.subtype()) == Some("alternative")),
        "no multipart/alternative"
    );
}

#[tokio::test]
async fn html_only_and_text_only_messages_are_single_parts() {
    let sink = SmtpSink::builder().start();
    let rig = Rig::local(config_for(&sink));
    rig.send(json!({ "to": ["ada@example.com"], "subject": "t", "text": "just text" }))
        .await
        .unwrap();
    rig.send(json!({ "to": ["ada@example.com"], "subject": "h", "html": "<i>just html</i>" }))
        .await
        .unwrap();
    let got = sink.wait_for(2, Duration::from_secs(5));
    let text = MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(text.content_type().unwrap().subtype(), Some("plain"));
    assert_eq!(text.body_text(0).unwrap().trim_end(), "just text");
    let html = MessageParser::default().parse(&got[1].data).unwrap();
    assert_eq!(html.content_type().unwrap().subtype(), Some("html"));
    assert_eq!(html.body_html(0).unwrap().trim_end(), "<i>just html</i>");
}

/// A configuration for a TLS sink: its CA file written into `dir`.
fn tls_config(sink: &SmtpSink, security: SmtpSecurity, dir: &Path) -> EmailConfig {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sink.ca_pem().unwrap()).unwrap();
    EmailConfig {
        security,
        username: Some("reports".into()),
        password_env: Some(PASSWORD_VAR.into()),
        ca_file: Some(ca),
        ..config_for(sink)
    }
}

#[tokio::test]
async fn starttls_and_implicit_tls_encrypt_and_authenticate() {
    let certs = TempDir::new().unwrap();
    for (mode, security) in [
        (SinkTls::StartTls, SmtpSecurity::StartTls),
        (SinkTls::Implicit, SmtpSecurity::Tls),
    ] {
        let sink = SmtpSink::builder()
            .tls(mode)
            .require_auth("reports", &password())
            .start();
        let rig = Rig::local(tls_config(&sink, security, certs.path()));
        let out = rig
            .send(json!({ "to": ["ada@example.com"], "subject": "secret", "text": "sealed" }))
            .await
            .unwrap_or_else(|e| panic!("{security}: {e}"));
        assert_eq!(out["encrypted"], true, "{security}");
        let got = one(&sink);
        assert!(got.tls, "{security}: the message crossed in the clear");
        assert_eq!(
            got.auth,
            Some(("reports".to_owned(), password())),
            "{security}"
        );
        let mail = MessageParser::default().parse(&got.data).unwrap();
        assert_eq!(mail.body_text(0).unwrap().trim_end(), "sealed");
    }
}

#[tokio::test]
async fn tls_needs_a_trusted_certificate_and_starttls_is_never_skipped() {
    // The sink's CA is not trusted without `ca_file`.
    for (mode, security) in [
        (SinkTls::Implicit, SmtpSecurity::Tls),
        (SinkTls::StartTls, SmtpSecurity::StartTls),
    ] {
        let sink = SmtpSink::builder().tls(mode).start();
        let rig = Rig::local(EmailConfig {
            security,
            ..config_for(&sink)
        });
        match rig
            .send(json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" }))
            .await
        {
            Err(Error::External {
                service,
                message,
                retryable,
                ..
            }) => {
                assert_eq!(service, "smtp");
                assert!(message.contains("TLS"), "{security}: {message}");
                assert!(message.contains("certificate"), "{security}: {message}");
                assert!(!retryable, "{security}");
            }
            other => panic!("{security}: {other:?}"),
        }
        assert!(sink.received().is_empty());
    }

    // A server without STARTTLS is refused, not spoken to in the clear.
    let plain = SmtpSink::builder().start();
    let rig = Rig::local(EmailConfig {
        security: SmtpSecurity::StartTls,
        ..config_for(&plain)
    });
    match rig
        .send(json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" }))
        .await
    {
        Err(Error::External {
            message, retryable, ..
        }) => {
            assert!(message.contains("does not offer STARTTLS"), "{message}");
            assert!(!retryable);
        }
        other => panic!("{other:?}"),
    }
    assert!(plain.received().is_empty());
}

#[tokio::test]
async fn credentials_never_cross_a_plain_connection_unless_allowed() {
    let sink = SmtpSink::builder()
        .require_auth("reports", &password())
        .start();
    let config = EmailConfig {
        username: Some("reports".into()),
        password_env: Some(PASSWORD_VAR.into()),
        ..config_for(&sink)
    };
    let rig = Rig::local(config.clone());
    let call = json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" });
    match rig.send(call.clone()).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("allow_insecure_auth"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sink.connections(), 0, "refused before connecting");

    let rig = Rig::local(EmailConfig {
        allow_insecure_auth: true,
        ..config
    });
    rig.send(call.clone()).await.unwrap();
    assert_eq!(one(&sink).auth, Some(("reports".to_owned(), password())));

    // A password variable that is not on `secret_env` is refused.
    let rig = Rig::new(
        EmailConfig {
            username: Some("reports".into()),
            password_env: Some("HOME".into()),
            allow_insecure_auth: true,
            ..config_for(&sink)
        },
        NetPolicy::new(["127.0.0.1"]),
    );
    match rig.send(call).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("secret_env"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_rejected_recipient_is_a_permanent_failure_and_nothing_is_delivered() {
    let sink = SmtpSink::builder()
        .reject_recipient("ghost@example.com")
        .start();
    let rig = Rig::local(config_for(&sink));
    match rig
        .send(
            json!({ "to": ["ada@example.com", "ghost@example.com"], "subject": "s", "text": "t" }),
        )
        .await
    {
        Err(Error::External {
            service,
            message,
            retryable,
            ..
        }) => {
            assert_eq!(service, "smtp");
            assert!(message.contains("550"), "{message}");
            assert!(message.contains("no such user"), "{message}");
            assert!(!retryable, "a 5xx answer is permanent");
        }
        other => panic!("{other:?}"),
    }
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn servers_that_hang_up_or_stall_fail_the_call() {
    for when in [
        Hangup::BeforeGreeting,
        Hangup::AtMailFrom,
        Hangup::AfterData,
    ] {
        let sink = SmtpSink::builder().hang_up(when).start();
        let rig = Rig::local(config_for(&sink));
        match rig
            .send(json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" }))
            .await
        {
            Err(Error::External {
                service, retryable, ..
            }) => {
                assert_eq!(service, "smtp", "{when:?}");
                assert!(retryable, "{when:?}: a dropped connection may be retried");
            }
            other => panic!("{when:?}: {other:?}"),
        }
        assert!(sink.received().is_empty(), "{when:?}");
    }

    let slow = SmtpSink::builder()
        .greeting_delay(Duration::from_secs(20))
        .start();
    let rig = Rig::local(config_for(&slow));
    let started = Instant::now();
    match rig
        .send(json!({ "to": ["ada@example.com"], "subject": "s", "text": "t", "timeout_ms": 500 }))
        .await
    {
        Err(Error::Timeout { operation, after }) => {
            assert!(operation.contains("greeting"), "{operation}");
            assert_eq!(after, Duration::from_millis(500));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // A call may not ask for more time than configured.
    let err = rig
        .send(
            json!({ "to": ["ada@example.com"], "subject": "s", "text": "t", "timeout_ms": 60_000 }),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`timeout_ms`"), "{err}");
}

#[tokio::test]
async fn header_injection_is_refused_naming_the_field() {
    let sink = SmtpSink::builder().start();
    let rig = Rig::local(config_for(&sink));
    rig.file("a.txt", b"x");
    let base = json!({ "to": ["ada@example.com"], "subject": "s", "text": "t" });
    let cases: Vec<(&str, Value)> = vec![
        (
            "subject",
            json!({ "subject": "Hi\r\nBcc: victim@evil.test" }),
        ),
        ("subject", json!({ "subject": "Hi\nX-Injected: 1" })),
        (
            "to[0]",
            json!({ "to": ["ada@example.com\r\nBcc: victim@evil.test"] }),
        ),
        (
            "to[1]",
            json!({ "to": ["ada@example.com", "Ada\n <ada@example.com>"] }),
        ),
        ("cc[0]", json!({ "cc": ["Evil\r <carol@example.com>"] })),
        ("bcc[0]", json!({ "bcc": ["a@example.com\u{0}"] })),
        (
            "reply_to",
            json!({ "reply_to": "desk@example.com\r\nX: y" }),
        ),
        (
            "attachments[0].filename",
            json!({ "attachments": [{ "path": "a.txt", "filename": "a.txt\r\nContent-Type: text/html" }] }),
        ),
        (
            "attachments[0].content_type",
            json!({ "attachments": [{ "path": "a.txt", "content_type": "text/plain\r\nX: y" }] }),
        ),
    ];
    for (field, change) in cases {
        let mut call = base.clone();
        for (k, v) in change.as_object().unwrap() {
            call[k] = v.clone();
        }
        match rig.send(call).await {
            Err(Error::InvalidInput { field: f, message }) => {
                assert_eq!(f, field, "{message}");
                assert!(message.contains("control character"), "{field}: {message}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // Addresses are parsed strictly.
    for bad in [
        "ada",
        "ada@",
        "ada@@example.com",
        "<ada@example.com",
        "ada@[127.0.0.1]",
    ] {
        let mut call = base.clone();
        call["to"] = json!([bad]);
        match rig.send(call).await {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "to[0]", "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(sink.connections(), 0, "nothing was sent");
}

#[tokio::test]
async fn recipients_bodies_and_sizes_are_checked_before_connecting() {
    let sink = SmtpSink::builder().start();
    let rig = Rig::local(EmailConfig {
        max_recipients: 2,
        max_attachment_bytes: 1000,
        max_message_bytes: 4000,
        ..config_for(&sink)
    });
    rig.file("big.bin", &binary(1001));
    rig.file("ok.bin", &binary(900));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "to": ["x@evil.test"], "subject": "s", "text": "t" }),
            "allowed_recipient_domains",
        ),
        (
            json!({ "to": ["x@example.org"], "subject": "s", "text": "t" }),
            "allowed_recipient_domains",
        ),
        (json!({ "to": ["a@example.com"], "subject": "s" }), "`text`"),
        (
            json!({ "to": ["a@example.com", "b@example.com"], "cc": ["c@example.com"], "subject": "s", "text": "t" }),
            "recipients",
        ),
        // The schema gives `to` the same limit.
        (
            json!({ "to": ["a@example.com", "b@example.com", "c@example.com"], "subject": "s", "text": "t" }),
            "has more than 2 items",
        ),
        (
            json!({ "to": ["a@example.com"], "subject": "s", "text": "t", "attachments": [{ "path": "big.bin" }] }),
            "attachment_bytes",
        ),
        (
            json!({ "to": ["a@example.com"], "subject": "s", "text": "t",
                    "attachments": [{ "path": "ok.bin" }, { "path": "ok.bin" }, { "path": "ok.bin" }] }),
            "message_bytes",
        ),
        (
            json!({ "to": ["a@example.com"], "subject": "s", "text": "t",
                    "attachments": [{ "path": "ok.bin", "content_type": "not a type" }] }),
            "`attachments[0].content_type`",
        ),
    ];
    for (call, expected) in cases {
        let err = rig.send(call.clone()).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{call}: {err}");
    }
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn attachments_outside_the_roots_are_refused() {
    let sink = SmtpSink::builder().start();
    let rig = Rig::local(config_for(&sink));
    let outside = TempDir::new().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        rig.dir.path().join("link.txt"),
    )
    .unwrap();
    for path in [
        "../secret.txt".to_owned(),
        outside.path().join("secret.txt").display().to_string(),
        "/etc/passwd".to_owned(),
        "link.txt".to_owned(),
    ] {
        match rig
            .send(
                json!({ "to": ["a@example.com"], "subject": "s", "text": "t",
                          "attachments": [{ "path": path }] }),
            )
            .await
        {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("allowed roots"), "{path}: {message}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn the_server_must_be_configured_and_allowed() {
    let sink = SmtpSink::builder().start();
    let call = json!({ "to": ["a@example.com"], "subject": "s", "text": "t" });
    // Nothing configured: nothing is sent, and the message says what to set.
    let rig = Rig::local(EmailConfig::default());
    match rig.send(call.clone()).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("[email] host"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let rig = Rig::local(EmailConfig {
        from: None,
        ..config_for(&sink)
    });
    match rig.send(call.clone()).await {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("[email] from"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A configured EHLO name cannot smuggle a command either.
    let rig = Rig::local(EmailConfig {
        hello_name: "client\r\nRSET".into(),
        ..config_for(&sink)
    });
    match rig.send(call.clone()).await {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "[email] hello_name"),
        other => panic!("{other:?}"),
    }
    // A host the network policy does not allow is never contacted, by
    // address or by a name resolving to loopback.
    for (host, policy, reason) in [
        (
            "127.0.0.1",
            NetPolicy::new(["smtp.example.com"]),
            "allow-list",
        ),
        ("127.0.0.1", NetPolicy::new(["*"]), "loopback"),
        ("localhost", NetPolicy::new(["*"]), "loopback"),
    ] {
        let rig = Rig::new(
            EmailConfig {
                host: Some(host.into()),
                ..config_for(&sink)
            },
            policy,
        );
        match rig.send(call.clone()).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains(reason), "{host}: {message}");
            }
            other => panic!("{host}: {other:?}"),
        }
    }
    assert_eq!(sink.connections(), 0);
}
