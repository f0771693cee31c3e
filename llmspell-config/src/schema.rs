//! The sections of `llmspell.toml`, as serde reads them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole file. Every section is optional; a missing one takes the
/// defaults of the command line.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// How scripts run.
    #[serde(default, skip_serializing_if = "RuntimeSection::is_default")]
    pub runtime: RuntimeSection,
    /// Where events, state and the audit log are kept.
    #[serde(default, skip_serializing_if = "StorageSection::is_default")]
    pub storage: StorageSection,
    /// What the built-in tools may touch.
    #[serde(default, skip_serializing_if = "SandboxSection::is_default")]
    pub sandbox: SandboxSection,
    /// Limits of the media tools, and the `ffmpeg` they may run.
    #[serde(default, skip_serializing_if = "MediaSection::is_default")]
    pub media: MediaSection,
    /// The SMTP server and sender of `email_sender`.
    #[serde(default, skip_serializing_if = "EmailSection::is_default")]
    pub email: EmailSection,
    /// Writes, limits and PostgreSQL connections of `database_connector`.
    #[serde(default, skip_serializing_if = "DatabaseSection::is_default")]
    pub database: DatabaseSection,
    /// The event bus and hooks across hosts, on NATS with JetStream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSection>,
    /// The search providers of `web_search`.
    #[serde(default, skip_serializing_if = "WebSearchSection::is_default")]
    pub web_search: WebSearchSection,
    /// LLM providers by kind (`openai`, `anthropic`, `ollama`,
    /// `openai-compatible`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderSection>,
    /// Budgets of hook time per call, by component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hook_budgets: Vec<HookBudgetSection>,
    /// Hooks: built-ins, command hooks and script hook files, each a
    /// `[[hooks]]` table (read by [`crate::HookEntry`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<toml::Spanned<toml::Table>>,
}

/// `[runtime]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    /// Give scripts the full standard library.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unsafe: Option<bool>,
    /// Let scripts call privileged tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_privileged: Option<bool>,
    /// Keep the scripts' `State` across runs under this session name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The version of the session state the scripts expect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_version: Option<u32>,
    /// Operations slower than this fire `PerformanceThresholdExceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_operation_ms: Option<u64>,
    /// Fire `MemoryUsageHigh` past this resident memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_high_water_mb: Option<u64>,
    /// Hand-off polling, in microseconds (see `llmspell run --handoff-spin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_spin_us: Option<u64>,
    /// Serve Prometheus text at `http://<addr>/metrics` while scripts run
    /// (`127.0.0.1:9464`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<String>,
    /// Record every execution of script hooks, for `llmspell replay`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_hooks: Option<bool>,
    /// Correlation traces kept in memory (0: tracing off); default 256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces: Option<usize>,
    /// Export OpenTelemetry traces to this OTLP/HTTP collector
    /// (`http://127.0.0.1:4318`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otel_endpoint: Option<String>,
    /// Time limit of a hook or callback that sets none, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_timeout_ms: Option<u64>,
}

impl RuntimeSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[storage]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// `"sled"` (under `data_dir`, durable) or `"memory"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// The data directory (the sled store is `<data_dir>/db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Topic patterns to persist; `[]` persists nothing. Default: every
    /// event (`["**"]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persist: Option<Vec<String>>,
    /// How much event history to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionSection>,
}

impl StorageSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// sled under the data directory.
    Sled,
    /// In memory: nothing is kept.
    Memory,
}

/// `[storage.retention]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Keep at most this many events (the newest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_events: Option<usize>,
    /// Drop events older than this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
}

