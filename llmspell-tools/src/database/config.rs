//! The settings of `database_connector`: whether writes are allowed, its
//! row and time limits, and the PostgreSQL connections it may use.

use std::collections::BTreeMap;
use std::time::Duration;

/// Default [`DatabaseConfig::max_rows`].
pub const DEFAULT_MAX_ROWS: usize = 1000;

/// A PostgreSQL database `database_connector` may query
/// (`[database.connections.NAME]` in `llmspell.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConnection {
    /// `postgres://user@host:port/database`, with optional `sslmode`
    /// (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and
    /// `sslrootcert` query parameters. No password: see
    /// [`password_env`](Self::password_env).
    pub url: String,
    /// The environment variable holding the password; it must be on
    /// `secret_env`.
    pub password_env: Option<String>,
}

/// What `database_connector` may do (`[database]` in `llmspell.toml`).
///
/// SQLite databases are files under the file-system roots (or `:memory:`);
/// PostgreSQL databases are named [`connections`](Self::connections), whose
/// hosts must also pass the network policy (`[sandbox] allowed_hosts`,
/// `allowed_addresses`).
///
/// # Examples
///
/// ```
/// use llmspell_tools::database::{DatabaseConfig, PostgresConnection};
///
/// let mut db = DatabaseConfig { max_rows: 200, ..DatabaseConfig::default() };
/// db.connections.insert(
///     "analytics".into(),
///     PostgresConnection {
///         url: "postgres://reader@db.example.com/analytics?sslmode=verify-full".into(),
///         password_env: Some("ANALYTICS_DB_PASSWORD".into()),
///     },
/// );
/// assert!(!db.allow_writes);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// Allow statements that change data or schema (default `false`: SQLite
    /// files are opened read-only, PostgreSQL statements run in a
    /// read-only transaction).
    pub allow_writes: bool,
    /// Default and most rows returned by one call (default 1000); past it
    /// the result is truncated and says so.
    pub max_rows: usize,
    /// Default and longest time of one statement (default 10 s).
    pub timeout: Duration,
    /// Time to connect to a PostgreSQL server (default 10 s).
    pub connect_timeout: Duration,
    /// The PostgreSQL databases calls may name, by name.
    pub connections: BTreeMap<String, PostgresConnection>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            allow_writes: false,
            max_rows: DEFAULT_MAX_ROWS,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            connections: BTreeMap::new(),
        }
    }
}

impl DatabaseConfig {
    /// Checks every connection's URL as calls read it, so that a mistake
    /// shows at start-up rather than at the first call.
    ///
    /// # Errors
    /// The first connection whose URL is invalid, and why.
    pub fn check(&self) -> Result<(), String> {
        for (name, connection) in &self.connections {
            super::postgres::parse_url(&connection.url)
                .map_err(|e| format!("[database.connections.{name}] url: {e}"))?;
        }
        Ok(())
    }
}
