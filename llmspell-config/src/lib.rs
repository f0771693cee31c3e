//! The `llmspell.toml` configuration file.
//!
//! `llmspell run` reads `llmspell.toml` from the working directory, or the
//! file given with `--config FILE`; command-line flags override it. The
//! file declares the storage, the tools' sandbox, the media tools' limits,
//! `email_sender`'s SMTP server, `database_connector`'s settings, the LLM
//! providers and the hooks to load. Every error names file:line:column, the key, and the
//! valid keys with the closest match.
//!
//! - [`schema`]: the sections ([`FileConfig`] and its parts).
//! - [`Config`]: a loaded, checked file, with its [`HookEntry`]s;
//!   [`Config::discover`], [`Config::load`], [`Config::parse`],
//!   [`Config::to_toml`].
//! - [`ConfigError`] / [`Location`]: what is wrong, and where.
//! - [`providers`]: the provider settings the file declares.
//!
//! ```
//! use llmspell_config::{Config, HookKind};
//! let config = Config::parse(r#"
//! [storage]
//! backend = "memory"
//!
//! [[hooks]]
//! builtin = "caching"
//! ttl_ms = 60000
//! component = "calculator"
//! "#, "llmspell.toml".as_ref())?;
//! assert_eq!(config.hooks[0].kind, HookKind::Builtin("caching".into()));
//!
//! let err = Config::parse("[[hooks]]\nbuiltin = \"caching\"\nttl = 5\n", "llmspell.toml".as_ref())
//!     .unwrap_err();
//! assert!(err.to_string().starts_with("llmspell.toml:3:1: `hooks[1].ttl`"));
//! assert!(err.to_string().contains("did you mean `ttl_ms`"));
//! # Ok::<(), llmspell_config::ConfigError>(())
//! ```

mod error;
mod load;
mod providers;
pub mod schema;

pub use error::{ConfigError, Location};
pub use load::{Config, FILE_NAME, HookEntry, HookKind};
pub use providers::providers;
pub use schema::FileConfig;
