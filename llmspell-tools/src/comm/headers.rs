//! Values that end up in message headers: refused when they could inject a
//! header, and addresses parsed strictly.

use lettre::message::Mailbox;
use llmspell_core::{Error, Result};

/// Refuses `value` (from `field`) when it holds a control character (CR,
/// LF, NUL, TAB, DEL, the C1 controls) or a Unicode line or paragraph
/// separator: any of them could end a header line and start another.
///
/// # Errors
/// [`Error::InvalidInput`] naming `field` and the character.
pub(crate) fn check_header_value(field: &str, value: &str) -> Result<()> {
    match value
        .char_indices()
        .find(|(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        None => Ok(()),
        Some((at, c)) => Err(Error::invalid_input(
            field,
            format!(
                "control character {} at byte {at}: header values may not contain line breaks or \
                 other control characters",
                c.escape_unicode()
            ),
        )),
    }
}

/// Parses a mailbox (`ada@example.com` or `Ada Lovelace <ada@example.com>`)
/// given as `field`, after [`check_header_value`]. The address must be a
/// valid RFC 5321 address with a domain name (no address literal such as
/// `user@[10.0.0.1]`).
///
/// # Errors
/// [`Error::InvalidInput`] naming `field`.
pub(crate) fn parse_mailbox(field: &str, value: &str) -> Result<Mailbox> {
    check_header_value(field, value)?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input(field, "expected an email address"));
    }
    let mailbox: Mailbox = trimmed.parse().map_err(|e| {
        Error::invalid_input(
            field,
            format!(
                "`{trimmed}` is not a valid address ({e}); expected `user@example.com` or \
                 `Name <user@example.com>`"
            ),
        )
    })?;
    let domain = mailbox.email.domain();
    if domain.starts_with('[') {
        return Err(Error::invalid_input(
            field,
            format!("`{trimmed}`: address literals (`user@[address]`) are not accepted"),
        ));
    }
    Ok(mailbox)
}

/// The recipient domains configuration allows (`allowed_recipient_domains`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecipientDomains {
    entries: Vec<String>,
}

impl RecipientDomains {
    /// `example.com` (exactly), `*.example.com` (subdomains), `*` (all).
    pub(crate) fn new(entries: &[String]) -> Self {
        Self {
            entries: entries
                .iter()
                .map(|e| e.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    fn allows(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|entry| {
            if entry == "*" {
                true
            } else if let Some(parent) = entry.strip_prefix("*.") {
                domain
                    .strip_suffix(parent)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            } else {
                *entry == domain
            }
        })
    }

    /// Refuses `mailbox` (from `field`) when its domain is not allowed.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the address and the setting.
    pub(crate) fn check(&self, field: &str, mailbox: &Mailbox) -> Result<()> {
        if self.allows(mailbox.email.domain()) {
            return Ok(());
        }
        let allowed = if self.entries.is_empty() {
            "none is allowed".to_owned()
        } else {
            format!("allowed: {}", self.entries.join(", "))
        };
        Err(Error::SecurityViolation {
            message: format!(
                "recipient `{}` ({field}) refused: its domain is not in `[email] \
                 allowed_recipient_domains` ({allowed})",
                mailbox.email
            ),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_by_field() {
        for bad in [
            "Hi\r\nBcc: x@evil.test",
            "a\nb",
            "a\rb",
            "nul\0",
            "tab\there",
            "del\u{7f}",
            "nel\u{85}",
            "ls\u{2028}",
        ] {
            let err = check_header_value("subject", bad).unwrap_err();
            assert!(err.to_string().contains("`subject`"), "{err}");
        }
        assert!(check_header_value("subject", "Grüße — report №7").is_ok());
    }

    #[test]
    fn mailboxes_parse_strictly() {
        let m = parse_mailbox("to[0]", "Ada Lovelace <ada@example.com>").unwrap();
        assert_eq!(m.email.to_string(), "ada@example.com");
        assert_eq!(m.name.as_deref(), Some("Ada Lovelace"));
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada@[127.0.0.1]",
            "a\r\n@example.com",
            "",
        ] {
            let err = parse_mailbox("to[0]", bad).unwrap_err();
            assert!(err.to_string().contains("`to[0]`"), "{bad}: {err}");
        }
    }

    #[test]
    fn recipient_domains_match_exactly_or_by_subdomain() {
        let d = RecipientDomains::new(&["example.com".into(), "*.corp.test".into()]);
        let ok = |a: &str| d.check("to", &a.parse().unwrap()).is_ok();
        assert!(ok("a@example.com"));
        assert!(ok("a@EXAMPLE.com"));
        assert!(!ok("a@sub.example.com"));
        assert!(ok("a@mail.corp.test"));
        assert!(!ok("a@corp.test"));
        assert!(!ok("a@evilcorp.test"));
        assert!(!RecipientDomains::new(&[]).allows("example.com"));
        assert!(RecipientDomains::new(&["*".into()]).allows("anything.test"));
    }
}
