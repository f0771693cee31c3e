//! `[email]` and `[database]` of `llmspell.toml` reach `email_sender` and
//! `database_connector` in `llmspell run`: a SQLite file is written and
//! read under the file's row limit, and a message goes to the configured
//! SMTP server (a sink on 127.0.0.1). Mistakes in those sections stop the
//! run at start-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use llmspell_testkit::smtp::SmtpSink;
use tempfile::TempDir;

mod common;
use common::{llmspell, text, write};

const SCRIPT: &str = r#"
local db = "shop.db"
Tool.invoke("database_connector", { database = db, sql = "CREATE TABLE t (n INTEGER)" })
for i = 1, 3 do
  Tool.invoke("database_connector", { database = db, sql = "INSERT INTO t VALUES (?)", params = { i } })
end
local out = Tool.invoke("database_connector", { database = db, sql = "SELECT n FROM t ORDER BY n" })
assert(out.row_count == 2 and out.truncated == true, "max_rows from the file: " .. tostring(out.row_count))
assert(Tool.info("database_connector").category == "database")
assert(Tool.info("email_sender").category == "communication")
local sent = Tool.invoke("email_sender", {
  to = { "ada@example.com" }, subject = "From the file", text = "rows: " .. out.row_count,
})
assert(sent.sent == true and sent.response.code == 250, tostring(sent.sent))
local ok, err = pcall(Tool.invoke, "email_sender", { to = { "eve@evil.test" }, subject = "s", text = "t" })
assert(not ok and tostring(err):find("allowed_recipient_domains"), tostring(err))
print("configured")
"#;

#[test]
fn email_and_database_settings_from_the_file_reach_the_tools() {
    let sink = SmtpSink::builder().start();
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        &format!(
            "[storage]\nbackend = \"memory\"\n\n[sandbox]\nfs_roots = [\"data\"]\n\
             allowed_hosts = [\"127.0.0.1\"]\n\n[email]\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"plain\"\nfrom = \"Reports <reports@example.com>\"\n\
             allowed_recipient_domains = [\"example.com\"]\n\n[database]\nallow_writes = true\n\
             max_rows = 2\n",
            sink.port()
        ),
    );
    write(dir.path(), "main.lua", SCRIPT);
    let out = llmspell(&["run", "main.lua"], dir.path());
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "configured");
    assert!(dir.path().join("data/shop.db").is_file());
    let mail = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].mail_from, "reports@example.com");
    assert_eq!(mail[0].rcpt_to, ["ada@example.com"]);
    let body = text(&mail[0].data);
    assert!(body.contains("Subject: From the file"), "{body}");
    assert!(body.contains("rows: 2"), "{body}");

    let show = llmspell(&["config", "show"], dir.path());
    let shown = text(&show.stdout);
    assert!(shown.contains("[email]\nhost = \"127.0.0.1\""), "{shown}");
    assert!(
        shown.contains("[database]\nallow_writes = true\nmax_rows = 2"),
        "{shown}"
    );
}

#[test]
fn mistakes_in_the_email_and_database_sections_stop_the_run() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "main.lua", "print('ran')");
    for (section, expected) in [
        ("[email]\nsecurity = \"smtps\"\n", "unknown variant `smtps`"),
        (
            "[email]\nhost = \"smtp.example.com\"\npassword_env = \"SMTP_PASSWORD\"\n",
            "`SMTP_PASSWORD` is not in [sandbox] secret_env",
        ),
        (
            "[database]\nmax_rows = 0\n",
            "[database] max_rows must be at least 1",
        ),
        (
            "[database.connections.main]\nurl = \"postgres://app:hunter2@db.example.com/app\"\n",
            "[database.connections.main] url: the URL holds a password",
        ),
        (
            "[database.connections.main]\nurl = \"postgres://app@db.example.com/app\"\npasword_env = \"X\"\n",
            "pasword_env",
        ),
    ] {
        write(
            dir.path(),
            "llmspell.toml",
            &format!("[storage]\nbackend = \"memory\"\n\n{section}"),
        );
        let out = llmspell(&["run", "main.lua"], dir.path());
        assert!(!out.status.success(), "{section}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{section}: {err}");
        assert!(!text(&out.stdout).contains("ran"), "{section}");
    }
}
