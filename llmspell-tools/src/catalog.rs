//! The catalog of built-in tools and the configuration that confines them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::Tool;

use crate::comm::{EmailConfig, EmailSender};
use crate::data::{CsvAnalyzer, JsonProcessor};
use crate::database::{DatabaseConfig, DatabaseConnector};
use crate::fs::{ArchiveHandler, FileConverter, FileOperations, FileSearch, FileWatcher};
use crate::media::{AudioProcessor, ImageProcessor, MediaConfig, VideoProcessor};
use crate::net::{NetLimits, NetPolicy, SafeClient, SecretEnv};
use crate::sandbox::FsSandbox;
use crate::system::{EnvironmentReader, ProcessExecutor, ServiceChecker, SystemMonitor};
use crate::utility::{
    Base64Encoder, Calculator, DataValidation, DateTimeHandler, DiffCalculator, HashCalculator,
    TemplateEngine, TextManipulator, UuidGenerator,
};
use crate::web::{ApiTester, GraphqlQuery, HttpRequest, UrlAnalyzer, WebhookCaller};
use crate::web::{SitemapCrawler, WebScraper, WebSearch, WebSearchConfig, WebpageMonitor};
use llmspell_storage::{MemoryBackend, StorageBackend};

/// What the built-in tools may touch, and their size and time limits.
///
/// The default allows nothing outside the process: no file-system roots (the
/// file-system tools refuse every path), no commands, no environment
/// variables and no hosts. Each tool names the setting to change in its
/// refusal message.
///
/// # Examples
///
/// ```
/// use llmspell_tools::{BuiltinToolsConfig, builtin_tools};
///
/// let config = BuiltinToolsConfig {
///     fs_roots: vec![std::env::temp_dir()],
///     allowed_commands: vec!["git".into()],
///     allowed_env_vars: vec!["HOME".into(), "APP_*".into()],
///     allowed_hosts: vec!["localhost".into()],
///     ..BuiltinToolsConfig::default()
/// };
/// let tools = builtin_tools(&config);
/// assert_eq!(tools.len(), 34);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinToolsConfig {
    /// Directories the file-system tools may use (and `process_executor`
    /// working directories must lie in). Empty: every path is refused.
    pub fs_roots: Vec<PathBuf>,
    /// Program names `process_executor` may run, matched exactly.
    pub allowed_commands: Vec<String>,
    /// Environment variables `environment_reader` may read and
    /// `process_executor` may set or pass through; `PREFIX_*` matches a prefix
    /// for `environment_reader`.
    pub allowed_env_vars: Vec<String>,
    /// Hosts the network tools (`service_checker` and the web tools) may
    /// contact; `*` allows all, `*.example.com` the subdomains of
    /// `example.com`. An IP address (or `localhost`) named exactly also
    /// allows that address; see [`crate::net`].
    pub allowed_hosts: Vec<String>,
    /// Internal addresses the network tools may reach (loopback, private,
    /// link-local, ... are refused otherwise): addresses, CIDR ranges and
    /// the keywords `loopback`, `private`, `link_local`, `shared`; see
    /// [`crate::net::AddressAllowList`].
    pub allowed_addresses: Vec<String>,
    /// Environment variables whose values the web tools may send as
    /// credentials (bearer tokens, passwords, API keys, webhook secrets),
    /// named by a call, never shown to it; exact names.
    pub secret_env_vars: Vec<String>,
    /// Timeouts, response size cap and redirect limit of the web tools.
    pub net_limits: NetLimits,
    /// Largest file read, written or converted, in bytes (default 10 MiB).
    pub max_file_bytes: u64,
    /// Most bytes an archive extraction writes (default 100 MiB).
    pub max_archive_bytes: u64,
    /// Most entries in one archive (default 10,000).
    pub max_archive_entries: usize,
    /// Longest `file_watcher` watch (default 60 s).
    pub max_watch_duration: Duration,
    /// Default and longest `process_executor` run (default 30 s).
    pub process_timeout: Duration,
    /// Bytes kept from each output stream of a process (default 1 MiB).
    pub max_process_output_bytes: usize,
    /// Wall-clock budget of one `json_processor` query (default 5 s).
    pub query_timeout: Duration,
    /// Limits of the media tools and the `ffmpeg` `video_processor` may run
    /// (default: none).
    pub media: MediaConfig,
    /// The search providers of `web_search` (default: DuckDuckGo, whose
    /// host must still be allowed).
    pub web_search: WebSearchConfig,
    /// The SMTP server, sender and recipient domains of `email_sender`
    /// (default: none; it sends nothing).
    pub email: EmailConfig,
    /// Writes, limits and PostgreSQL connections of `database_connector`
    /// (default: read-only, no connections).
    pub database: DatabaseConfig,
}

