//! `[nats]` in `llmspell.toml`: read with its stream and remote hooks;
//! unknown keys and unknown hook points named with their location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmspell_config::Config;
use llmspell_hooks::{FailMode, HookPoint};

#[test]
fn the_nats_section_reads_and_bad_keys_are_located() {
    let c = Config::parse(
        r#"
[nats]
url = "nats://10.0.0.5:4222"
bridge = ["orders.**"]
durable = "worker-b"
serve_hooks = ["BeforeToolExecution"]

[nats.stream]
max_age_secs = 3600

[[nats.remote_hooks]]
point = "BeforeToolExecution"
fail = "closed"
timeout_ms = 250
"#,
        "llmspell.toml".as_ref(),
    )
    .unwrap();
    let n = c.file.nats.unwrap();
    assert_eq!(n.url.as_deref(), Some("nats://10.0.0.5:4222"));
    assert_eq!(n.serve_hooks.unwrap(), [HookPoint::BeforeToolExecution]);
    assert_eq!(n.stream.unwrap().max_age_secs, Some(3600));
    assert_eq!(
        (n.remote_hooks[0].fail, n.remote_hooks[0].timeout_ms),
        (FailMode::Closed, Some(250))
    );

    let e = Config::parse(
        "[nats]\nurl = \"x\"\nbrige = []\n",
        "llmspell.toml".as_ref(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("llmspell.toml:3:1"), "{e}");
    assert!(e.contains("did you mean `bridge`"), "{e}");
    let e = Config::parse(
        "[[nats.remote_hooks]]\npoint = \"BeforeToolExecutoin\"\n",
        "llmspell.toml".as_ref(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("llmspell.toml:2:") && e.contains("BeforeToolExecution"),
        "{e}"
    );
}
