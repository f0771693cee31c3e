//! The effective configuration: `llmspell.toml` (or `--config FILE`) with
//! the command line's flags over it, and the runtime it describes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use llmspell_bridge::{RuntimeConfig, StorageChoice};
use llmspell_config::schema::{Backend, RetentionSection};
use llmspell_config::{Config, FILE_NAME};
use llmspell_core::SecurityLevel;

use crate::cli::{RuntimeArgs, StorageKind};

/// The default data directory.
pub(crate) const DEFAULT_DATA_DIR: &str = ".llmspell";
/// Correlation traces `llmspell run` keeps in memory unless told otherwise.
pub(crate) const DEFAULT_TRACES: usize = llmspell_hooks::trace::DEFAULT_TRACES;

impl RuntimeArgs {
    /// The configuration file these arguments name, or `llmspell.toml` in
    /// the working directory; `None` when there is neither.
    ///
    /// # Errors
    /// A file given with `--config` that cannot be read or is invalid, or
    /// an invalid `llmspell.toml` (located at file:line:column).
    pub(crate) fn file(&self) -> anyhow::Result<Option<Config>> {
        let path = match &self.config {
            Some(p) => Some(p.clone()),
            None => Config::discover(Path::new(".")),
        };
        match path {
            None => Ok(None),
            Some(p) => Config::load(&p)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{e}")),
        }
    }

    /// The file's configuration with these flags over it.
    ///
    /// # Errors
    /// As [`file`](Self::file).
    pub(crate) fn effective(&self) -> anyhow::Result<Config> {
        let mut c = self.file()?.unwrap_or_default();
        let f = &mut c.file;
        let r = &mut f.runtime;
        if self.allow_unsafe {
            r.allow_unsafe = Some(true);
        }
        if self.allow_privileged {
            r.allow_privileged = Some(true);
        }
        if self.record_hooks {
            r.record_hooks = Some(true);
        }
        set(&mut r.session, self.session.clone());
        set(&mut r.state_version, self.state_version);
        set(&mut r.slow_operation_ms, self.slow_operation_ms);
        set(&mut r.rss_high_water_mb, self.rss_high_water_mb);
        set(&mut r.handoff_spin_us, self.handoff_spin);
        set(&mut r.traces, self.traces);
        let s = &mut f.storage;
        set(&mut s.data_dir, self.data_dir.clone());
        set(
            &mut s.backend,
            self.storage.map(|k| match k {
                StorageKind::Sled => Backend::Sled,
                StorageKind::Memory => Backend::Memory,
            }),
        );
        if self.no_persist {
            s.persist = Some(Vec::new());
        } else if !self.persist.is_empty() {
            s.persist = Some(self.persist.clone());
        }
        let sb = &mut f.sandbox;
        list(&mut sb.fs_roots, &self.fs_roots);
        list(&mut sb.commands, &self.allow_commands);
        list(&mut sb.env, &self.allow_env);
        list(&mut sb.allowed_hosts, &self.allow_hosts);
        list(&mut sb.allowed_addresses, &self.allow_addresses);
        self.nats.apply(&mut f.nats)?;
        Ok(c)
    }

    /// The runtime the effective configuration describes.
    ///
    /// # Errors
    /// As [`effective`](Self::effective), and an unknown provider kind.
    pub(crate) fn config(&self) -> anyhow::Result<RuntimeConfig> {
        runtime_config(&self.effective()?)
    }
}

fn set<T>(slot: &mut Option<T>, flag: Option<T>) {
    if flag.is_some() {
        *slot = flag;
    }
}

fn list<T: Clone>(slot: &mut Option<Vec<T>>, flag: &[T]) {
    if !flag.is_empty() {
        *slot = Some(flag.to_vec());
    }
}

