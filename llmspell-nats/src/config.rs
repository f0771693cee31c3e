//! The link's settings: what `[nats]` in `llmspell.toml` and the `--nats`
//! flags describe.

use std::path::PathBuf;
use std::time::Duration;

use llmspell_events::OverflowPolicy;
use llmspell_hooks::{FailMode, HookPoint};

use crate::subject::{SubjectFilter, check_prefix};
use crate::{Error, Result};

/// The default server URL.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";
/// The default subject prefix.
pub const DEFAULT_PREFIX: &str = "llmspell";

/// How a runtime joins NATS.
///
/// ```
/// use llmspell_nats::NatsConfig;
/// let config = NatsConfig::new("nats://127.0.0.1:4222").bridge("orders.**");
/// config.validate()?;
/// assert_eq!(config.outbound_patterns(), ["orders.**"]);
/// # Ok::<(), llmspell_nats::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct NatsConfig {
    /// The server (`nats://host:port`; several separated by commas).
    pub url: String,
    /// A NATS credentials file (`.creds`: a user JWT and its NKey seed).
    pub credentials_file: Option<PathBuf>,
    /// The subject prefix: topic `t` travels on `<prefix>.t`, remote hooks
    /// on `<prefix>.hooks.<point>`. Default `llmspell`.
    pub prefix: String,
    /// This host's name in headers, hop lists and errors. Default: the
    /// durable consumer's name when there is one (stable across restarts),
    /// else `<hostname>-<pid>`. Hosts must have different names: a host
    /// skips events whose origin is its own name.
    pub node: Option<String>,
    /// Topic patterns bridged both ways.
    pub bridge: Vec<String>,
    /// Topic patterns only sent to NATS.
    pub publish: Vec<String>,
    /// Topic patterns only delivered from NATS.
    pub subscribe: Vec<String>,
    /// The outbound queue: how many local events may wait for NATS.
    /// Default 10,000.
    pub queue_capacity: usize,
    /// What a full outbound queue does (a slow or unreachable NATS): the
    /// bus's overflow policies. Default `DropOldest`.
    pub overflow: OverflowPolicy,
    /// How many events from NATS may wait for the local bus (the client's
    /// subscription buffer; the durable consumer's unacknowledged maximum).
    /// Default 4,096.
    pub inbound_capacity: usize,
    /// Durable history in a JetStream stream (off when `None`).
    pub stream: Option<StreamConfig>,
    /// A durable consumer name: events from NATS come from the stream
    /// through it, so that a host that restarts gets what it missed.
    /// Needs `stream`.
    pub durable: Option<String>,
    /// Where a new durable consumer starts. Default `New`.
    pub start: StartPolicy,
    /// Hold the durable consumer's events until the bus has a subscription
    /// that is not internal (a script's), so that what a host missed is not
    /// delivered before its scripts listen. Default false (a Rust
    /// application subscribes before it starts the link); `llmspell run`
    /// turns it on.
    pub wait_for_subscriber: bool,
    /// Hook points whose local hooks this host serves to others.
    pub serve_hooks: Vec<HookPoint>,
    /// Hooks of other hosts this host calls.
    pub remote_hooks: Vec<RemoteHookConfig>,
    /// How long connecting may take at start. Default 5 s.
    pub connect_timeout: Duration,
}

/// Where a new durable consumer starts reading the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartPolicy {
    /// Events published from its creation on.
    #[default]
    New,
    /// Everything the stream still holds.
    All,
}

impl std::str::FromStr for StartPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "new" => Ok(StartPolicy::New),
            "all" => Ok(StartPolicy::All),
            other => Err(Error::config(
                "start",
                format!("unknown start {other:?}; valid: new, all"),
            )),
        }
    }
}

/// The JetStream stream that keeps bridged events.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct StreamConfig {
    /// The stream's name. Default: the prefix in capitals with `.`, `:` and
    /// `-` as `_`, then `_EVENTS` (`LLMSPELL_EVENTS`).
    pub name: Option<String>,
    /// Events older than this are removed. Default: kept.
    pub max_age: Option<Duration>,
    /// The stream's largest size in bytes; the oldest go first. Default: no limit.
    pub max_bytes: Option<u64>,
    /// The most events kept; the oldest go first. Default: no limit.
    pub max_events: Option<u64>,
    /// Events with an id seen within this window are stored once. Default 2 min.
    pub duplicate_window: Duration,
    /// Keep the stream in memory instead of files. Default false.
    pub memory: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            name: None,
            max_age: None,
            max_bytes: None,
            max_events: None,
            duplicate_window: Duration::from_secs(120),
            memory: false,
        }
    }
}

impl StreamConfig {
    /// The stream's name under `prefix`.
    pub fn name_for(&self, prefix: &str) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| default_stream_name(prefix))
    }
}

