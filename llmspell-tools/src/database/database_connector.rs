//! `database_connector`: one parameterised SQL statement on SQLite or a
//! configured PostgreSQL database, with results as JSON rows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llmspell_core::suggest::did_you_mean;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::binding;
use super::config::DatabaseConfig;
use super::postgres::{PgServer, parse_url};
use super::sqlite::{self, Request, SqliteTarget};
use crate::net::{NetPolicy, SecretEnv};
use crate::params::ParamsSpec;
use crate::sandbox::FsSandbox;
use crate::schema;

/// The name of SQLite's in-memory database.
const MEMORY: &str = ":memory:";

/// Runs one SQL statement with bound parameters and returns its rows as
/// JSON, with column names and types.
///
/// - SQLite (the default): a database file under the [`FsSandbox`] roots,
///   or `:memory:`. `ATTACH`, `DETACH`, `VACUUM` and `PRAGMA` are refused
///   (they reach files outside the roots or change the connection), and so
///   is more than one statement per call.
/// - PostgreSQL: a connection named in [`DatabaseConfig::connections`]; the
///   host passes the network policy ([`NetPolicy::resolve`]) and only the
///   addresses it returns are connected to; the password comes from an
///   environment variable on `secret_env`.
///
/// The SQL text is never assembled from values: `params` are bound to the
/// statement's placeholders (`?`, `?1` or `$1` on SQLite; `$1` on
/// PostgreSQL). Unless [`DatabaseConfig::allow_writes`], SQLite files are
/// opened read-only with `PRAGMA query_only`, and PostgreSQL sessions run
/// with `default_transaction_read_only`; a refused write is an
/// [`Error::SecurityViolation`]. Every call has a row limit (rows past it
/// are not fetched, and `truncated` says so) and a time limit (SQLite's
/// statement is interrupted; PostgreSQL's `statement_timeout`).
#[derive(Debug, Clone)]
pub struct DatabaseConnector {
    metadata: ComponentMetadata,
    config: Arc<DatabaseConfig>,
    policy: NetPolicy,
    sandbox: FsSandbox,
    secrets: SecretEnv,
}

impl DatabaseConnector {
    /// Creates the tool: SQLite files under `sandbox`, PostgreSQL hosts
    /// where `policy` allows, passwords from `secrets`.
    pub fn new(
        config: DatabaseConfig,
        policy: NetPolicy,
        sandbox: FsSandbox,
        secrets: SecretEnv,
    ) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "database_connector",
                "Runs a parameterised SQL statement on SQLite or a configured PostgreSQL database",
            ),
            config: Arc::new(config),
            policy,
            sandbox,
            secrets,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }
}

/// Parameters of `database_connector`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// One SQL statement, with placeholders for values: `?`, `?1` or `$1`
    /// on SQLite, `$1` on PostgreSQL.
    sql: String,
    /// The values bound to the placeholders, in order: strings (text),
    /// numbers, booleans, null, or arrays and objects (JSON; `jsonb` on
    /// PostgreSQL).
    #[serde(default)]
    params: Vec<Value>,
    /// The SQLite database: a file under the file-system roots, or
    /// `:memory:` (the default).
    database: Option<String>,
    /// A PostgreSQL connection configured under `[database.connections]`;
    /// instead of `database`.
    connection: Option<String>,
    /// Most rows returned (default and maximum: `[database] max_rows`).
    #[schemars(range(min = 1))]
    max_rows: Option<usize>,
    /// Time limit of the statement in milliseconds (default and maximum:
    /// `[database] timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

/// How `database_connector` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn millis(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0
}

impl DatabaseConnector {
    fn max_rows(&self, asked: Option<usize>) -> Result<usize> {
        let max = self.config.max_rows;
        match asked {
            None => Ok(max),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(Error::invalid_input(
                "max_rows",
                format!("expected 1 to {max} (`[database] max_rows`), got {n}"),
            )),
        }
    }

    fn timeout(&self, asked: Option<u64>) -> Result<Duration> {
        let max = self.config.timeout;
        match asked {
            None => Ok(max),
            Some(ms) if ms >= 1 && u128::from(ms) <= max.as_millis() => {
                Ok(Duration::from_millis(ms))
            }
            Some(ms) => Err(Error::invalid_input(
                "timeout_ms",
                format!(
                    "expected 1 to {} (`[database] timeout_ms`), got {ms}",
                    max.as_millis()
                ),
            )),
        }
    }