impl Default for BuiltinToolsConfig {
    fn default() -> Self {
        Self {
            fs_roots: Vec::new(),
            allowed_commands: Vec::new(),
            allowed_env_vars: Vec::new(),
            allowed_hosts: Vec::new(),
            allowed_addresses: Vec::new(),
            secret_env_vars: Vec::new(),
            net_limits: NetLimits::default(),
            max_file_bytes: crate::fs::DEFAULT_MAX_FILE_BYTES,
            max_archive_bytes: crate::fs::DEFAULT_MAX_ARCHIVE_BYTES,
            max_archive_entries: crate::fs::DEFAULT_MAX_ARCHIVE_ENTRIES,
            max_watch_duration: crate::fs::DEFAULT_MAX_WATCH,
            process_timeout: crate::system::DEFAULT_PROCESS_TIMEOUT,
            max_process_output_bytes: crate::system::DEFAULT_MAX_OUTPUT_BYTES,
            query_timeout: Duration::from_secs(5),
            media: MediaConfig::default(),
            web_search: WebSearchConfig::default(),
            email: EmailConfig::default(),
            database: DatabaseConfig::default(),
        }
    }
}

impl BuiltinToolsConfig {
    /// The file-system sandbox these settings describe.
    pub fn sandbox(&self) -> FsSandbox {
        if self.fs_roots.is_empty() {
            FsSandbox::deny_all()
        } else {
            FsSandbox::new(&self.fs_roots)
        }
    }

    /// The network policy these settings describe (`allowed_hosts`,
    /// `allowed_addresses`). An invalid `allowed_addresses` entry makes it
    /// refuse everything; [`NetPolicy::config_error`] says why.
    pub fn net_policy(&self) -> NetPolicy {
        NetPolicy::new(self.allowed_hosts.iter().cloned())
            .with_allowed_addresses(&self.allowed_addresses)
    }

    /// The HTTP client of the network tools: [`net_policy`](Self::net_policy)
    /// with `net_limits`.
    pub fn safe_client(&self) -> SafeClient {
        SafeClient::new(self.net_policy(), self.net_limits)
    }

    /// The credentials the web tools may send (`secret_env_vars`).
    pub fn secret_env(&self) -> SecretEnv {
        SecretEnv::new(self.secret_env_vars.iter().cloned())
    }
}

/// All 34 built-in tools, configured by `config`, in a stable order: the
/// utility tools, the data tools, the file-system tools, the system tools,
/// the web tools, the media tools, the web reading tools, then
/// `email_sender` and `database_connector`.
///
/// `webpage_monitor` keeps its snapshots in memory; see
/// [`builtin_tools_with_storage`] to give it a store.
///
/// Building them does no I/O beyond reading the current directory (for
/// relative roots); HTTP clients are set up on first use.
pub fn builtin_tools(config: &BuiltinToolsConfig) -> Vec<Arc<dyn Tool>> {
    tools_on(config, Snapshots::Memory)
}

/// [`builtin_tools`], with `webpage_monitor` keeping its snapshots in a
/// runtime's `storage` (under the namespace
/// [`SNAPSHOT_NAMESPACE`](crate::web::SNAPSHOT_NAMESPACE)). The tools do
/// not keep the store open: its owner (the runtime) does, and closes it when
/// it ends; see [`WebpageMonitor::with_runtime_storage`].
pub fn builtin_tools_with_storage(
    config: &BuiltinToolsConfig,
    storage: &Arc<dyn StorageBackend>,
) -> Vec<Arc<dyn Tool>> {
    tools_on(config, Snapshots::Runtime(storage))
}