/// The default stream name of `prefix`.
pub fn default_stream_name(prefix: &str) -> String {
    let base: String = prefix
        .chars()
        .map(|c| match c {
            '.' | ':' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("{base}_EVENTS")
}

/// One remote hook: the point it runs at here, served by another host.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct RemoteHookConfig {
    /// The point (here, and the subject `<prefix>.hooks.<point>` there).
    pub point: HookPoint,
    /// How long a call may take, the round trip included. Default 2 s.
    pub timeout: Duration,
    /// What a failed call does (timeout, nobody serving the point, a bad
    /// reply): `Open` skips the hook, `Closed` cancels the operation.
    /// Default `Open`.
    pub fail_mode: FailMode,
    /// Only for components with this name or glob.
    pub component: Option<String>,
    /// The hook's name in listings. Default `remote:<point>`.
    pub name: Option<String>,
}

impl RemoteHookConfig {
    /// A remote hook at `point` with the defaults.
    pub fn new(point: HookPoint) -> Self {
        Self {
            point,
            timeout: Duration::from_secs(2),
            fail_mode: FailMode::Open,
            component: None,
            name: None,
        }
    }

    /// Sets the fail mode.
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl NatsConfig {
    /// The defaults, with the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            credentials_file: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            node: None,
            bridge: Vec::new(),
            publish: Vec::new(),
            subscribe: Vec::new(),
            queue_capacity: 10_000,
            overflow: OverflowPolicy::DropOldest,
            inbound_capacity: 4096,
            stream: None,
            durable: None,
            start: StartPolicy::New,
            wait_for_subscriber: false,
            serve_hooks: Vec::new(),
            remote_hooks: Vec::new(),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the node name.
    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Bridges `pattern` both ways.
    pub fn bridge(mut self, pattern: impl Into<String>) -> Self {
        self.bridge.push(pattern.into());
        self
    }

    /// Sends `pattern` to NATS only.
    pub fn publish(mut self, pattern: impl Into<String>) -> Self {
        self.publish.push(pattern.into());
        self
    }

    /// Delivers `pattern` from NATS only.
    pub fn subscribe(mut self, pattern: impl Into<String>) -> Self {
        self.subscribe.push(pattern.into());
        self
    }

    /// Keeps durable history in a stream.
    pub fn stream(mut self, stream: StreamConfig) -> Self {
        self.stream = Some(stream);
        self
    }

    /// Reads events from NATS through the durable consumer `name`.
    pub fn durable(mut self, name: impl Into<String>) -> Self {
        self.durable = Some(name.into());
        self
    }

    /// Serves the local hooks of `point` to other hosts.
    pub fn serve(mut self, point: HookPoint) -> Self {
        self.serve_hooks.push(point);
        self
    }

    /// Calls the hooks another host serves at a point.
    pub fn remote_hook(mut self, hook: RemoteHookConfig) -> Self {
        self.remote_hooks.push(hook);
        self
    }

    /// Sets the outbound queue's capacity and overflow policy.
    pub fn outbound_queue(mut self, capacity: usize, overflow: OverflowPolicy) -> Self {
        self.queue_capacity = capacity;
        self.overflow = overflow;
        self
    }

    /// The patterns sent to NATS (`bridge` then `publish`).
    pub fn outbound_patterns(&self) -> Vec<String> {
        unique(self.bridge.iter().chain(&self.publish))
    }

    /// The patterns delivered from NATS (`bridge` then `subscribe`).
    pub fn inbound_patterns(&self) -> Vec<String> {
        unique(self.bridge.iter().chain(&self.subscribe))
    }

    /// This host's node name.
    pub fn node_name(&self) -> String {
        if let Some(n) = self.node.clone().or_else(|| self.durable.clone()) {
            return n;
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "host".to_owned());
        format!("{host}-{}", std::process::id())
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting and what is valid.
    pub fn validate(&self) -> Result<()> {
        if self.url.trim().is_empty() {
            return Err(Error::config(
                "url",
                "the server URL is empty (e.g. nats://127.0.0.1:4222)",
            ));
        }
        check_prefix(&self.prefix)?;
        if let Some(n) = &self.node {
            check_name("node", n, false)?;
        }
        for (field, patterns) in [
            ("bridge", &self.bridge),
            ("publish", &self.publish),
            ("subscribe", &self.subscribe),
        ] {
            for p in patterns {
                let f = SubjectFilter::new(&self.prefix, p).map_err(|e| match e {
                    Error::InvalidConfig { message, .. } => Error::config(field, message),
                    other => other,
                })?;
                if self.stream.is_some() && f.covers_hooks(&self.prefix) {
                    return Err(Error::config(
                        field,
                        format!(
                            "{p:?} starts with a wildcard, so its subjects would put the remote hook requests ({}.hooks.>) in the stream too; with a stream, bridge patterns that start with a topic root (\"orders.**\", \"tool.**\")",
                            self.prefix
                        ),
                    ));
                }
            }
        }
        if !(1..=llmspell_events::SubscriptionOptions::MAX_CAPACITY).contains(&self.queue_capacity)
        {
            return Err(Error::config(
                "queue_capacity",
                format!(
                    "must be between 1 and {}, got {}",
                    llmspell_events::SubscriptionOptions::MAX_CAPACITY,
                    self.queue_capacity
                ),
            ));
        }
        if !(1..=1 << 20).contains(&self.inbound_capacity) {
            return Err(Error::config(
                "inbound_capacity",
                format!(
                    "must be between 1 and 1048576, got {}",
                    self.inbound_capacity
                ),
            ));
        }
        if let OverflowPolicy::Block { timeout } = self.overflow
            && timeout.is_zero()
        {
            return Err(Error::config("block_timeout_ms", "must be at least 1"));
        }
        if let Some(s) = &self.stream {
            check_name("stream.name", &s.name_for(&self.prefix), true)?;
            if s.max_age.is_some_and(|a| a.is_zero()) {
                return Err(Error::config(
                    "stream.max_age_secs",
                    "must be at least 1 (leave it out to keep events)",
                ));
            }
            if s.max_bytes == Some(0) || s.max_events == Some(0) {
                return Err(Error::config(
                    "stream.max_bytes / stream.max_events",
                    "must be at least 1 (leave it out for no limit)",
                ));
            }
            if s.max_bytes.is_some_and(|b| b > i64::MAX as u64)
                || s.max_events.is_some_and(|n| n > i64::MAX as u64)
            {
                return Err(Error::config(
                    "stream.max_bytes / stream.max_events",
                    "too large",
                ));
            }
        }
        if let Some(d) = &self.durable {
            check_name("durable", d, true)?;
            if self.stream.is_none() {
                return Err(Error::config(
                    "durable",
                    "a durable consumer reads the stream: turn the stream on ([nats.stream] or --nats-stream)",
                ));
            }
            if self.inbound_patterns().is_empty() {
                return Err(Error::config(
                    "durable",
                    "nothing is delivered from NATS: add patterns to `bridge` or `subscribe`",
                ));
            }
        }
        for (i, h) in self.remote_hooks.iter().enumerate() {
            if h.timeout.is_zero() {
                return Err(Error::config(
                    format!("remote_hooks[{}].timeout_ms", i + 1),
                    "must be at least 1",
                ));
            }
        }
        if self.connect_timeout.is_zero() {
            return Err(Error::config("connect_timeout_ms", "must be at least 1"));
        }
        Ok(())
    }
}

fn unique<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in it {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Checks a node, stream or consumer name: not empty, at most 64
/// characters, none of whitespace, control characters, `.`, `*`, `>`
/// (stream and consumer names) or `/` `\`.
fn check_name(field: &str, name: &str, jetstream: bool) -> Result<()> {
    let bad = name.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '/' | '\\')
            || (jetstream && matches!(c, '.' | '*' | '>'))
    });
    if name.is_empty() || name.chars().count() > 64 || bad.is_some() {
        return Err(Error::config(
            field,
            format!(
                "{name:?} is not a valid name: 1 to 64 characters without whitespace{}",
                if jetstream {
                    ", '.', '*', '>', '/' or '\\'"
                } else {
                    ", '/' or '\\'"
                }
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_names_derive_from_the_prefix() {
        let c = NatsConfig::new(DEFAULT_URL)
            .bridge("a.**")
            .subscribe("b.*")
            .publish("a.**");
        c.validate().unwrap();
        assert_eq!(c.outbound_patterns(), ["a.**"]);
        assert_eq!(c.inbound_patterns(), ["a.**", "b.*"]);
        assert_eq!(default_stream_name("acme.prod-1"), "ACME_PROD_1_EVENTS");
        assert_eq!(c.clone().durable("b1").node_name(), "b1");
        assert!(c.node_name().ends_with(&format!("-{}", std::process::id())));
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let base = || NatsConfig::new(DEFAULT_URL);
        let rows: Vec<(NatsConfig, &str)> = vec![
            (base().prefix("a.*"), "`prefix`"),
            (
                base().bridge("hooks.x"),
                "`bridge`: \"hooks.x\" is under the topic root",
            ),
            (base().subscribe("a..b"), "`subscribe`"),
            (
                base().durable("d"),
                "`durable`: a durable consumer reads the stream",
            ),
            (
                base().bridge("**").stream(StreamConfig::default()),
                "starts with a wildcard",
            ),
            (
                base()
                    .bridge("a.**")
                    .stream(StreamConfig::default())
                    .durable("a.b"),
                "`durable`: \"a.b\" is not a valid name",
            ),
            (
                base().outbound_queue(0, OverflowPolicy::DropOldest),
                "`queue_capacity`",
            ),
            (
                base().remote_hook(
                    RemoteHookConfig::new(HookPoint::BeforeToolExecution).timeout(Duration::ZERO),
                ),
                "`remote_hooks[1].timeout_ms`",
            ),
            (base().node("a b"), "`node`"),
        ];
        for (c, want) in rows {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn start_policy_parses() {
        assert_eq!("all".parse::<StartPolicy>().unwrap(), StartPolicy::All);
        assert!(
            "first"
                .parse::<StartPolicy>()
                .unwrap_err()
                .to_string()
                .contains("valid: new, all")
        );
    }
}