/// `[sandbox]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// Directories the file-system tools may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_roots: Option<Vec<PathBuf>>,
    /// Hosts the network tools may contact (`*.example.com`, `*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    /// Programs `process_executor` may run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Environment variables the tools may read or pass on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Internal addresses the network tools may reach: addresses, CIDR
    /// ranges (`10.0.0.0/8`) and `loopback`, `private`, `link_local`,
    /// `shared`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_addresses: Option<Vec<String>>,
    /// Environment variables whose values the web tools may send as
    /// credentials (named by a call, never shown to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<Vec<String>>,
    /// Time limit of a network request in milliseconds, body included
    /// (default 20000; also the most a call may ask for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_timeout_ms: Option<u64>,
    /// Time limit of establishing a connection in milliseconds (default
    /// 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_connect_timeout_ms: Option<u64>,
    /// Largest response body a network tool reads, in bytes (default 10 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_max_response_bytes: Option<u64>,
    /// Most redirects a network request follows (default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_max_redirects: Option<usize>,
}

impl SandboxSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[media]`: limits of `image_processor`, `audio_processor` and
/// `video_processor`, and the `ffmpeg` program `video_processor` may run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSection {
    /// Largest media file read or written, in bytes (default 100 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    /// Most pixels (width × height) of an image or video frame decoded or
    /// produced (default 40,000,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_image_pixels: Option<u64>,
    /// Longest audio the WAV operations decode, in seconds (default 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_audio_seconds: Option<u64>,
    /// Longest video a transcode writes, in seconds (default 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_video_seconds: Option<u64>,
    /// The `ffmpeg` program (a name looked up in `PATH`, or a path) that
    /// `video_processor` runs for frames, thumbnails and transcoding; unset,
    /// those operations are off. Set, the tool needs `allow_privileged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffmpeg: Option<PathBuf>,
    /// Time limit of one `ffmpeg` run, in milliseconds (default 120000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffmpeg_timeout_ms: Option<u64>,
}

impl MediaSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// How `email_sender` secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurityChoice {
    /// `STARTTLS` after connecting, required (default; port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (port 25).
    Plain,
}

/// `[email]`: the SMTP server, sender and recipients of `email_sender`.
/// The server's host must also be on `[sandbox] allowed_hosts`, and
/// `password_env` on `[sandbox] secret_env`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    /// The SMTP server's host name or address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its port (default 587, 465 or 25 by `security`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `plain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<SmtpSecurityChoice>,
    /// The user name to authenticate with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The environment variable holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Allow credentials over a `plain` connection (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_insecure_auth: Option<bool>,
    /// The sender: `Name <address>` or `address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Domains mail may go to: `example.com`, `*.example.com`, `*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_recipient_domains: Option<Vec<String>>,
    /// Most recipients of one message (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_recipients: Option<usize>,
    /// Largest attachment, in bytes (default 10 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attachment_bytes: Option<u64>,
    /// Largest message as sent, in bytes (default 25 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<u64>,
    /// Time to connect, TLS included, in milliseconds (default 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// Time of the whole SMTP conversation in milliseconds (default
    /// 60000; also the most a call may ask for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The name sent with `EHLO` (default `localhost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hello_name: Option<String>,
    /// A PEM file of extra certificate authorities to trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl EmailSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[database]`: what `database_connector` may do.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// Allow statements that change data or schema (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_writes: Option<bool>,
    /// Default and most rows one call returns (default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<usize>,
    /// Default and longest time of a statement, in milliseconds (default
    /// 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Time to connect to PostgreSQL, in milliseconds (default 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// PostgreSQL databases by name (`[database.connections.NAME]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connections: BTreeMap<String, DatabaseConnectionSection>,
}

impl DatabaseSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[database.connections.NAME]`: a PostgreSQL database. The password is
/// never written in the file: name the environment variable that holds it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConnectionSection {
    /// `postgres://user@host[:port]/database[?sslmode=...]`.
    pub url: String,
    /// The environment variable holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}

/// `[web_search]`: the providers `web_search` queries.
///
/// ```toml
/// [web_search]
/// provider = "brave"          # the default of calls that name none
/// max_results = 10
///
/// [web_search.providers.brave]
/// api_key_env = "BRAVE_API_KEY" # also listed in [sandbox] secret_env
///
/// [web_search.providers.searxng]
/// base_url = "https://searx.example.org"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebSearchSection {
    /// The provider of calls that name none: `duckduckgo`, `searxng`,
    /// `brave` or `tavily` (default: the first configured, else
    /// `duckduckgo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Default and highest number of results of a call (default 10, at most
    /// 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<usize>,
    /// Each provider's base URL and key variable, by provider name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, SearchProviderSection>,
}

