//! Building the message: headers, a text and/or HTML body
//! (`multipart/alternative` when both), and attachments
//! (`multipart/mixed`).

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use llmspell_core::{Error, Result};

/// A file to attach, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct LoadedAttachment {
    /// The file name the recipient sees.
    pub(crate) filename: String,
    /// Its MIME type.
    pub(crate) content_type: ContentType,
    /// The same, as text.
    pub(crate) mime: String,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

/// Everything the message holds, checked.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) from: Mailbox,
    pub(crate) to: Vec<Mailbox>,
    pub(crate) cc: Vec<Mailbox>,
    pub(crate) bcc: Vec<Mailbox>,
    pub(crate) reply_to: Option<Mailbox>,
    pub(crate) subject: String,
    pub(crate) text: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) attachments: Vec<LoadedAttachment>,
    pub(crate) message_id: String,
}

impl Draft {
    /// The message. `Bcc` recipients are in its envelope, not its headers.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when neither body is given, or when lettre
    /// refuses the message.
    pub(crate) fn build(self) -> Result<Message> {
        let mut builder = Message::builder()
            .from(self.from)
            .subject(self.subject)
            .message_id(Some(self.message_id))
            .date_now();
        for mailbox in self.to {
            builder = builder.to(mailbox);
        }
        for mailbox in self.cc {
            builder = builder.cc(mailbox);
        }
        for mailbox in self.bcc {
            builder = builder.bcc(mailbox);
        }
        if let Some(mailbox) = self.reply_to {
            builder = builder.reply_to(mailbox);
        }
        let body = match (self.text, self.html) {
            (Some(text), Some(html)) => Body::Multi(MultiPart::alternative_plain_html(text, html)),
            (Some(text), None) => Body::Single(SinglePart::plain(text)),
            (None, Some(html)) => Body::Single(SinglePart::html(html)),
            (None, None) => {
                return Err(Error::invalid_input(
                    "text",
                    "give the message a body: `text`, `html` or both",
                ));
            }
        };
        let built = if self.attachments.is_empty() {
            match body {
                Body::Single(part) => builder.singlepart(part),
                Body::Multi(part) => builder.multipart(part),
            }
        } else {
            let mut mixed = match body {
                Body::Single(part) => MultiPart::mixed().singlepart(part),
                Body::Multi(part) => MultiPart::mixed().multipart(part),
            };
            for a in self.attachments {
                mixed = mixed.singlepart(Attachment::new(a.filename).body(a.bytes, a.content_type));
            }
            builder.multipart(mixed)
        };
        built.map_err(|e| Error::invalid_input("to", format!("cannot build the message: {e}")))
    }
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            from: "Reports <reports@example.com>".parse().unwrap(),
            to: vec!["ada@example.com".parse().unwrap()],
            cc: Vec::new(),
            bcc: vec!["audit@example.com".parse().unwrap()],
            reply_to: None,
            subject: "Weekly".into(),
            text: Some("plain".into()),
            html: Some("<p>html</p>".into()),
            attachments: vec![LoadedAttachment {
                filename: "a.csv".into(),
                content_type: ContentType::parse("text/csv").unwrap(),
                mime: "text/csv".into(),
                bytes: b"x,y\n1,2\n".to_vec(),
            }],
            message_id: "<id@example.com>".into(),
        }
    }

    #[test]
    fn bcc_is_in_the_envelope_only() {
        let message = draft().build().unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(!text.to_ascii_lowercase().contains("bcc:"), "{text}");
        let rcpt: Vec<String> = message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(rcpt, ["ada@example.com", "audit@example.com"]);
        assert!(text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
    }

    #[test]
    fn a_message_needs_a_body() {
        let mut d = draft();
        d.text = None;
        d.html = None;
        assert!(d.build().unwrap_err().to_string().contains("`text`"));
    }
}
