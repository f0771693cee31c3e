//! `[web_search]`, `[email]` and `[database]` of `llmspell.toml` over the
//! defaults of `web_search`, `email_sender` and `database_connector`. Mistakes that would make every
//! call fail (a zero limit, an invalid connection URL, a password variable
//! not on `secret_env`) stop the run at start-up.

use std::time::Duration;

use llmspell_config::schema::{
    DatabaseSection, EmailSection, SmtpSecurityChoice, WebSearchSection,
};
use llmspell_tools::BuiltinToolsConfig;
use llmspell_tools::comm::SmtpSecurity;
use llmspell_tools::database::PostgresConnection;
use llmspell_tools::web::WebSearchConfig;

/// Applies `[email]` and `[database]` to `tools`, whose `secret_env_vars`
/// are already set.
///
/// # Errors
/// A zero limit or timeout, an invalid connection URL, or a password
/// variable that is not on `[sandbox] secret_env`.
pub(crate) fn apply(
    email: &EmailSection,
    database: &DatabaseSection,
    tools: &mut BuiltinToolsConfig,
) -> anyhow::Result<()> {
    for (section, key, value) in [
        (
            "email",
            "max_recipients",
            email.max_recipients.map(|n| n as u64),
        ),
        ("email", "max_attachment_bytes", email.max_attachment_bytes),
        ("email", "max_message_bytes", email.max_message_bytes),
        ("email", "connect_timeout_ms", email.connect_timeout_ms),
        ("email", "timeout_ms", email.timeout_ms),
        ("database", "max_rows", database.max_rows.map(|n| n as u64)),
        ("database", "timeout_ms", database.timeout_ms),
        (
            "database",
            "connect_timeout_ms",
            database.connect_timeout_ms,
        ),
    ] {
        if value == Some(0) {
            anyhow::bail!("[{section}] {key} must be at least 1");
        }
    }
    let secret = |section: &str, var: &Option<String>| -> anyhow::Result<()> {
        match var {
            Some(v) if !tools.secret_env_vars.contains(v) => anyhow::bail!(
                "{section} password_env `{v}` is not in [sandbox] secret_env (add it there)"
            ),
            _ => Ok(()),
        }
    };
    secret("[email]", &email.password_env)?;
    for (name, c) in &database.connections {
        secret(&format!("[database.connections.{name}]"), &c.password_env)?;
    }

    let e = &mut tools.email;
    e.host.clone_from(&email.host);
    e.port = email.port;
    if let Some(s) = email.security {
        e.security = match s {
            SmtpSecurityChoice::Starttls => SmtpSecurity::StartTls,
            SmtpSecurityChoice::Tls => SmtpSecurity::Tls,
            SmtpSecurityChoice::Plain => SmtpSecurity::Plain,
        };
    }
    e.username.clone_from(&email.username);
    e.password_env.clone_from(&email.password_env);
    e.allow_insecure_auth = email.allow_insecure_auth.unwrap_or(e.allow_insecure_auth);
    e.from.clone_from(&email.from);
    if let Some(domains) = &email.allowed_recipient_domains {
        e.allowed_recipient_domains.clone_from(domains);
    }
    e.max_recipients = email.max_recipients.unwrap_or(e.max_recipients);
    e.max_attachment_bytes = email.max_attachment_bytes.unwrap_or(e.max_attachment_bytes);
    e.max_message_bytes = email.max_message_bytes.unwrap_or(e.max_message_bytes);
    e.connect_timeout = email
        .connect_timeout_ms
        .map_or(e.connect_timeout, Duration::from_millis);
    e.timeout = email.timeout_ms.map_or(e.timeout, Duration::from_millis);
    if let Some(name) = &email.hello_name {
        e.hello_name.clone_from(name);
    }
    e.ca_file.clone_from(&email.ca_file);

    let d = &mut tools.database;
    d.allow_writes = database.allow_writes.unwrap_or(d.allow_writes);
    d.max_rows = database.max_rows.unwrap_or(d.max_rows);
    d.timeout = database.timeout_ms.map_or(d.timeout, Duration::from_millis);
    d.connect_timeout = database
        .connect_timeout_ms
        .map_or(d.connect_timeout, Duration::from_millis);
    d.connections = database
        .connections
        .iter()
        .map(|(name, c)| {
            (
                name.clone(),
                PostgresConnection {
                    url: c.url.clone(),
                    password_env: c.password_env.clone(),
                },
            )
        })
        .collect();
    d.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// `[web_search]` as the tool's configuration.
///
/// # Errors
/// An unknown provider name, or `max_results` outside 1 to 50.
pub(crate) fn web_search(w: &WebSearchSection) -> anyhow::Result<WebSearchConfig> {
    use llmspell_tools::web::{MAX_RESULTS_LIMIT, SearchEndpoint, SearchProviderKind};
    let kind = |name: &str, key: &str| {
        name.parse::<SearchProviderKind>()
            .map_err(|e| anyhow::anyhow!("[web_search] {key}: {e}"))
    };
    let mut out = WebSearchConfig::default();
    if let Some(name) = &w.provider {
        out.provider = Some(kind(name, "provider")?);
    }
    if let Some(n) = w.max_results {
        if !(1..=MAX_RESULTS_LIMIT).contains(&n) {
            anyhow::bail!("[web_search] max_results must be 1 to {MAX_RESULTS_LIMIT}, got {n}");
        }
        out.max_results = n;
    }
    for (name, p) in &w.providers {
        out.providers.insert(
            kind(name, &format!("providers.{name}"))?,
            SearchEndpoint {
                base_url: p.base_url.clone(),
                api_key_env: p.api_key_env.clone(),
            },
        );
    }
    Ok(out)
}