/// Where `webpage_monitor` keeps its snapshots.
enum Snapshots<'a> {
    /// In memory, owned by the tool.
    Memory,
    /// In a runtime's store.
    Runtime(&'a Arc<dyn StorageBackend>),
}

fn tools_on(config: &BuiltinToolsConfig, snapshots: Snapshots<'_>) -> Vec<Arc<dyn Tool>> {
    let sandbox = config.sandbox();
    let client = config.safe_client();
    let secrets = config.secret_env();
    let media = media_tools(&sandbox, &config.media);
    let mut tools: Vec<Arc<dyn Tool>> = vec![
        Arc::new(Calculator::new()),
        Arc::new(TextManipulator::new()),
        Arc::new(UuidGenerator::new()),
        Arc::new(HashCalculator::new()),
        Arc::new(Base64Encoder::new()),
        Arc::new(DiffCalculator::new()),
        Arc::new(DateTimeHandler::new()),
        Arc::new(TemplateEngine::new()),
        Arc::new(DataValidation::new()),
        Arc::new(JsonProcessor::new().with_timeout(config.query_timeout)),
        Arc::new(CsvAnalyzer::new()),
        Arc::new(FileOperations::new(sandbox.clone()).with_max_file_bytes(config.max_file_bytes)),
        Arc::new(FileSearch::new(sandbox.clone())),
        Arc::new(
            ArchiveHandler::new(sandbox.clone())
                .with_max_bytes(config.max_archive_bytes)
                .with_max_entries(config.max_archive_entries),
        ),
        Arc::new(FileConverter::new(sandbox.clone()).with_max_file_bytes(config.max_file_bytes)),
        Arc::new(FileWatcher::new(sandbox.clone()).with_max_watch(config.max_watch_duration)),
        Arc::new(EnvironmentReader::new(
            config.allowed_env_vars.iter().cloned(),
        )),
        Arc::new(
            ProcessExecutor::new(config.allowed_commands.iter().cloned(), sandbox.clone())
                .with_allowed_env(
                    config
                        .allowed_env_vars
                        .iter()
                        .filter(|v| !v.ends_with('*'))
                        .cloned(),
                )
                .with_max_timeout(config.process_timeout)
                .with_max_output_bytes(config.max_process_output_bytes),
        ),
        Arc::new(ServiceChecker::with_client(client.clone())),
        Arc::new(SystemMonitor::new()),
        Arc::new(
            HttpRequest::new(client.clone(), sandbox, secrets.clone())
                .with_max_file_bytes(config.max_file_bytes),
        ),
        Arc::new(GraphqlQuery::new(client.clone(), secrets.clone())),
        Arc::new(UrlAnalyzer::new(client.clone())),
        Arc::new(ApiTester::new(client.clone(), secrets.clone())),
        Arc::new(WebhookCaller::new(client, secrets)),
    ];
    tools.extend(media);
    tools.extend(web_reading_tools(config, snapshots));
    tools.extend(comm_and_database_tools(config));
    tools
}

/// `web_search`, `web_scraper`, `webpage_monitor` and `sitemap_crawler`.
fn web_reading_tools(config: &BuiltinToolsConfig, snapshots: Snapshots<'_>) -> [Arc<dyn Tool>; 4] {
    let client = config.safe_client();
    let monitor = WebpageMonitor::new(client.clone());
    let monitor = match snapshots {
        Snapshots::Memory => monitor.with_storage(Arc::new(MemoryBackend::new())),
        Snapshots::Runtime(storage) => monitor.with_runtime_storage(storage),
    };
    [
        Arc::new(WebSearch::new(
            client.clone(),
            config.secret_env(),
            config.web_search.clone(),
        )),
        Arc::new(WebScraper::new(client.clone())),
        Arc::new(monitor),
        Arc::new(SitemapCrawler::new(client)),
    ]
}

/// `email_sender` and `database_connector`, confined by the sandbox, the
/// network policy and the secret variables of `config`.
fn comm_and_database_tools(config: &BuiltinToolsConfig) -> [Arc<dyn Tool>; 2] {
    [
        Arc::new(EmailSender::new(
            config.email.clone(),
            config.net_policy(),
            config.sandbox(),
            config.secret_env(),
        )),
        Arc::new(DatabaseConnector::new(
            config.database.clone(),
            config.net_policy(),
            config.sandbox(),
            config.secret_env(),
        )),
    ]
}