impl WebSearchSection {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[web_search.providers.<name>]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SearchProviderSection {
    /// The service's base URL (`https://searx.example.org`); default: the
    /// provider's public service (SearXNG has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key (never the key); it
    /// must also be listed in `[sandbox] secret_env`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

/// `[providers.<kind>]`. The API key is never written in the file: name
/// the environment variable that holds it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// The API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Time limit per attempt, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Extra attempts after retryable failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
}

/// `[[hook_budgets]]`: a budget of hook time per call for some components.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookBudgetSection {
    /// A component name or a glob (`web_*`).
    pub component: String,
    /// Only components of this kind (`tool`, `agent`, `workflow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<llmspell_core::ComponentType>,
    /// The hook time one call may take, in milliseconds.
    pub per_call_ms: f64,
    /// What happens past it (default: report).
    #[serde(default)]
    pub policy: llmspell_hooks::BudgetPolicy,
}

/// `[nats]`: the event bus and hooks across processes and hosts. With the
/// section present (or `llmspell run --nats URL`), the runtime connects to
/// the server at start.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSection {
    /// The server (`nats://127.0.0.1:4222`; several separated by commas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A NATS credentials file (`.creds`), relative to the working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
    /// The subject prefix (default `llmspell`): topic `t` travels on
    /// `<prefix>.t`, remote hooks on `<prefix>.hooks.<point>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// This host's name (default: the durable consumer's name, else
    /// `<hostname>-<pid>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Topic patterns bridged both ways.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Vec<String>>,
    /// Topic patterns only sent to NATS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<Vec<String>>,
    /// Topic patterns only delivered from NATS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Vec<String>>,
    /// How many local events may wait for NATS (default 10000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<usize>,
    /// What a full outbound queue does: `drop_oldest` (default),
    /// `drop_newest`, `block`, `reject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overflow: Option<String>,
    /// With `overflow = "block"`: the longest a publish waits, in
    /// milliseconds (default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_timeout_ms: Option<u64>,
    /// How many events from NATS may wait for the local bus (default 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_capacity: Option<usize>,
    /// A durable consumer name: events from NATS come through it from the
    /// stream, so that a host that restarts gets what it missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable: Option<String>,
    /// Where a new durable consumer starts: `new` (default) or `all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Time limit of connecting at start, in milliseconds (default 5000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// Hook points whose hooks this host serves to others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve_hooks: Option<Vec<llmspell_hooks::HookPoint>>,
    /// Hooks other hosts serve that this host calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_hooks: Vec<RemoteHookSection>,
    /// Durable history in a JetStream stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<NatsStreamSection>,
}

/// `[nats.stream]`: the JetStream stream that keeps bridged events.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NatsStreamSection {
    /// The stream's name (default: the prefix in capitals, then `_EVENTS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Remove events older than this many seconds (default: keep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
    /// The stream's largest size in bytes; the oldest go first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// The most events kept; the oldest go first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// Events with an id seen within this many seconds are stored once
    /// (default 120).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_window_secs: Option<u64>,
    /// Keep the stream in the server's memory instead of files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<bool>,
}

/// `[[nats.remote_hooks]]`: one hook served by another host.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteHookSection {
    /// The point it runs at here (and the subject it calls there).
    pub point: llmspell_hooks::HookPoint,
    /// Time limit of a call, round trip included, in milliseconds (default 2000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// What a failed call does (timeout, nobody serving, a bad reply):
    /// `open` (default) skips it, `closed` cancels the operation.
    #[serde(default)]
    pub fail: llmspell_hooks::FailMode,
    /// Only for components with this name or glob.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Its name in listings (default `remote:<point>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