/// The runtime settings of `c` (defaults for what it leaves out).
///
/// # Errors
/// An unknown provider kind.
pub(crate) fn runtime_config(c: &Config) -> anyhow::Result<RuntimeConfig> {
    let defaults = RuntimeConfig::default();
    let f = &c.file;
    let mut tools = defaults.tools.clone();
    let sb = &f.sandbox;
    tools.fs_roots = sb.fs_roots.clone().unwrap_or_default();
    tools.allowed_commands = sb.commands.clone().unwrap_or_default();
    tools.allowed_env_vars = sb.env.clone().unwrap_or_default();
    tools.allowed_hosts = sb.allowed_hosts.clone().unwrap_or_default();
    // The network tools' settings: an invalid address allowance or a zero
    // limit stops the run here rather than refusing every call later.
    tools.allowed_addresses = sb.allowed_addresses.clone().unwrap_or_default();
    tools.secret_env_vars = sb.secret_env.clone().unwrap_or_default();
    for (key, value) in [
        ("net_timeout_ms", sb.net_timeout_ms),
        ("net_connect_timeout_ms", sb.net_connect_timeout_ms),
        ("net_max_response_bytes", sb.net_max_response_bytes),
    ] {
        if value == Some(0) {
            anyhow::bail!("[sandbox] {key} must be at least 1");
        }
    }
    let limits = &mut tools.net_limits;
    if let Some(ms) = sb.net_timeout_ms {
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = sb.net_connect_timeout_ms {
        limits.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = sb.net_max_response_bytes {
        limits.max_response_bytes = n;
    }
    if let Some(n) = sb.net_max_redirects {
        limits.max_redirects = n;
    }
    if let Some(e) = tools.net_policy().config_error() {
        anyhow::bail!("[sandbox] {e}");
    }
    // `[media]` over the media tools' defaults.
    let (m, t) = (&f.media, &mut tools.media);
    set(&mut t.ffmpeg, m.ffmpeg.clone());
    t.max_file_bytes = m.max_file_bytes.unwrap_or(t.max_file_bytes);
    t.max_image_pixels = m.max_image_pixels.unwrap_or(t.max_image_pixels);
    t.max_audio_duration = m
        .max_audio_seconds
        .map_or(t.max_audio_duration, Duration::from_secs);
    t.max_video_duration = m
        .max_video_seconds
        .map_or(t.max_video_duration, Duration::from_secs);
    t.ffmpeg_timeout = m
        .ffmpeg_timeout_ms
        .map_or(t.ffmpeg_timeout, Duration::from_millis);
    // `[web_search]`, `[email]` and `[database]` over their tools' defaults.
    tools.web_search = crate::tool_settings::web_search(&f.web_search)?;
    crate::tool_settings::apply(&f.email, &f.database, &mut tools)?;
    let data_dir = f
        .storage
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let r = &f.runtime;
    Ok(RuntimeConfig {
        storage: match f.storage.backend.unwrap_or(Backend::Sled) {
            Backend::Sled => StorageChoice::Sled(data_dir.join("db")),
            Backend::Memory => StorageChoice::Memory,
        },
        persist: f
            .storage
            .persist
            .clone()
            .unwrap_or_else(|| vec!["**".to_owned()]),
        retention: f.storage.retention.as_ref().map(retention),
        providers: llmspell_config::providers(f).map_err(|e| anyhow::anyhow!("{e}"))?,
        hooks: c.hooks.clone(),
        hook_budgets: c.hook_budgets().map_err(|e| anyhow::anyhow!("{e}"))?,
        allow_unsafe: r.allow_unsafe.unwrap_or(false),
        allowed_level: if r.allow_privileged.unwrap_or(false) {
            SecurityLevel::Privileged
        } else {
            defaults.allowed_level
        },
        tools,
        session: r.session.clone(),
        state_version: r.state_version.unwrap_or(1),
        record_hooks: r.record_hooks.unwrap_or(false),
        traces: r.traces.unwrap_or(DEFAULT_TRACES),
        operation_budget: r.slow_operation_ms.map(Duration::from_millis),
        rss_high_water: r.rss_high_water_mb.map(|mb| mb.saturating_mul(1 << 20)),
        handoff_spin: Duration::from_micros(r.handoff_spin_us.unwrap_or(0)),
        callback_timeout: r
            .callback_timeout_ms
            .map_or(defaults.callback_timeout, Duration::from_millis),
        ..defaults
    })
}

fn retention(r: &RetentionSection) -> llmspell_events::Retention {
    let mut out = llmspell_events::Retention::default();
    if let Some(n) = r.max_events {
        out = out.max_events(n);
    }
    if let Some(s) = r.max_age_secs {
        out = out.max_age(Duration::from_secs(s));
    }
    out
}

/// The data directory of the commands that read a store (`events`, `audit
/// verify`): the flag's, else `[storage] data_dir` of `llmspell.toml` in
/// the working directory, else the default.
///
/// # Errors
/// An invalid `llmspell.toml`.
pub(crate) fn data_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let from_file = match Config::discover(Path::new(".")) {
        Some(p) => {
            Config::load(&p)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .file
                .storage
                .data_dir
        }
        None => None,
    };
    Ok(from_file.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
}

/// `llmspell config show`: the effective configuration as TOML, and where
/// it came from.
pub(crate) fn show(args: &RuntimeArgs) -> anyhow::Result<ExitCode> {
    let c = args.effective()?;
    // Checks it the way `run` would, without starting anything.
    let _checked = runtime_config(&c)?;
    let _nats = crate::nats::nats_config(c.file.nats.as_ref())?;
    match &c.path {
        Some(p) => out!("# from {} and the command line", p.display()),
        None => out!("# no {FILE_NAME}: defaults and the command line"),
    }
    out!("{}", c.to_toml().context("cannot print the configuration")?);
    Ok(ExitCode::SUCCESS)
}