    fn sqlite_target(&self, database: &str) -> Result<SqliteTarget> {
        if database == MEMORY {
            return Ok(SqliteTarget::Memory);
        }
        let path = self.sandbox.resolve(database)?;
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(SqliteTarget::File(path)),
            Ok(_) => Err(Error::invalid_input(
                "database",
                format!("`{database}` is not a file"),
            )),
            Err(_) if self.config.allow_writes => Ok(SqliteTarget::File(path)),
            Err(_) => Err(Error::invalid_input(
                "database",
                format!(
                    "no database file at `{database}` (a new one is created only when `[database] \
                     allow_writes` is true)"
                ),
            )),
        }
    }

    fn postgres(&self, name: &str) -> Result<PgServer> {
        let Some(connection) = self.config.connections.get(name) else {
            let names: Vec<&str> = self.config.connections.keys().map(String::as_str).collect();
            return Err(Error::invalid_input(
                "connection",
                if names.is_empty() {
                    format!(
                        "unknown connection `{name}`: none is configured (add \
                         `[database.connections.{name}]` with a `url`)"
                    )
                } else {
                    format!(
                        "unknown connection `{name}`{}; configured: {}",
                        did_you_mean(name, names.iter().copied()),
                        names.join(", ")
                    )
                },
            ));
        };
        let target = parse_url(&connection.url).map_err(|e| {
            Error::invalid_input(
                "connection",
                format!("`[database.connections.{name}] url`: {e}"),
            )
        })?;
        let password = connection
            .password_env
            .as_deref()
            .map(|var| self.secrets.read(var, "password_env"))
            .transpose()?;
        Ok(PgServer {
            name: name.to_owned(),
            target,
            password,
            policy: self.policy.clone(),
            connect_timeout: self.config.connect_timeout,
        })
    }
}

#[async_trait]
impl Tool for DatabaseConnector {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Database
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        let mut schema = PARAMS.schema();
        let max_ms = u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX);
        schema::refine(&mut schema, "timeout_ms", "maximum", json!(max_ms));
        schema::refine(
            &mut schema,
            "max_rows",
            "maximum",
            json!(self.config.max_rows),
        );
        schema
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({
                "database": "data/shop.db",
                "sql": "SELECT id, name, price FROM products WHERE price < ? ORDER BY price",
                "params": [20]
            }),
            json!({
                "connection": "analytics",
                "sql": "SELECT day, visits FROM traffic WHERE site = $1 AND day >= $2::date",
                "params": ["example.com", "2024-07-01"],
                "max_rows": 100
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "engine": { "type": "string", "enum": ["sqlite", "postgres"] },
                "columns": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" },
                            "type": { "type": "string", "description": "The SQL type, lower case" }
                        },
                        "required": ["name", "type"]
                    }
                },
                "rows": {
                    "type": "array",
                    "items": { "type": "object" },
                    "description": "One object per row, keyed by column name"
                },
                "row_count": { "type": "integer" },
                "truncated": { "type": "boolean", "description": "More rows were available than max_rows" },
                "rows_affected": { "type": ["integer", "null"], "description": "Rows changed by the statement (null when the result was truncated)" },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["engine", "columns", "rows", "row_count", "truncated", "rows_affected", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        if p.sql.trim().is_empty() {
            return Err(Error::invalid_input("sql", "expected an SQL statement"));
        }
        let request = Request {
            max_rows: self.max_rows(p.max_rows)?,
            timeout: self.timeout(p.timeout_ms)?,
            params: binding::read(p.params)?,
            sql: p.sql,
            allow_writes: self.config.allow_writes,
        };
        let started = Instant::now();
        let (engine, outcome) = match (p.connection, p.database) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_input(
                    "connection",
                    "give `database` (SQLite) or `connection` (PostgreSQL), not both",
                ));
            }
            (Some(name), None) => ("postgres", self.postgres(&name)?.run(request).await?),
            (None, database) => {
                let target = self.sqlite_target(database.as_deref().unwrap_or(MEMORY))?;
                ("sqlite", sqlite::run(&target, request).await?)
            }
        };
        Ok(outcome.into_json(engine, millis(started)))
    }
}