/// The media tools, confined to `sandbox`.
fn media_tools(sandbox: &FsSandbox, media: &MediaConfig) -> [Arc<dyn Tool>; 3] {
    [
        Arc::new(ImageProcessor::with_config(sandbox.clone(), media)),
        Arc::new(AudioProcessor::with_config(sandbox.clone(), media)),
        Arc::new(VideoProcessor::with_config(sandbox.clone(), media)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_core::{SecurityLevel, ToolCategory};

    #[test]
    fn the_catalog_has_thirty_four_uniquely_named_tools() {
        let tools = builtin_tools(&BuiltinToolsConfig::default());
        let names: Vec<&str> = tools.iter().map(|t| t.metadata().name()).collect();
        assert_eq!(
            names,
            [
                "calculator",
                "text_manipulator",
                "uuid_generator",
                "hash_calculator",
                "base64_encoder",
                "diff_calculator",
                "date_time_handler",
                "template_engine",
                "data_validation",
                "json_processor",
                "csv_analyzer",
                "file_operations",
                "file_search",
                "archive_handler",
                "file_converter",
                "file_watcher",
                "environment_reader",
                "process_executor",
                "service_checker",
                "system_monitor",
                "http_request",
                "graphql_query",
                "url_analyzer",
                "api_tester",
                "webhook_caller",
                "image_processor",
                "audio_processor",
                "video_processor",
                "web_search",
                "web_scraper",
                "webpage_monitor",
                "sitemap_crawler",
                "email_sender",
                "database_connector"
            ]
        );
    }

    #[test]
    fn levels_and_categories_follow_the_families() {
        let tools = builtin_tools(&BuiltinToolsConfig::default());
        let level = |name: &str| {
            tools
                .iter()
                .find(|t| t.metadata().name() == name)
                .map(|t| (t.security_level(), t.category()))
        };
        assert_eq!(
            level("calculator"),
            Some((SecurityLevel::Safe, ToolCategory::Utility))
        );
        assert_eq!(
            level("json_processor"),
            Some((SecurityLevel::Safe, ToolCategory::Data))
        );
        assert_eq!(
            level("file_operations"),
            Some((SecurityLevel::Restricted, ToolCategory::Filesystem))
        );
        assert_eq!(
            level("process_executor"),
            Some((SecurityLevel::Privileged, ToolCategory::System))
        );
        assert_eq!(
            level("environment_reader"),
            Some((SecurityLevel::Privileged, ToolCategory::System))
        );
        assert_eq!(
            level("service_checker"),
            Some((SecurityLevel::Restricted, ToolCategory::System))
        );
        assert_eq!(
            level("system_monitor"),
            Some((SecurityLevel::Restricted, ToolCategory::System))
        );
        for web in [
            "http_request",
            "graphql_query",
            "url_analyzer",
            "api_tester",
            "webhook_caller",
            "web_search",
            "web_scraper",
            "webpage_monitor",
            "sitemap_crawler",
        ] {
            assert_eq!(
                level(web),
                Some((SecurityLevel::Restricted, ToolCategory::Web)),
                "{web}"
            );
        }
        assert_eq!(
            level("image_processor"),
            Some((SecurityLevel::Restricted, ToolCategory::Media))
        );
        assert_eq!(
            level("video_processor"),
            Some((SecurityLevel::Restricted, ToolCategory::Media))
        );
        assert_eq!(
            level("email_sender"),
            Some((SecurityLevel::Restricted, ToolCategory::Communication))
        );
        assert_eq!(
            level("database_connector"),
            Some((SecurityLevel::Restricted, ToolCategory::Database))
        );
    }

    #[test]
    fn video_processor_is_privileged_once_it_may_run_ffmpeg() {
        let config = BuiltinToolsConfig {
            media: MediaConfig {
                ffmpeg: Some("ffmpeg".into()),
                ..MediaConfig::default()
            },
            ..BuiltinToolsConfig::default()
        };
        let tools = builtin_tools(&config);
        let video = tools
            .iter()
            .find(|t| t.metadata().name() == "video_processor")
            .map(|t| t.security_level());
        assert_eq!(video, Some(SecurityLevel::Privileged));
    }
}
